package regional

import (
	"context"
	"errors"
	"fmt"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
)

// preflightPhase checks, before anything is created for a region, that the
// management cluster runs k0rdent 1.5.0 or newer (the Release the Management
// names) and serves the Region CRD.
type preflightPhase struct{ step }

func (p *preflightPhase) Title() string {
	return fmt.Sprintf("Check k0rdent and the Region API for regional cluster %s", p.r.rc.Name)
}

func (p *preflightPhase) DryRun(context.Context) ([]string, error) {
	return []string{
		fmt.Sprintf("check that the management cluster runs k0rdent %s or newer (spec.version of the Release that Management kcm names) and serves the Region CRD", k0rdent.MinimumVersion),
	}, nil
}

func (p *preflightPhase) Run(ctx context.Context, prog phase.Progress) error {
	return p.run(ctx, func() error {
		prog.Printf("reading the k0rdent version from the Release that Management kcm names")
		st, err := p.check(ctx)
		if err != nil {
			return err
		}
		prog.Printf("k0rdent %s with the Region CRD", st.Version)
		for _, w := range st.Warnings {
			p.r.warn(w)
		}
		return p.r.event(ctx, p.name, EventPreflightPassed, "management cluster runs k0rdent %s and serves the Region CRD", st.Version)
	})
}

func (p *preflightPhase) Verify(ctx context.Context) (bool, string, error) {
	if _, err := p.check(ctx); err != nil {
		if e := AsError(err); e != nil {
			return false, e.Message(), nil
		}
		return false, "", err
	}
	return true, "", nil
}

// check reads k0rdent's status once per run (every region's preflight asks
// the same question).
func (p *preflightPhase) check(ctx context.Context) (*k0rdent.StatusReport, error) {
	sh := p.r.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.status == nil {
		mc, err := p.r.env.management(ctx)
		if err != nil {
			return nil, phase.Permanent(err)
		}
		st, err := (&k0rdent.Status{Kube: mc, Namespace: p.r.env.namespace()}).Run(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading k0rdent's status on the management cluster: %w", err)
		}
		sh.status = st
	}
	st := sh.status
	if st.RegionsSupported {
		return st, nil
	}
	fix := fmt.Sprintf("install k0rdent %s or newer on the management cluster (k0rdentctl k0rdent install; software.k0rdent.version: %q)", config.MinRegionalVersion, config.DefaultK0rdentVersion)
	switch {
	case !st.Installed:
		fix = fmt.Sprintf("install k0rdent %s: k0rdentctl k0rdent install", config.DefaultK0rdentVersion)
	case st.Version != "":
		fix = fmt.Sprintf("upgrade k0rdent to %s or newer: set software.k0rdent.version: %q and run k0rdentctl k0rdent upgrade", config.MinRegionalVersion, config.DefaultK0rdentVersion)
	}
	return nil, phase.Permanent(p.fail("k0rdent cannot run regional clusters here", errors.New(st.RegionsReason), fixThen(fix, p.r.rc.Name)))
}

// K0rdentVersion is the k0rdent version the preflight observed, "" before it
// ran.
func (r *regionRun) k0rdentVersion() string {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	if r.shared.status == nil {
		return ""
	}
	return r.shared.status.Version
}
