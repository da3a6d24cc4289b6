package deploy

import (
	"context"
	"fmt"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
)

// PreflightName is the first phase of every deployment.
const PreflightName = "preflight"

// preflight checks, before anything changes, that the run has what it needs:
// a valid configuration and a management cluster that answers.
type preflight struct {
	env *Env
	// after are the phases that make the management cluster first (mode
	// azure).
	after []string
}

func (p *preflight) Name() string       { return PreflightName }
func (p *preflight) Title() string      { return "Check the configuration and the management cluster" }
func (p *preflight) Requires() []string { return p.after }
func (p *preflight) ShouldRun(context.Context) (bool, string, error) {
	return true, "", nil
}

func (p *preflight) DryRun(context.Context) ([]string, error) {
	cfg := p.env.Config
	lines := []string{fmt.Sprintf("configuration %s is valid (hash %s)", p.env.ConfigPath, short(config.Hash(p.env.Raw)))}
	if cfg.ExistingManagement() {
		lines = append(lines, fmt.Sprintf("connect to the existing management cluster through %s and check that it answers an authenticated request", p.env.ManagementKubeconfig()))
	} else {
		lines = append(lines, fmt.Sprintf("management cluster on Azure VMs in %s: %d controller(s), %d worker(s); kubeconfig %s",
			cfg.Azure.Location, cfg.Cluster.Controllers.Replicas(), cfg.Cluster.Workers.Replicas(), p.env.ManagementKubeconfig()))
	}
	return lines, nil
}

func (p *preflight) Run(ctx context.Context, prog phase.Progress) error {
	prog.Printf("asking %s for its version and who it takes us for", p.env.ManagementKubeconfig())
	_, v, user, err := p.env.Management.Reachable(ctx)
	if err != nil {
		return err
	}
	prog.Printf("management cluster answers: Kubernetes %s, as %s", v, user)
	return nil
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
