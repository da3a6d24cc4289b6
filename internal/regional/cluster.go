package regional

import (
	"context"
	"errors"
	"fmt"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
)

// clusterPhase makes the regional cluster usable: a k0rdent-managed cluster's
// ClusterDeployment is adopted or created, and waited for until Ready; an
// external cluster's kubeconfig Secret must exist (or is made from
// kubeconfig_file). Either way the cluster must answer an authenticated
// request, and its kubeconfig is written to the region's 0600 file. A
// failure here means no Region is created.
type clusterPhase struct{ step }

func (p *clusterPhase) Title() string {
	if p.r.rc.Type() == config.RegionalTypeDeployment {
		return fmt.Sprintf("Create or adopt ClusterDeployment %s/%s for regional cluster %s", p.r.cdNamespace(), p.r.rc.ClusterDeploymentRef, p.r.rc.Name)
	}
	return fmt.Sprintf("Connect to external regional cluster %s (Secret %s/%s)", p.r.rc.Name, p.r.env.namespace(), p.r.rc.KubeconfigSecret)
}

func (p *clusterPhase) DryRun(context.Context) ([]string, error) {
	var lines []string
	if p.r.rc.Type() == config.RegionalTypeDeployment {
		lines = p.dryRunClusterDeployment()
	} else {
		lines = p.dryRunExternal()
	}
	if path := p.r.kubeconfigPath(); path != "" {
		lines = append(lines, fmt.Sprintf("write its kubeconfig to %s (mode 0600)", path))
	}
	return lines, nil
}

func (p *clusterPhase) Run(ctx context.Context, prog phase.Progress) error {
	return p.run(ctx, func() error {
		var data []byte
		var err error
		if p.r.rc.Type() == config.RegionalTypeDeployment {
			data, err = p.runClusterDeployment(ctx, prog)
		} else {
			data, err = p.runExternal(ctx, prog)
		}
		if err != nil {
			return err
		}
		return p.r.writeKubeconfig(ctx, p.name, data)
	})
}

// Verify: the cluster is still there and ready, answers with its
// credentials, and the kubeconfig file holds the Secret's content.
func (p *clusterPhase) Verify(ctx context.Context) (bool, string, error) {
	var data []byte
	var found string
	var err error
	if p.r.rc.Type() == config.RegionalTypeDeployment {
		data, found, err = p.verifyClusterDeployment(ctx)
	} else {
		data, found, err = p.verifyExternal(ctx)
	}
	if err != nil || found != "" {
		return false, found, err
	}
	if ok, found := p.r.fileCurrent(data); !ok {
		return false, found, nil
	}
	return true, "", nil
}

// prove makes the authenticated request that shows the regional cluster is
// usable with the kubeconfig from ref.
func (p *clusterPhase) prove(ctx context.Context, prog phase.Progress, data []byte, ref KubeconfigRef) (string, error) {
	prog.Printf("proving that the kubeconfig in %s is accepted (authenticated request)", ref)
	c, user, err := Probe(ctx, data, p.r.env.connectTimeout(), p.r.env.ClientOptions...)
	if err != nil {
		var pe *ProbeError
		if !errors.As(err, &pe) {
			return "", err
		}
		return "", p.fail(pe.Kind, fmt.Errorf("the kubeconfig in %s: %w", ref, pe),
			fixThen(fmt.Sprintf("check the kubeconfig in %s (key %q)", ref, ref.Key), p.r.rc.Name))
	}
	prog.Printf("regional cluster %s answers at %s as %s", p.r.rc.Name, c.Server, user)
	return fmt.Sprintf("%s as %s", c.Server, user), nil
}
