package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// plan lists every Azure resource management.mode azure creates: the
// group, NSG, VNet and subnet, and per VM its IP, NIC, VM and disk, with
// zones round robin; -o json has them too. A cluster you have lists none.
func TestPlanListsTheAzureResources(t *testing.T) {
	_, flags := workdir(t, "production") // 3 controllers, 3 workers, zones 1-3
	r := run(t, append([]string{"plan", "-o", "json"}, flags...)...)
	var v planView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, r.out)
	}
	if len(v.AzureResources) != 4+6*4 {
		t.Fatalf("%d Azure resources, want 28: %+v", len(v.AzureResources), v.AzureResources)
	}
	byName := map[string]string{}
	for _, res := range v.AzureResources {
		byName[res.Name] = res.Type + " " + res.Detail
	}
	for name, want := range map[string]string{
		"<deployment-id>-rg":      "k0rdentctl-deployment=<deployment-id>",
		"<deployment-id>-nsg":     "UDP 51820",
		"k0s-controller-3":        "zone 3",
		"k0s-worker-1":            "zone 1",
		"k0s-worker-2-ip":         "publicIPAddresses",
		"k0s-worker-3-nic":        "networkInterfaces",
		"k0s-controller-1-osdisk": "deleted with the VM",
	} {
		if !strings.Contains(byName[name], want) {
			t.Errorf("%s: %q, want it to say %q", name, byName[name], want)
		}
	}
	if r := run(t, append([]string{"plan"}, flags...)...); !strings.Contains(r.out, "Azure resources of the management cluster (28)") {
		t.Errorf("plan does not list the Azure resources:\n%s", r.out)
	}

	_, flags = workdir(t, "existing")
	r = run(t, append([]string{"plan", "-o", "json"}, flags...)...)
	if strings.Contains(r.out, "azure_resources") {
		t.Error("plan of a cluster you have lists Azure resources")
	}
}

// plan lists the management cluster's phases in
// order, the pod-network check after k0s and before k0rdent's preflight.
func TestPlanAzurePhases(t *testing.T) {
	_, flags := workdir(t, "small")
	r := run(t, append([]string{"plan", "-o", "json"}, flags...)...)
	var v planView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, r.out)
	}
	var names []string
	for _, p := range v.Phases {
		names = append(names, p.Name)
	}
	got := strings.Join(names, " ")
	want := "azure-preflight azure-prepare azure-network azure-vms vpn-config vpn-up vm-ready k0s-install pod-network preflight"
	if !strings.HasPrefix(got, want) {
		t.Errorf("phases %s\nwant them to start with %s", got, want)
	}
	// No service principal in the file: the disk CSI driver is skipped, and
	// plan says why.
	for _, p := range v.Phases {
		if p.Name == "azure-disk-csi" && (p.Wanted || !strings.Contains(p.Reason, "no service principal")) {
			t.Errorf("azure-disk-csi without a principal: %+v", p)
		}
	}
	if !strings.Contains(got, "credentials azure-disk-csi") {
		t.Errorf("no azure-disk-csi phase after credentials: %s", got)
	}
}
