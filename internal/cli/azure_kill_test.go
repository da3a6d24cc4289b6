//go:build linux || darwin || freebsd || dragonfly || netbsd || openbsd || illumos

package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// armsimEnv makes a child process (see TestMain) reach Azure at the
// simulation a test serves over HTTP at that URL.
const armsimEnv = "K0RDENTCTL_CLI_TEST_ARMSIM"

// mainOnSim is Main with Azure being the simulation at url.
func mainOnSim(url string) int {
	opts, err := armsim.RemoteClientOptions(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return ExitUsage
	}
	hooks := Hooks{Azure: func(*config.Config) (*AzureAccess, error) {
		return &AzureAccess{Session: &azure.Session{Subscription: armsim.DefaultSubscriptionID, Credential: armsim.Credential(), Options: opts}}, nil
	}}
	return ExecuteWith(context.Background(), os.Args[1:], IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, BuildInfo{Version: "test-child"}, hooks)
}

// killer serves the simulation and kills the child process when it makes
// its at-th call: before the simulation sees the call (nothing done) or
// after (done in Azure, the answer never heard).
type killer struct {
	h      http.Handler
	mu     sync.Mutex
	n, at  int
	before bool
	cmd    *exec.Cmd
	exited chan struct{}
	killed bool
}

func (k *killer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.n++
	hit := k.at > 0 && k.n == k.at
	k.mu.Unlock()
	if !hit {
		k.h.ServeHTTP(w, r)
		return
	}
	if !k.before {
		k.h.ServeHTTP(httptest.NewRecorder(), r)
	}
	k.mu.Lock()
	k.killed = true
	k.mu.Unlock()
	_ = k.cmd.Process.Kill()
	<-k.exited
}

// deployOnSim runs deploy as a child process against the simulation
// served by k, with the k0sctl stand-in as the only program on its PATH,
// and returns its exit code and output.
func deployOnSim(t *testing.T, k *killer, url string, flags []string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"deploy"}, flags...)...)
	k0sctl, err := standin.K0sctlOnPath(t.TempDir(), standin.K0sctlWorld{})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(append(os.Environ(), childEnv+"=1", armsimEnv+"="+url), k0sctl...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	exited := make(chan struct{})
	k.mu.Lock()
	k.cmd, k.exited = cmd, exited
	k.mu.Unlock()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	close(exited)
	return cmd.ProcessState.ExitCode(), out.String()
}

// deploy of the management cluster on Azure, killed (SIGKILL, as a crash
// or a lost machine does) at each of its Azure calls in turn, every other
// time after Azure carried the call out but before the answer arrived; then
// deploy again, in a new process: it goes on to the VPN, and Azure holds
// exactly one of everything, all tagged with the one deployment's id, and
// nothing else (no duplicate, no orphan). The points are the calls of a
// whole run (28 for the minimal template, at least 20 asserted).
func TestDeployAzureKilledAtEveryCallThenResumed(t *testing.T) {
	// A run that is not killed: how many calls, and what Azure then holds.
	sim := armsim.New(armsim.Options{})
	k := &killer{h: sim.Handler()}
	srv := httptest.NewServer(k)
	defer srv.Close()
	_, flags := workdir(t, "minimal")
	if code, out := deployOnSim(t, k, srv.URL, flags); code != ExitFailed || !strings.Contains(out, "wg-quick up") {
		t.Fatalf("deploy: exit %d, want 1 at the VPN\n%s", code, out)
	}
	calls := k.n
	if calls < 20 {
		t.Fatalf("a deploy makes %d Azure calls: fewer than the 20 kill points this test needs", calls)
	}
	want := typeCounts(sim.Resources())

	for at := 1; at <= calls; at++ {
		t.Run(fmt.Sprintf("call%02d", at), func(t *testing.T) {
			t.Parallel()
			sim := armsim.New(armsim.Options{})
			k := &killer{h: sim.Handler(), at: at, before: at%2 == 1}
			srv := httptest.NewServer(k)
			defer srv.Close()
			dir, flags := workdir(t, "minimal")
			code, out := deployOnSim(t, k, srv.URL, flags)
			if !k.killed {
				t.Fatalf("deploy was not killed at call %d (exit %d)\n%s", at, code, out)
			}
			k.mu.Lock()
			k.at = 0
			k.mu.Unlock()
			if code, out := deployOnSim(t, k, srv.URL, flags); code != ExitFailed || !strings.Contains(out, "wg-quick up") {
				t.Fatalf("deploy after the kill: exit %d, want 1 at the VPN\n%s", code, out)
			}
			recs, _ := filepath.Glob(filepath.Join(dir, "state", "k0rdent-*.yaml"))
			if len(recs) != 1 {
				t.Fatalf("records after the kill and the resumed run: %v", recs)
			}
			rec := readRecord(t, dir)
			for _, p := range []string{"azure-preflight", "azure-prepare", "azure-network", "azure-vms", "vpn-config"} {
				if ph := rec.Phase(p); ph == nil || ph.Status != state.PhaseCompleted {
					t.Errorf("phase %s: %+v", p, ph)
				}
			}
			got := sim.Resources()
			if c := typeCounts(got); fmt.Sprint(c) != fmt.Sprint(want) {
				t.Errorf("Azure holds %v, want %v", c, want)
			}
			for _, r := range got {
				if r.Tags[azure.TagDeployment] != "" && r.Tags[azure.TagDeployment] != rec.DeploymentID {
					t.Errorf("%s carries deployment %s, not %s", r.ID, r.Tags[azure.TagDeployment], rec.DeploymentID)
				}
				if untagged(r.Type) == (r.Tags[azure.TagDeployment] != "") {
					t.Errorf("%s %s: tags %v", r.Type, r.Name, r.Tags)
				}
			}
		})
	}
}

// untagged are the kinds Azure gives no tags (subnets, security rules)
// or does not copy the VM's to (OS disks).
func untagged(typ string) bool {
	return typ == "Microsoft.Compute/disks" || strings.Contains(typ, "/subnets") || strings.Contains(typ, "/securityRules")
}

func typeCounts(rs []armsim.Resource) map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		out[r.Type]++
	}
	return out
}
