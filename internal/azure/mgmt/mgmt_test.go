package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/sshvm"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

type world struct {
	sim   *armsim.Sim
	env   *Env
	sess  *state.Session
	store *state.FileStore
	// puts counts mutating ARM requests; at cancelAt the run's context is
	// cancelled (0: never).
	puts     atomic.Int64
	cancelAt int64
	cancel   context.CancelFunc
}

// counting passes requests to the simulation, counting the ones that
// change something, and cancels the run at the chosen one.
type counting struct{ w *world }

func (c counting) Do(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		if n := c.w.puts.Add(1); c.w.cancelAt > 0 && n == c.w.cancelAt && c.w.cancel != nil {
			c.w.cancel()
		}
	}
	return c.w.sim.Do(req)
}

func newWorld(t *testing.T, template string) *world {
	t.Helper()
	return newWorldWith(t, template, armsim.Options{})
}

// newWorldWith is newWorld on a simulation with the given options.
func newWorldWith(t testing.TB, template string, o armsim.Options) *world {
	t.Helper()
	cfg, diags, err := config.ParseTemplate(template)
	if err != nil || diags.HasErrors() {
		t.Fatalf("%s: %v %v", template, err, diags)
	}
	standin.UseK0sctl(t, standin.K0sctlWorld{}) // preflight wants some k0sctl
	w := &world{sim: armsim.New(o)}
	dir := t.TempDir()
	if w.store, err = state.NewFileStore(dir); err != nil {
		t.Fatal(err)
	}
	if w.sess, err = state.OpenOrCreate(context.Background(), w.store, "", cfg.Metadata.Name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.sess.Close() })
	opts := &arm.ClientOptions{ClientOptions: w.sim.ClientOptions().ClientOptions}
	opts.Transport = counting{w}
	opts.Retry = policy.RetryOptions{RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	w.env = &Env{Config: cfg, BaseDir: dir, Session: w.sess, SecretsDir: w.store.SecretsDir(), PollFrequency: time.Millisecond,
		Azure: &azure.Session{Subscription: w.sim.SubscriptionID(), Credential: armsim.Credential(), Options: opts}}
	return w
}

func (w *world) run(t testing.TB) (*phase.Result, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.cancel = cancel
	eng := &phase.Engine{Journal: w.sess, StopTimeout: -1}
	return eng.Run(ctx, Phases(w.env))
}

// ids are the resource ids, the deployment id (random per world) replaced.
func (w *world) ids() []string {
	var out []string
	for _, r := range w.sim.Resources() {
		out = append(out, strings.ReplaceAll(strings.ToLower(r.ID), w.sess.ID(), "<id>"))
	}
	sort.Strings(out)
	return out
}

// The production template end to end on the simulation: the subscription
// checked, keys made, network and six VMs created, each VM recorded with
// its addresses, and this machine's WireGuard configuration written 0600
// with a peer per VM at its public address. A second run creates nothing:
// every phase is verified.
func TestAzurePhasesProductionThenNothingNew(t *testing.T) {
	w := newWorld(t, "production")
	if _, err := w.run(t); err != nil {
		t.Fatal(err)
	}
	rec := w.sess.Snapshot()
	a := rec.Management.Azure
	if a == nil || len(a.VMs) != 6 || a.ResourceGroup == "" || a.WireGuardConfig == "" || a.SSHKeyPath == "" {
		t.Fatalf("recorded %+v", a)
	}
	zones := map[string]int{}
	for _, vm := range a.VMs {
		if vm.PublicIP == "" || vm.PrivateIP == "" || !strings.HasPrefix(vm.WireGuardIP, "192.168.") {
			t.Errorf("VM %+v lacks an address", vm)
		}
		zones[vm.Zone]++
	}
	if zones["1"] != 2 || zones["2"] != 2 || zones["3"] != 2 {
		t.Errorf("zones %v, want two VMs in each of 1-3", zones)
	}
	fi, err := os.Stat(a.WireGuardConfig)
	if err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(a.WireGuardConfig) != w.store.SecretsDir() {
		t.Fatalf("WireGuard configuration %s: %v %v", a.WireGuardConfig, fi, err)
	}
	conf, _ := os.ReadFile(a.WireGuardConfig)
	for _, vm := range a.VMs {
		if !strings.Contains(string(conf), "Endpoint = "+vm.PublicIP+":51820") {
			t.Errorf("no peer for %s at %s", vm.Name, vm.PublicIP)
		}
	}
	before := w.ids()
	puts := w.puts.Load()
	res, err := w.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.puts.Load() - puts; n != 0 {
		t.Errorf("the second run sent %d changing requests to Azure", n)
	}
	for _, o := range res.Outcomes {
		if o.Name != PhasePreflight && o.Reason != phase.ReasonVerified {
			t.Errorf("second run: %s %s (%s), want verified", o.Name, o.Status, o.Reason)
		}
	}
	if after := w.ids(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Error("the second run changed the resources")
	}
}

// Interrupted at each of 20 points of a deploy (the run's context
// cancelled right after the Nth changing request), the next run completes
// and leaves exactly the resources of an uninterrupted run: nothing twice,
// nothing orphaned.
func TestAzurePhasesResumeAfterAnInterruptionAtAnyPoint(t *testing.T) {
	clean := newWorld(t, "small")
	if _, err := clean.run(t); err != nil {
		t.Fatal(err)
	}
	want := clean.ids()
	total := clean.puts.Load()
	points := 20
	if total < int64(points) {
		points = int(total)
	}
	for k := 1; k <= points; k++ {
		w := newWorld(t, "small")
		w.cancelAt = int64(k) * total / int64(points+1)
		if w.cancelAt == 0 {
			w.cancelAt = 1
		}
		res, err := w.run(t)
		if err == nil && res != nil && !res.Interrupted {
			t.Fatalf("point %d (request %d): the run was not interrupted", k, w.cancelAt)
		}
		w.cancelAt = 0
		if _, err := w.run(t); err != nil {
			t.Fatalf("point %d (request %d): the resumed run failed: %v", k, w.cancelAt, err)
		}
		if got := w.ids(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("point %d: resources after resuming differ from an uninterrupted run:\n got %v\nwant %v", k, got, want)
		}
		if a := w.sess.Snapshot().Management.Azure; a == nil || len(a.VMs) != len(clean.sess.Snapshot().Management.Azure.VMs) {
			t.Fatalf("point %d: recorded %+v", k, a)
		}
	}
}

// A subscription that cannot hold the VMs is refused before anything is
// created.
func TestAzurePhasesPreflightRefusalCreatesNothing(t *testing.T) {
	w := newWorld(t, "production")
	w.sim.SetQuota(w.env.Config.Azure.Location, "standardDSv5Family", 4)
	res, err := w.run(t)
	if err == nil {
		t.Fatal("a subscription without the quota was not refused")
	}
	if w.puts.Load() != 0 || len(w.sim.Resources()) != 0 {
		t.Errorf("%d changing requests, %d resources after a refusal", w.puts.Load(), len(w.sim.Resources()))
	}
	if res.Outcomes[0].Name != PhasePreflight || res.Outcomes[0].Status != state.PhaseFailed {
		t.Errorf("first outcome %+v", res.Outcomes[0])
	}
}

// After the Azure phases, vpn-up finds every VM's SSH server over its
// (mapped) WireGuard address, vm-ready checks each over a real SSH
// connection with the host key the VM was given, and k0s-install runs
// k0sctl apply and, when it fails, stops naming the command to run again
// (the k0sctl stand-in fails: it has no world to act on). A VM whose
// cloud-init failed stops vm-ready at once, naming it.
func TestClusterPhasesOverSSH(t *testing.T) {
	for _, broken := range []bool{false, true} {
		w := newWorld(t, "small")
		if _, err := w.run(t); err != nil {
			t.Fatal(err)
		}
		m, err := w.env.material()
		if err != nil {
			t.Fatal(err)
		}
		addrs := map[string]string{}
		vms := map[string]*sshvm.VM{}
		for i, n := range m.Nodes {
			st := sshvm.State{CloudInit: "done", WireGuardActive: true, WireGuardKey: n.WireGuard.Public}
			if broken && i == 1 {
				st.CloudInit = "error"
			}
			vm, err := sshvm.Start(sshvm.Options{HostKey: n.HostKey.Signer, User: m.User, Authorized: m.SSH.Signer.PublicKey(), State: st})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(vm.Close)
			addrs[n.Address.String()], vms[n.Name] = vm.Addr(), vm
		}
		w.env.SSHAddress = func(wg string) string { return addrs[wg] }
		t.Setenv(standin.K0sctlEnv, filepath.Join(t.TempDir(), "absent.json"))
		eng := &phase.Engine{Journal: w.sess, StopTimeout: -1}
		kubeconfig := filepath.Join(t.TempDir(), "mgmt.kubeconfig")
		res, err := eng.Run(context.Background(), append(Phases(w.env), ClusterPhases(w.env, kubeconfig)...))
		if err == nil {
			t.Fatal("the run went past a failing k0sctl")
		}
		got := map[string]phase.Outcome{}
		for _, o := range res.Outcomes {
			got[o.Name] = o
		}
		if got[PhaseVPNUp].Status != state.PhaseCompleted {
			t.Errorf("vpn-up: %+v", got[PhaseVPNUp])
		}
		if broken {
			if got[PhaseVMReady].Status != state.PhaseFailed || !strings.Contains(fmt.Sprint(got[PhaseVMReady].Err), "k0s-worker-1: cloud-init failed") {
				t.Errorf("vm-ready with a failed cloud-init: %+v", got[PhaseVMReady])
			}
			continue
		}
		if got[PhaseVMReady].Status != state.PhaseCompleted {
			t.Errorf("vm-ready: %+v", got[PhaseVMReady])
		}
		for name, vm := range vms {
			if c := strings.Join(vm.Commands(), "\n"); !strings.Contains(c, "sudo -n wg show wg0 public-key") {
				t.Errorf("%s was not checked over SSH:\n%s", name, c)
			}
		}
		if o := got[PhaseK0sInstall]; o.Status != state.PhaseFailed || !strings.Contains(fmt.Sprint(o.Err), "k0sctl apply --config "+w.env.SecretsDir) {
			t.Errorf("k0s-install with a failing k0sctl: %+v", o)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(kubeconfig), "*")); len(left) != 0 {
			t.Errorf("a failed k0sctl apply left %v", left)
		}
	}
}
