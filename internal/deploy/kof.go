package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kof"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
)

// KOFName is the phase that installs KOF on the management cluster.
const KOFName = "kof"

// kofPhase is `k0rdentctl kof install` as a phase of deploy, after k0rdent
// is ready.
type kofPhase struct{ env *Env }

func (p *kofPhase) Name() string       { return KOFName }
func (p *kofPhase) Title() string      { return "Install KOF " + p.env.Config.KOF.Version }
func (p *kofPhase) Requires() []string { return []string{k0rdent.PhaseReady} }

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
	_, err = (&kof.Install{Kube: kc, Config: p.env.Config, BaseDir: filepath.Dir(p.env.ConfigPath),
		Progress: func(s string) { prog.Printf("%s", s) }}).Run(ctx)
	var inc *kof.IncompatibleError
	if errors.As(err, &inc) {
		return phase.Permanent(err)
	}
	return err
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
