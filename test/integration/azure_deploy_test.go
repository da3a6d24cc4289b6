package integration

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/diskcsi"
	"github.com/k0rdentctl/k0rdentctl/internal/azure/prepare"
	"github.com/k0rdentctl/k0rdentctl/internal/cli"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/sshvm"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// deploy of management.mode azure from an empty subscription to k0rdent
// running on the new cluster, through the CLI, every phase in one chain:
// the small template (one controller, two workers) on the simulation of
// Azure; each VM an SSH server with the host key, user and operator key
// the deployment gave it, reached where the VPN would reach it; the k0sctl
// stand-in as the k0sctl program (it reads the configuration with k0sctl's
// own types, logs in to every host with the configured key and host key,
// registers the nodes with a kubelet, as k0s does, and writes the admin
// kubeconfig of a real API server); the kubelet, workload and k0rdent
// stand-ins on that API server.
//
// The first run stops at the VPN (this machine has no wg-quick), saying
// the command; the VMs then answer, and the same command goes on through
// vm-ready, k0s-install, pod-network (between the two workers: a
// controller-only k0s host is no node), the real kcm chart, the
// Credential and the disk CSI driver from its Helm repository, exit 0.
// The kubeconfig k0sctl wrote replaces a longer stale file whole. A third
// run changes nothing in Azure and does not run k0sctl again; reset then
// leaves nothing in Azure and no kubeconfig or key behind.
func TestDeployAzureFromEmptySubscriptionToK0rdent(t *testing.T) {
	capz, err := testenv.CAPZCRDDir(t.Context())
	rgMust(t, err)
	cluster := testenv.StartT(t, testenv.Options{NoCRDs: true, ExtraCRDDirs: []string{capz}})
	kc := connect(t, cluster)
	startKCM(t, kc, moduleVersion, nil)
	fast, err := kube.FromRESTConfig(cluster.Config, kube.WithRateLimit(1000, 2000))
	rgMust(t, err)
	rg, err := standin.NewRegional(standin.RegionalOptions{Management: fast.Client, Logf: t.Logf})
	rgMust(t, err)
	kubelet := standin.NewKubelet(cluster.Client)
	t.Cleanup(kubelet.Close)
	stop := standin.NewLoop(rg, kubelet, standin.NewWorkloads(cluster.Client, diskcsi.Namespace)).Start(context.Background())
	t.Cleanup(func() { _ = stop() })

	dir := t.TempDir()
	cfgPath, stateDir := filepath.Join(dir, "k0rdent.yaml"), filepath.Join(dir, "state")
	flags := []string{"-c", cfgPath, "--state-dir", stateDir}
	if r := cliRun(t, "config", "init", "--template", "small", "-c", cfgPath); r.code != 0 {
		t.Fatalf("config init: exit %d", r.code)
	}
	raw, err := os.ReadFile(cfgPath)
	rgMust(t, err)
	doc := map[string]any{}
	rgMust(t, yaml.Unmarshal(raw, &doc))
	const clientID, secret = "11111111-2222-3333-4444-555555555555", "e2e-secret-never-shown-71c3"
	config.SetIn(doc, "software.k0rdent.version", moduleVersion)
	config.SetIn(doc, "software.k0rdent.chart", kcmChartDir(t))
	config.SetIn(doc, "software.k0rdent.values", chartValues())
	config.SetIn(doc, "software.k0rdent.credential.client_id", clientID)
	config.SetIn(doc, "software.azure_disk_csi.charts", helmRepo(t, filepath.Join("testdata", "azuredisk-charts", "azuredisk-csi-driver")))
	config.SetIn(doc, "timeouts.k0rdent_install", "2m")
	config.SetIn(doc, "timeouts.k0s_install", "2m")
	config.SetIn(doc, "timeouts.vpn_connect", "1m")
	raw, err = yaml.Marshal(doc)
	rgMust(t, err)
	rgMust(t, os.WriteFile(cfgPath, raw, 0o600))
	t.Setenv(credentials.EnvClientSecret, secret)
	t.Setenv(credentials.EnvTenantID, "66666666-7777-8888-9999-000000000000")

	// Azure is the simulation; a VM's SSH server is wherever the test
	// started it (nowhere until then: a closed port).
	sim := armsim.New(armsim.Options{})
	var mu sync.Mutex
	sshAt := map[string]string{}
	hooks := cli.Hooks{
		Azure: func(*config.Config) (*cli.AzureAccess, error) {
			return &cli.AzureAccess{Session: &azure.Session{Subscription: sim.SubscriptionID(), Credential: armsim.Credential(), Options: sim.ClientOptions()}}, nil
		},
		SSHAddress: func(wg string) string {
			mu.Lock()
			defer mu.Unlock()
			if a, ok := sshAt[wg]; ok {
				return a
			}
			return closedAddress(t)
		},
	}
	worldFile := standin.UseK0sctl(t, standin.K0sctlWorld{})
	var outputs []string
	run := func(args ...string) opsResult {
		t.Helper()
		r := cliRunWith(t, hooks, append(args, flags...)...)
		outputs = append(outputs, r.out, r.err)
		return r
	}
	deploy := func() opsResult { t.Helper(); return run("deploy") }

	if r := deploy(); r.code != 1 || !strings.Contains(r.out+r.err, "sudo wg-quick up") {
		t.Fatalf("first deploy: exit %d, want 1 at the VPN with the command to run", r.code)
	}
	store, err := state.NewFileStore(stateDir)
	rgMust(t, err)
	id, err := state.FindCurrent(t.Context(), store, "k0rdent-small")
	rgMust(t, err)
	rec, err := store.Load(t.Context(), id)
	rgMust(t, err)
	a := rec.Management.Azure
	if a == nil || len(a.VMs) != 3 {
		t.Fatalf("recorded VMs: %+v", a)
	}

	// The VMs answer: each with the keys the deployment made for it.
	cfg, diags := config.Parse(raw)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var names []string
	for _, vm := range a.VMs {
		names = append(names, vm.Name)
	}
	m, err := prepare.Load(cfg, dir, id, filepath.Join(stateDir, "secrets"), names)
	rgMust(t, err)
	vms := map[string]*sshvm.VM{}
	world := standin.K0sctlWorld{SSH: map[string]string{}, Kubeconfig: cluster.KubeconfigPath, Log: filepath.Join(dir, "k0sctl.log")}
	for _, n := range m.Nodes {
		vm, err := sshvm.Start(sshvm.Options{HostKey: n.HostKey.Signer, User: m.User, Authorized: m.SSH.Signer.PublicKey(),
			State: sshvm.State{CloudInit: "done", WireGuardActive: true, WireGuardKey: n.WireGuard.Public, Hostname: n.Name}})
		rgMust(t, err)
		t.Cleanup(vm.Close)
		vms[n.Name] = vm
		mu.Lock()
		sshAt[n.Address.String()] = vm.Addr()
		mu.Unlock()
		world.SSH[n.Address.String()] = vm.Addr()
	}
	rgMust(t, standin.SetK0sctlWorld(worldFile, world))
	// A stale kubeconfig, longer than the one k0sctl writes.
	kubeconfig := state.KubeconfigPath(stateDir, "k0rdent-small")
	rgMust(t, os.MkdirAll(filepath.Dir(kubeconfig), 0o700))
	rgMust(t, os.WriteFile(kubeconfig, bytes.Repeat([]byte("# stale\n"), len(cluster.Kubeconfig)), 0o600))

	if r := deploy(); r.code != 0 {
		t.Fatalf("deploy with the VMs answering: exit %d", r.code)
	}
	rec, err = store.Load(t.Context(), id)
	rgMust(t, err)
	if rec.Overall() != state.OverallDeployed {
		t.Fatalf("record says %s: %s", rec.Overall(), rec.PhaseSummary())
	}
	for _, p := range []string{"vpn-up", "vm-ready", "k0s-install", "pod-network", "preflight", "k0rdent-install", "k0rdent-ready", "credentials", "azure-disk-csi"} {
		if ph := rec.Phase(p); ph == nil || ph.Status != state.PhaseCompleted {
			t.Errorf("phase %s: %+v", p, ph)
		}
	}
	// k0sctl was run once, with the controller's WireGuard address for the
	// kubeconfig; the kubeconfig is exactly the one it wrote, 0600, and is
	// the management cluster's in the record.
	log, err := os.ReadFile(world.Log)
	rgMust(t, err)
	var controller string
	for _, vm := range a.VMs {
		if vm.Name == "k0s-controller-1" {
			controller = vm.WireGuardIP
		}
	}
	if lines := strings.Split(strings.TrimSpace(string(log)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "--kubeconfig-api-address https://"+net.JoinHostPort(controller, "6443")) {
		t.Errorf("k0sctl runs:\n%s", log)
	}
	got, err := os.ReadFile(kubeconfig)
	rgMust(t, err)
	if !bytes.Equal(got, cluster.Kubeconfig) {
		t.Errorf("the kubeconfig is not the one k0sctl wrote (%d bytes, want %d): a stale tail?", len(got), len(cluster.Kubeconfig))
	}
	if st, err := os.Stat(kubeconfig); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode: %v %v", st.Mode(), err)
	}
	if rec.Management.KubeconfigPath != kubeconfig {
		t.Errorf("recorded kubeconfig %q, want %q", rec.Management.KubeconfigPath, kubeconfig)
	}
	for name, vm := range vms {
		if c := strings.Join(vm.Commands(), "\n"); !strings.Contains(c, "cloud-init status") || !strings.Contains(c, "hostname") {
			t.Errorf("%s was not checked by vm-ready and k0sctl over SSH:\n%s", name, c)
		}
	}
	// The cluster: the two workers are its nodes; k0rdent, the Credential
	// and the default StorageClass are there.
	var nodes corev1.NodeList
	rgMust(t, cluster.Client.List(t.Context(), &nodes))
	var nodeNames []string
	for _, n := range nodes.Items {
		nodeNames = append(nodeNames, n.Name)
	}
	if strings.Join(nodeNames, " ") != "k0s-worker-1 k0s-worker-2" {
		t.Errorf("nodes %v", nodeNames)
	}
	cred := &kcmv1.Credential{}
	rgGet(t, cluster.Client, client.ObjectKey{Namespace: "kcm-system", Name: cfg.Software.K0rdent.Credential.Name}, cred)
	var sc storagev1.StorageClass
	rgGet(t, cluster.Client, client.ObjectKey{Name: diskcsi.StorageClass}, &sc)
	if sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" || !strings.Contains(sc.Parameters["tags"], id) {
		t.Errorf("StorageClass %s: annotations %v, parameters %v", sc.Name, sc.Annotations, sc.Parameters)
	}
	if helmRevisions(t, cluster.Client) != 1 {
		t.Error("want one revision of the kcm release")
	}

	// Again: nothing changes in Azure, k0sctl is not run again.
	sim.ResetLog()
	if r := deploy(); r.code != 0 {
		t.Fatalf("third deploy: exit %d", r.code)
	}
	if muts := sim.Mutations(); len(muts) != 0 {
		t.Errorf("the third deploy changed Azure: %v", muts)
	}
	if again, _ := os.ReadFile(world.Log); !bytes.Equal(again, log) {
		t.Errorf("k0sctl ran again:\n%s", again)
	}
	// reset -y: nothing of the deployment is left in Azure, its kubeconfig
	// and keys are gone, the record is archived.
	if r := run("reset", "-y"); r.code != 0 || !strings.Contains(r.out, "is reset") {
		t.Fatalf("reset -y: exit %d", r.code)
	}
	if left := sim.Resources(); len(left) != 0 {
		t.Errorf("left in Azure after reset: %d resources", len(left))
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Errorf("kubeconfig after reset: %v", err)
	}
	if keys, _ := filepath.Glob(filepath.Join(stateDir, "secrets", id+"-*")); len(keys) != 0 {
		t.Errorf("keys left after reset: %v", keys)
	}
	// The client secret is in no output and no file of the state folder.
	for _, o := range outputs {
		if strings.Contains(o, secret) {
			t.Fatal("the client secret appears in deploy's output")
		}
	}
	rgMust(t, filepath.WalkDir(stateDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("the client secret is in %s", p)
		}
		return err
	}))
}
