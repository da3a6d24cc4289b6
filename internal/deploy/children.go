package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/child"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kof"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// ChildPhasePrefix starts the names of the child cluster phases:
// "child/<name>".
const ChildPhasePrefix = "child/"

// childPhase creates one configured child cluster (`deploy
// --with-children`), as `k0rdentctl child create NAME` does, after k0rdent,
// the Credential and, for a child in a region deployed by the same run, that
// region's chain.
type childPhase struct {
	env          *Env
	cc           config.ChildCluster
	withRegional bool
}

func (p *childPhase) Name() string  { return ChildPhasePrefix + p.cc.Name }
func (p *childPhase) Title() string { return "Create child cluster " + p.cc.Name }
func (p *childPhase) Group() string { return p.Name() }

func (p *childPhase) Requires() []string {
	req := []string{k0rdent.PhaseReady, CredentialsName}
	if p.cc.Region != "" && p.withRegional {
		req = append(req, regional.PhaseName(p.cc.Region, regional.StepComponents))
	}
	return req
}

func (p *childPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

func (p *childPhase) DryRun(context.Context) ([]string, error) {
	s := kof.ChildSpec(p.env.Config, p.cc)
	where := "on the management cluster"
	if s.Region != "" {
		where = "in region " + s.Region
	}
	tmpl := s.Template
	if tmpl == "" {
		tmpl = "the newest valid Azure standalone ClusterTemplate"
	}
	return []string{
		fmt.Sprintf("apply ClusterDeployment %s/%s %s from %s with Credential %s: %d control-plane %s, %d worker %s, in %s",
			s.Namespace, s.Name, where, tmpl, s.Credential, s.ControlPlane.Count, s.ControlPlane.VMSize, s.Workers.Count, s.Workers.VMSize, s.Location),
		"check its values against the template's values schema first",
		fmt.Sprintf("wait up to %s for it to be Ready; write its kubeconfig to %s", time.Duration(p.env.Config.Timeouts.ChildCluster), state.KubeconfigPath(p.env.StateDir, s.Name)),
	}, nil
}

func (p *childPhase) Run(ctx context.Context, prog phase.Progress) error {
	cfg := p.env.Config
	sub, err := subscription(cfg, p.cc.Name)
	if err != nil {
		return err
	}
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return err
	}
	id := p.env.deploymentID()
	create := &child.Create{Client: kc.Client, Spec: kof.ChildSpec(p.env.Config, p.cc), SubscriptionID: sub, DeploymentID: id, CopyRegionKubeconfig: p.env.Config.K0rdentBefore("1.6.0"),
		Timeout: time.Duration(cfg.Timeouts.ChildCluster), Progress: func(s string) { prog.Printf("%s", s) }}
	cd, err := create.Run(ctx)
	if err != nil {
		var ie *child.InvalidError
		if errors.As(err, &ie) {
			return phase.Permanent(fmt.Errorf("child_clusters (%s): %w", p.cc.Name, err))
		}
		return err
	}
	data, err := child.Kubeconfig(ctx, kc.Client, client.ObjectKeyFromObject(cd))
	if err != nil {
		return err
	}
	path := state.KubeconfigPath(p.env.StateDir, p.cc.Name)
	if err := state.WriteFileAtomic(ctx, path, data); err != nil {
		return err
	}
	prog.Printf("ready; kubeconfig %s", path)
	return nil
}

// Verify implements phase.Verifier: the ClusterDeployment is there and
// Ready.
func (p *childPhase) Verify(ctx context.Context) (bool, string, error) {
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return false, "", err
	}
	cd := &kcmv1.ClusterDeployment{}
	if err := kc.Client.Get(ctx, client.ObjectKey{Namespace: p.cc.Namespace, Name: p.cc.Name}, cd); err != nil {
		if apierrors.IsNotFound(err) {
			return false, "ClusterDeployment missing", nil
		}
		return false, "", err
	}
	if !meta.IsStatusConditionTrue(cd.Status.Conditions, kcmv1.ReadyCondition) {
		return false, "ClusterDeployment not Ready", nil
	}
	return true, "ClusterDeployment Ready", nil
}

// subscription is the Azure subscription a cluster's values name:
// azure.subscription_id, else AZURE_SUBSCRIPTION_ID.
func subscription(cfg *config.Config, what string) (string, error) {
	sub := cfg.Azure.SubscriptionID
	if sub == "" {
		sub = os.Getenv(credentials.EnvSubscriptionID)
	}
	if sub == "" {
		return "", phase.Permanent(fmt.Errorf("no Azure subscription for the values of %s: set azure.subscription_id or %s", what, credentials.EnvSubscriptionID))
	}
	return sub, nil
}
