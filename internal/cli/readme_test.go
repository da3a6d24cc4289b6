package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeUsingIt returns the command lines of the first sh block after
// "## Using it" in the README, comments removed.
func readmeUsingIt(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## Using it\n")
	if !ok {
		t.Fatal(`README.md has no "## Using it" section`)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal(`README.md "Using it" has no sh block`)
	}
	block, _, _ = strings.Cut(block, "```")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		l, _, _ = strings.Cut(l, "#")
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// README's "Using it", followed word for word in an empty folder, works up to
// the first command that needs the cluster: init writes a file that
// validates, and plan shows a deployment that deploy would not refuse. (The
// deploy, status and events steps run against a real API server in
// test/integration's TestDeployCommandOnExistingCluster.)
func TestReadmeUsingItWorks(t *testing.T) {
	lines := readmeUsingIt(t)
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
