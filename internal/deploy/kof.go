package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/child"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kof"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// KOFName is the phase that installs KOF on the management cluster.
const KOFName = "kof"

// kofPhase is `k0rdentctl kof install` as a phase of deploy, after k0rdent
// is ready.
type kofPhase struct {
	env *Env
	// after are further phases KOF waits for (the disk CSI driver on a
	// management cluster built on Azure VMs).
	after []string
}

func (p *kofPhase) Name() string       { return KOFName }
func (p *kofPhase) Title() string      { return "Install KOF " + p.env.Config.KOF.Version }
func (p *kofPhase) Requires() []string { return append([]string{k0rdent.PhaseReady}, p.after...) }

func (p *kofPhase) Wanted() (bool, string) { return true, "" }

func (p *kofPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

func (p *kofPhase) DryRun(context.Context) ([]string, error) {
	k := p.env.Config.KOF
	lines := []string{fmt.Sprintf("check that KOF %s goes with the installed k0rdent (same minor version) and with any KOF already there, and that a StorageClass is there for its storage", k.Version)}
	for _, s := range kof.Steps(p.env.Config, filepath.Dir(p.env.ConfigPath), k.StorageClass) {
		line := fmt.Sprintf("install or upgrade Helm release %s in %s from %s", s.Release, s.Namespace, s.Source.Ref())
		if s.Webhook {
			line += " (its admission webhook race retried)"
		}
		lines = append(lines, line+", then wait until what it made is ready")
	}
	return lines, nil
}

func (p *kofPhase) Run(ctx context.Context, prog phase.Progress) error {
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return err
	}
	res, err := (&kof.Install{Kube: kc, Config: p.env.Config, BaseDir: filepath.Dir(p.env.ConfigPath),
		Progress: func(s string) { prog.Printf("%s", s) }}).Run(ctx)
	var inc *kof.IncompatibleError
	if errors.As(err, &inc) {
		return phase.Permanent(err)
	}
	if err != nil {
		return err
	}
	return p.env.record(ctx, "the KOF install", func(r *state.Record) { kof.RecordInstall(r, res, p.env.now()) })
}

// Verify implements phase.Verifier: every release is deployed and ready.
func (p *kofPhase) Verify(ctx context.Context) (bool, string, error) {
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return false, "", err
	}
	st, err := kof.GetStatus(ctx, kc, p.env.Config)
	if err != nil {
		return false, "", err
	}
	for _, r := range st.Releases {
		if !r.Ready {
			return false, r.Release + ": " + r.Waiting, nil
		}
	}
	return true, "", nil
}

// KOFRegionalName is the phase that makes the KOF regional cluster.
const KOFRegionalName = "kof-regional"

// kofRegionalPhase is `k0rdentctl kof regional deploy` as a phase: after
// KOF is installed, the Credential and, when it is placed in a region this
// run deploys, that region's chain.
type kofRegionalPhase struct {
	env          *Env
	withRegional bool
}

func (p *kofRegionalPhase) Name() string { return KOFRegionalName }
func (p *kofRegionalPhase) Title() string {
	return "Create the KOF regional cluster " + p.env.Config.KOF.Regional.Name
}

func (p *kofRegionalPhase) Requires() []string {
	req := []string{KOFName, CredentialsName}
	if r := p.env.Config.KOF.Regional.Region; r != "" && p.withRegional {
		req = append(req, regional.PhaseName(r, regional.StepComponents))
	}
	return req
}

func (p *kofRegionalPhase) Wanted() (bool, string)                          { return true, "" }
func (p *kofRegionalPhase) ShouldRun(context.Context) (bool, string, error) { return true, "", nil }

func (p *kofRegionalPhase) DryRun(context.Context) ([]string, error) {
	s := kof.RegionalSpec(p.env.Config)
	where := "on the management cluster"
	if s.Region != "" {
		where = "in region " + s.Region
	}
	labels := make([]string, 0, len(s.Labels))
	for k, v := range s.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	return []string{
		fmt.Sprintf("apply ClusterDeployment %s/%s %s with Credential %s: %d control-plane %s, %d worker %s, in %s; labels %s",
			s.Namespace, s.Name, where, s.Credential, s.ControlPlane.Count, s.ControlPlane.VMSize, s.Workers.Count, s.Workers.VMSize, s.Location, strings.Join(labels, ", ")),
		fmt.Sprintf("wait up to %s for it to be Ready and for KOF's operator to write ConfigMap %s/kof-%s (its endpoints)", time.Duration(p.env.Config.Timeouts.ChildCluster), s.Namespace, s.Name),
	}, nil
}

func (p *kofRegionalPhase) Run(ctx context.Context, prog phase.Progress) error {
	cfg := p.env.Config
	sub, err := subscription(cfg, "the KOF regional cluster")
	if err != nil {
		return err
	}
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return err
	}
	id := p.env.deploymentID()
	st, err := (&kof.DeployRegional{Kube: kc, Config: cfg, SubscriptionID: sub, DeploymentID: id, Timeout: time.Duration(cfg.Timeouts.ChildCluster),
		Progress: func(s string) { prog.Printf("%s", s) }}).Run(ctx)
	var ie *child.InvalidError
	var ni *kof.NoIstioError
	if errors.As(err, &ie) || errors.As(err, &ni) {
		return phase.Permanent(err)
	}
	if err != nil {
		return err
	}
	return p.env.record(ctx, "the KOF regional cluster", func(r *state.Record) { kof.RecordRegional(r, st.Namespace, st.Name, st) })
}

// Verify implements phase.Verifier.
func (p *kofRegionalPhase) Verify(ctx context.Context) (bool, string, error) {
	kc, err := p.env.Management.Clients(ctx)
	if err != nil {
		return false, "", err
	}
	rs, err := kof.RegionalStatuses(ctx, kc.Client)
	if err != nil {
		return false, "", err
	}
	r := p.env.Config.KOF.Regional
	for _, s := range rs {
		if s.Name == r.Name && s.Namespace == r.Namespace {
			return s.Ready, s.Message, nil
		}
	}
	return false, "ClusterDeployment " + r.Namespace + "/" + r.Name + " does not exist", nil
}
