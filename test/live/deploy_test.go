//go:build live

package live

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// The minimal template deployed for real with deploy:
// two VMs, the VPN brought up by wg-quick (so: root, wireguard-tools and
// k0sctl on this machine), k0s, the pod-network check, k0rdent; then both
// nodes Ready through the VPN and every VM answering in vpn status; then
// reset, which must leave nothing tagged with the deployment. reset runs
// whatever happened before it.
func TestLiveDeployMinimal(t *testing.T) {
	sub, location := env(t)
	if os.Geteuid() != 0 {
		t.Fatal("TestLiveDeployMinimal brings the VPN up with wg-quick: run it as root")
	}
	for _, bin := range []string{"wg-quick", "wg", "k0sctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("TestLiveDeployMinimal needs %s on the PATH (wireguard-tools; k0sctl 0.28 or newer)", bin)
		}
	}
	dir := t.TempDir()
	cfg := minimalConfig(t, dir, sub, location)
	flags := []string{"-c", cfg}
	t.Cleanup(func() {
		out, _, code := run(t, append([]string{"reset", "-y", "-o", "json"}, flags...)...)
		var res struct {
			Leftovers []string `json:"leftovers"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Leftovers) != 0 {
			t.Errorf("reset: exit %d, leftovers %v: delete the resource group by hand (az group delete)", code, res.Leftovers)
		}
	})
	if _, _, code := run(t, append([]string{"deploy"}, flags...)...); code != 0 {
		t.Fatalf("deploy: exit %d", code)
	}
	out, _, code := run(t, append([]string{"vpn", "status", "-o", "json"}, flags...)...)
	var st struct {
		Peers []struct {
			VM        string `json:"vm"`
			Reachable bool   `json:"reachable"`
		} `json:"peers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Peers) != 2 {
		t.Fatalf("vpn status: exit %d\n%s", code, out)
	}
	for _, p := range st.Peers {
		if !p.Reachable {
			t.Errorf("%s does not answer over the VPN", p.VM)
		}
	}
	kubeconfigs, _ := filepath.Glob(filepath.Join(dir, "state", "kubeconfigs", "*.kubeconfig"))
	if len(kubeconfigs) != 1 {
		t.Fatalf("kubeconfigs %v", kubeconfigs)
	}
	kc, err := kube.Connect(context.Background(), kubeconfigs[0])
	if err != nil {
		t.Fatal(err)
	}
	var nodes corev1.NodeList
	if err := kc.Client.List(context.Background(), &nodes); err != nil {
		t.Fatalf("listing the nodes through the VPN: %v", err)
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready != 2 {
		t.Errorf("%d of %d nodes Ready, want 2", ready, len(nodes.Items))
	}
}
