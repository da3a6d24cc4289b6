package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// readmeUsingIt returns the command lines of each sh block of the
// README's "## Using it" section, comments removed.
func readmeUsingIt(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## Using it\n")
	if !ok {
		t.Fatal(`README.md has no "## Using it" section`)
	}
	after, _, _ = strings.Cut(after, "\n## ")
	var blocks [][]string
	for {
		var block string
		if _, after, ok = strings.Cut(after, "```sh\n"); !ok {
			break
		}
		block, after, _ = strings.Cut(after, "```")
		var lines []string
		for _, l := range strings.Split(block, "\n") {
			l, _, _ = strings.Cut(l, "#")
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		blocks = append(blocks, lines)
	}
	if len(blocks) != 2 {
		t.Fatalf(`README.md "Using it" has %d sh blocks, want 2 (mode azure, then an existing cluster)`, len(blocks))
	}
	return blocks
}

// README's "Using it" for mode azure, followed word for word in an empty
// folder with the simulation of Azure as the signed-in subscription and
// the k0sctl stand-in as k0sctl: init writes a file that validates online,
// plan shows a deployment that deploy would not refuse, and deploy goes as
// far as the VPN, which it cannot bring up without root and wg-quick, and
// says so with the command, as the README says. (The rest of the way runs
// in test/integration's TestDeployAzureFromEmptySubscriptionToK0rdent.)
func TestReadmeUsingItAzure(t *testing.T) {
	lines := readmeUsingIt(t)[0]
	dir := t.TempDir()
	t.Chdir(dir)
	standin.UseK0sctl(t, standin.K0sctlWorld{})
	sim := armsim.New(armsim.Options{})
	ran := 0
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case line == "az login":
			continue // the simulation is the signed-in subscription
		case f[0] != "k0rdentctl":
			t.Fatalf("README step %q comes before deploy's first stop and is not k0rdentctl; teach the test about it", line)
		case f[1] == "deploy":
			if ran < 3 {
				t.Fatalf("README runs deploy after only %d k0rdentctl steps", ran)
			}
			r := runOnSim(t, sim, f[1:]...)
			if r.code != ExitFailed || !strings.Contains(r.out+r.err, "sudo wg-quick up state/secrets/wgk0") {
				t.Fatalf("README step %q: exit %d, want 1 stopping at the VPN with the command\n%s%s", line, r.code, r.out, r.err)
			}
			return
		}
		r := runOnSim(t, sim, f[1:]...)
		if r.code != ExitOK {
			t.Fatalf("README step %q: exit %d\n%s%s", line, r.code, r.out, r.err)
		}
		if f[1] == "plan" && strings.Contains(r.out, "Deploy will refuse") {
			t.Fatalf("README step %q plans a deployment that deploy refuses:\n%s", line, r.out)
		}
		ran++
	}
	t.Fatal("README's Using it never reaches deploy")
}

// README's "Using it" on an existing cluster, followed word for word in an
// empty folder, works up to the first command that needs the cluster: init
// writes a file that validates, and plan shows a deployment that deploy
// would not refuse. (The deploy, status and events steps run against a real
// API server in test/integration's TestDeployCommandOnExistingCluster.)
func TestReadmeUsingItWorks(t *testing.T) {
	lines := readmeUsingIt(t)[1]
	dir := t.TempDir()
	t.Chdir(dir)
	ran := 0
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case f[0] == "cp" && len(f) == 3:
			// The operator's own kubeconfig: any readable kubeconfig file.
			if err := os.WriteFile(f[2], []byte(testKubeconfig), 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		case f[0] != "k0rdentctl":
			t.Fatalf("README step %q is neither k0rdentctl nor cp; teach the test about it", line)
		case f[1] == "deploy":
			if ran < 3 {
				t.Fatalf("README runs deploy after only %d k0rdentctl steps", ran)
			}
			return
		}
		r := run(t, f[1:]...)
		if r.code != ExitOK {
			t.Fatalf("README step %q: exit %d\n%s%s", line, r.code, r.out, r.err)
		}
		if f[1] == "plan" && strings.Contains(r.out, "Deploy will refuse") {
			t.Fatalf("README step %q plans a deployment that deploy refuses:\n%s", line, r.out)
		}
		ran++
	}
	t.Fatal("README's Using it never reaches deploy")
}

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
contexts:
- name: c
  context:
    cluster: c
    user: u
current-context: c
users:
- name: u
  user:
    token: not-a-real-token
`
