package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

func runOnSim(t *testing.T, sim *armsim.Sim, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	hooks := Hooks{Azure: func(*config.Config) (*AzureAccess, error) {
		return &AzureAccess{Session: &azure.Session{Subscription: sim.SubscriptionID(), Credential: armsim.Credential(), Options: sim.ClientOptions()}}, nil
	}}
	code := ExecuteWith(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, BuildInfo{}, hooks)
	return result{out: out.String(), err: errOut.String(), code: code}
}

// config validate --online asks the subscription, reading only: a
// subscription that can hold the production template passes; one whose
// zone 2 no longer offers the size and whose quota is short fails with
// both problems, each on its field with what would work.
func TestConfigValidateOnline(t *testing.T) {
	_, flags := workdir(t, "production")
	sim := armsim.New(armsim.Options{})
	t.Setenv("PATH", t.TempDir())
	if r := runOnSim(t, sim, append([]string{"config", "validate", "--online"}, flags...)...); r.code != 0 || !strings.Contains(r.out+r.err, "k0sctl is not on this machine's PATH") {
		t.Fatalf("validate --online without k0sctl: exit %d, want 0 with a warning naming k0sctl\n%s%s", r.code, r.out, r.err)
	}
	standin.UseK0sctl(t, standin.K0sctlWorld{})
	if r := runOnSim(t, sim, append([]string{"config", "validate", "--online"}, flags...)...); r.code != 0 || !strings.Contains(r.out, "the Azure subscription can hold it") || strings.Contains(r.out+r.err, "warning") {
		t.Fatalf("validate --online on an ordinary subscription: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if len(sim.Mutations()) != 0 {
		t.Errorf("validate --online changed Azure: %v", sim.Mutations())
	}

	sim.RestrictZone("eastus2", "Standard_D4s_v5", "2")
	sim.SetQuota("eastus2", "standardDSv5Family", 8)
	r := runOnSim(t, sim, append([]string{"config", "validate", "--online", "-o", "json"}, flags...)...)
	if r.code != ExitUsage {
		t.Fatalf("validate --online with a restricted zone and short quota: exit %d, want 2\n%s%s", r.code, r.out, r.err)
	}
	var v struct {
		Valid       bool `json:"valid"`
		Diagnostics []config.Diagnostic
	}
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.out)
	}
	var zone, quota bool
	for _, d := range v.Diagnostics {
		zone = zone || (strings.HasPrefix(d.Path, "cluster.") && strings.Contains(d.Path, "zones") && d.Hint != "")
		quota = quota || (strings.Contains(d.Message+d.Hint, "quota") && d.Hint != "")
	}
	if !zone || !quota || v.Valid {
		t.Errorf("diagnostics %+v: want the zone and the quota problems, each with a fix", v.Diagnostics)
	}

	// Without --online nothing is asked.
	_, before := sim.Calls()
	if r := runOnSim(t, sim, append([]string{"config", "validate"}, flags...)...); r.code != 0 {
		t.Errorf("offline validate: exit %d", r.code)
	}
	if _, after := sim.Calls(); after != before {
		t.Error("config validate without --online called Azure")
	}
}
