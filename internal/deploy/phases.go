package deploy

import (
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
)

// Unavailable names a part of the configuration that this build of
// k0rdentctl cannot deploy yet, so that plan says so instead of pretending.
type Unavailable struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Phases returns the phases of `k0rdentctl deploy` for the configuration,
// and what the configuration asks for that this build cannot do.
func Phases(env *Env) ([]phase.Phase, []Unavailable) {
	cfg := env.Config
	phases := []phase.Phase{&preflight{env: env}}
	var missing []Unavailable
	if !cfg.ExistingManagement() {
		missing = append(missing, Unavailable{Field: "management.mode",
			Reason: "creating the management cluster on Azure VMs (network, VMs, WireGuard, k0s) is not in this build; use management.mode existing with a kubeconfig"})
	}
	return phases, missing
}
