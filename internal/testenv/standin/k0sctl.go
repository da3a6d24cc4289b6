package standin

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k0sproject/k0sctl/pkg/apis/k0sctl.k0sproject.io/v1beta1"
	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// K0sctlEnv names the file of K0sctlWorld (JSON) that the k0sctl stand-in
// reads: a test writes it and puts a program named k0sctl on the PATH that
// calls RunK0sctl.
const K0sctlEnv = "K0RDENTCTL_STANDIN_K0SCTL"

// K0sctlWorld is what the k0sctl stand-in acts on.
type K0sctlWorld struct {
	// SSH maps a host's address in the configuration (its WireGuard
	// address) to where its SSH server listens.
	SSH map[string]string `json:"ssh"`
	// Kubeconfig is the admin kubeconfig of the API server that plays k0s's.
	Kubeconfig string `json:"kubeconfig"`
	// Log gets one line per run: the arguments, space-separated.
	Log string `json:"log"`
}

// RunK0sctl stands in for the k0sctl program (`k0sctl apply --config F
// --kubeconfig-out K --kubeconfig-api-address A`, `k0sctl version`). As
// k0sctl does, it reads the configuration with k0sctl's own types (strict:
// a field k0sctl does not know fails) and validates it; connects to every
// host over SSH with the configured user, key file and host key (a host
// that does not answer, or whose host key differs, fails the run, naming
// it); asks each its hostname. Then, as k0s does once running, every host
// that runs a kubelet (worker, controller+worker, single) registers its
// Node, Ready (a controller+worker with k0s's controller taint), named by
// the configured hostname; and the admin kubeconfig is written to K,
// which, as k0sctl does, it opens (without truncation) before anything
// else, so that a failed run leaves it there, empty.
//
// Where it differs from k0sctl: it installs nothing (the API server of
// K0sctlWorld plays the cluster), and the kubeconfig keeps that API
// server's address, which this machine can reach, instead of A (which
// the world's log records, for the test to check).
func RunK0sctl(args []string, stdout, stderr io.Writer) int {
	if err := runK0sctl(args, stdout); err != nil {
		fmt.Fprintf(stderr, "level=fatal msg=%q\n", err.Error())
		return 1
	}
	return 0
}

func runK0sctl(args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, "version: v0.28.0 (stand-in)")
		return nil
	}
	if len(args) == 0 || args[0] != "apply" {
		return fmt.Errorf("the k0sctl stand-in knows apply and version, not %q", args)
	}
	fl := flag.NewFlagSet("apply", flag.ContinueOnError)
	cfgPath := fl.String("config", "k0sctl.yaml", "")
	kubeconfigOut := fl.String("kubeconfig-out", "", "")
	apiAddress := fl.String("kubeconfig-api-address", "", "")
	if err := fl.Parse(args[1:]); err != nil {
		return err
	}
	// As k0sctl: the kubeconfig file is opened (created, not truncated)
	// before anything else, and written at the end.
	var kubeconfigFile *os.File
	if *kubeconfigOut != "" {
		f, err := os.OpenFile(*kubeconfigOut, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("failed to open kubeconfig-out file: %w", err)
		}
		defer f.Close()
		kubeconfigFile = f
	}
	raw, err := os.ReadFile(os.Getenv(K0sctlEnv))
	if err != nil {
		return fmt.Errorf("the k0sctl stand-in's world (%s): %w", K0sctlEnv, err)
	}
	var world K0sctlWorld
	if err := json.Unmarshal(raw, &world); err != nil {
		return err
	}
	if world.Log != "" {
		f, err := os.OpenFile(world.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintln(f, strings.Join(args, " "))
		_ = f.Close()
	}
	data, err := os.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	cl := &v1beta1.Cluster{}
	if err := yaml.UnmarshalStrict(data, cl); err != nil {
		return fmt.Errorf("failed to parse config: %w", err)
	}
	if err := cl.Validate(); err != nil {
		return fmt.Errorf("configuration validation failed: %w", err)
	}
	fmt.Fprintln(stdout, "level=info msg=\"==> Running phase: Connect to hosts\"")
	var nodes []k0sNode
	for _, h := range cl.Spec.Hosts {
		if h.SSH == nil || h.SSH.KeyPath == nil {
			return fmt.Errorf("host %s: the stand-in knows SSH hosts with a key file only", h.Address())
		}
		name, err := sshHostname(world.SSH[h.SSH.Address], h.SSH.User, *h.SSH.KeyPath, h.SSH.HostKey)
		if err != nil {
			return fmt.Errorf("[ssh] %s:%d: %w", h.SSH.Address, h.SSH.Port, err)
		}
		fmt.Fprintf(stdout, "level=info msg=\"[ssh] %s:%d: connected, hostname %s\"\n", h.SSH.Address, h.SSH.Port, name)
		if h.HostnameOverride != "" {
			name = h.HostnameOverride
		}
		switch h.Role {
		case "worker", "single":
			nodes = append(nodes, k0sNode{name: name})
		case "controller+worker":
			nodes = append(nodes, k0sNode{name: name, tainted: !h.NoTaints})
		}
	}
	fmt.Fprintln(stdout, "level=info msg=\"==> Running phase: Install k0s (the stand-in: the test's API server plays the cluster)\"")
	kc, err := os.ReadFile(world.Kubeconfig)
	if err != nil {
		return err
	}
	if err := registerNodes(kc, nodes); err != nil {
		return err
	}
	if kubeconfigFile != nil {
		if *apiAddress == "" {
			return errors.New("the stand-in expects --kubeconfig-api-address with --kubeconfig-out")
		}
		if _, err := kubeconfigFile.Write(kc); err != nil {
			return err
		}
		if err := kubeconfigFile.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "level=info msg=\"==> Finished: k0s cluster version %s is now installed\"\n", cl.Spec.K0s.Version)
	return nil
}

// sshHostname logs in to addr as user with the key file, checking the host
// key ("<type> <base64>"), and runs hostname.
func sshHostname(addr, user, keyPath, hostKey string) (string, error) {
	if addr == "" {
		return "", errors.New("dial tcp: no route to host")
	}
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		return "", err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return "", fmt.Errorf("key %s: %w", keyPath, err)
	}
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return "", fmt.Errorf("hostKey %q: %w", hostKey, err)
	}
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(want), Timeout: 10 * time.Second})
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.Output("hostname")
	if err != nil {
		return "", fmt.Errorf("hostname: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// k0sNode is a Node that k0s registers: a host with a kubelet.
type k0sNode struct {
	name    string
	tainted bool
}

// registerNodes makes each node Ready, as its kubelet would on joining.
func registerNodes(kubeconfig []byte, nodes []k0sNode) error {
	rc, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range nodes {
		obj := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux"}}}
		if n.tainted {
			obj.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/master", Effect: corev1.TaintEffectNoSchedule}}
		}
		got, err := cs.CoreV1().Nodes().Create(ctx, obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("registering node %s: %w", n.name, err)
		}
		now := metav1.Now()
		got.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}}
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s Ready: %w", n.name, err)
		}
	}
	return nil
}

// IsK0sctl reports whether this process was started as the k0sctl
// stand-in: a test binary's TestMain calls RunK0sctl then.
func IsK0sctl() bool {
	return filepath.Base(os.Args[0]) == "k0sctl"
}

// K0sctlOnPath makes dir/k0sctl run this test binary (whose TestMain
// dispatches on IsK0sctl) with world written to dir/k0sctl-world.json, and
// returns the environment entries that make it the only program on the
// PATH (so that nothing of this machine's, wg-quick for one, runs by
// mistake) and name the world.
func K0sctlOnPath(dir string, world K0sctlWorld) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.Symlink(exe, filepath.Join(dir, "k0sctl")); err != nil {
		return nil, err
	}
	wf := filepath.Join(dir, "k0sctl-world.json")
	if err := SetK0sctlWorld(wf, world); err != nil {
		return nil, err
	}
	return []string{"PATH=" + dir, K0sctlEnv + "=" + wf}, nil
}

// SetK0sctlWorld writes world to file, for the stand-in's next runs.
func SetK0sctlWorld(file string, world K0sctlWorld) error {
	raw, err := json.Marshal(world)
	if err != nil {
		return err
	}
	return os.WriteFile(file, raw, 0o600)
}

// UseK0sctl does K0sctlOnPath in a temporary folder and sets its
// environment for the rest of test t (and the processes it starts); it
// returns the world's file, for SetK0sctlWorld.
func UseK0sctl(t testing.TB, world K0sctlWorld) string {
	t.Helper()
	env, err := K0sctlOnPath(t.TempDir(), world)
	if err != nil {
		t.Fatal(err)
	}
	var file string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
		if k == K0sctlEnv {
			file = v
		}
	}
	return file
}
