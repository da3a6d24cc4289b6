package mgmt

import (
	"strings"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
)

// criticalPath is how long the Azure side of deploy takes at the least
// when every Azure call costs perCall and everything that does not depend
// on something else runs at once: the longest chain through what Azure
// requires. Preflight reads the providers, the sizes, then the quota (it
// needs the sizes' vCPUs), the image versions, then the image; nothing is
// created before preflight passed; the resource group comes first; the
// security group before the virtual network (its subnet names it); a
// VM's public IP needs only the group; its NIC needs the subnet and the
// public IP; the VM needs the NIC. Each resource's weight is the calls
// deploy made about it (reads included) times perCall, so reads deploy
// makes count in the critical path too: the ratio shows what is run one
// after the other that need not be, not whether a call could be saved.
func criticalPath(log []armsim.Call, perCall time.Duration) (time.Duration, map[string]int) {
	calls := map[string]int{}
	for _, c := range log {
		path := strings.ToLower(strings.TrimSuffix(c.Path, "/get/fake/status"))
		api, _, _ := strings.Cut(c.API, ".")
		key := api
		switch api {
		case "VirtualMachineImagesClient":
			key += "." + strings.TrimPrefix(c.API, api+".")
		case "PublicIPAddressesClient", "InterfacesClient", "VirtualMachinesClient":
			name := path[strings.LastIndex(path, "/")+1:]
			name = strings.TrimSuffix(strings.TrimSuffix(name, "-ip"), "-nic")
			key += "/" + name
		case "ProvidersClient":
			key += "/" + path
		}
		calls[key]++
	}
	w := func(k string) time.Duration { return time.Duration(calls[k]) * perCall }
	pre := max(w("ResourceSKUsClient")+w("UsageClient"), w("VirtualMachineImagesClient.List")+w("VirtualMachineImagesClient.Get"))
	for k := range calls {
		if strings.HasPrefix(k, "ProvidersClient/") {
			pre = max(pre, w(k))
		}
	}
	network := w("SecurityGroupsClient") + w("VirtualNetworksClient")
	var vms time.Duration
	for k := range calls {
		if vm, ok := strings.CutPrefix(k, "VirtualMachinesClient/"); ok {
			vms = max(vms, max(network, w("PublicIPAddressesClient/"+vm))+w("InterfacesClient/"+vm)+w(k))
		}
	}
	return pre + w("ResourceGroupsClient") + vms, calls
}

// BenchmarkAzureDeploy runs the Azure phases of deploy (preflight to the
// VPN configuration) on the simulation with every call costing the same
// fixed delay, and reports the wall time against the critical path and
// the calls made.
func BenchmarkAzureDeploy(b *testing.B) {
	for _, c := range []struct {
		template string
		perCall  time.Duration
	}{{"minimal", 20 * time.Millisecond}, {"production", 20 * time.Millisecond}, {"production", 200 * time.Millisecond}} {
		template, perCall := c.template, c.perCall
		b.Run(template+"/"+perCall.String(), func(b *testing.B) {
			var wall, critical time.Duration
			var total int
			for i := 0; i < b.N; i++ {
				w := newWorldWith(b, template, armsim.Options{Latency: perCall, PollInterval: time.Millisecond})
				start := time.Now()
				if _, err := w.run(b); err != nil {
					b.Fatal(err)
				}
				wall += time.Since(start)
				cp, _ := criticalPath(w.sim.Log(), perCall)
				critical += cp
				_, n := w.sim.Calls()
				total += n
			}
			n := float64(b.N)
			b.ReportMetric(float64(wall.Milliseconds())/n, "wall-ms")
			b.ReportMetric(float64(critical.Milliseconds())/n, "critical-ms")
			b.ReportMetric(float64(wall)/float64(critical), "wall/critical")
			b.ReportMetric(float64(total)/n, "calls")
		})
	}
}
