package helmrelease

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// Step is one Helm release to install or upgrade and wait for.
type Step struct {
	Release   string
	Namespace string
	Source    Source
	Values    map[string]any
	// Webhook: its first install races an admission webhook that is not
	// serving yet, and that failure is retried.
	Webhook bool
}

// StepResult is what happened to one release.
type StepResult struct {
	Release      string `json:"release"`
	Namespace    string `json:"namespace"`
	Chart        string `json:"chart"`
	ChartVersion string `json:"chart_version"`
	// Action is installed, upgraded or unchanged.
	Action   string `json:"action"`
	Revision int    `json:"revision"`
	// Attempts is how many Helm runs it took (more than one: the webhook
	// race).
	Attempts int `json:"attempts"`
}

// Ensurer installs or upgrades releases and waits until what each made is
// ready (Readiness).
type Ensurer struct {
	Kube *kube.Clients
	// Attempts bounds the installs of a release that races its webhook
	// (default 6); RetryDelay is the first pause between them, doubled up
	// to a minute (default 10s).
	Attempts   int
	RetryDelay time.Duration
	// Interval between readiness checks; 0: 1s.
	Interval time.Duration
	// WebhookHint names the webhook in the error when it never serves.
	WebhookHint string
	Progress    func(string)
}

func (in *Ensurer) say(format string, args ...any) {
	if in.Progress != nil {
		in.Progress(fmt.Sprintf(format, args...))
	}
}

// Ensure installs (no release yet) or upgrades the release to st's chart
// and values, unless it is deployed with them already, then waits until
// everything it made is ready.
func (in *Ensurer) Ensure(ctx context.Context, st Step) (*StepResult, error) {
	ch, ref, err := st.Source.Load(ctx)
	if err != nil {
		return nil, err
	}
	values, err := Normalize(st.Values)
	if err != nil {
		return nil, err
	}
	cfg, err := Config(in.Kube, st.Namespace, nil)
	if err != nil {
		return nil, err
	}
	last, err := Last(cfg, st.Release)
	if err != nil {
		return nil, err
	}
	r := &StepResult{Release: st.Release, Namespace: st.Namespace, Chart: ch.Name(), ChartVersion: ch.Metadata.Version}
	rel := last
	if last != nil && last.Info != nil && last.Info.Status == release.StatusDeployed && last.Chart != nil &&
		last.Chart.Metadata.Version == ch.Metadata.Version {
		if same, err := SameValues(last.Config, values); err != nil {
			return nil, err
		} else if same {
			r.Action = "unchanged"
		}
	}
	if r.Action == "" {
		rel, err = in.helm(ctx, cfg, st, ch, ref, values, last, r)
		if err != nil {
			return r, err
		}
	}
	r.Revision = rel.Version
	objs, err := Objects(rel, ch)
	if err != nil {
		return r, err
	}
	interval := in.Interval
	if interval <= 0 {
		interval = time.Second
	}
	err = kube.WaitFor(ctx, "release "+st.Release+" to be ready", 0, interval, func(ctx context.Context) (bool, string, error) {
		waiting, err := Readiness(ctx, in.Kube.Client, objs)
		if err != nil {
			return false, "", err
		}
		return waiting == "", waiting, nil
	}, func(s string) { in.say("%s: %s", st.Release, s) })
	if err != nil {
		return r, fmt.Errorf("%s %s: %w", st.Release, ch.Metadata.Version, err)
	}
	in.say("%s %s ready (%s, revision %d)", st.Release, ch.Metadata.Version, r.Action, r.Revision)
	return r, nil
}

// WebhookError is a release whose webhook never answered.
type WebhookError struct {
	Release  string
	Attempts int
	Err      error
	// Hint says whose webhook it is and what to look at.
	Hint string
}

func (e *WebhookError) Error() string {
	hint := ""
	if e.Hint != "" {
		hint = " (" + e.Hint + ")"
	}
	return fmt.Sprintf("%s: an admission webhook of the chart was still not serving after %d attempts%s: %v; "+
		"run the command again once it serves: it upgrades the failed release", e.Release, e.Attempts, hint, e.Err)
}

func (e *WebhookError) Unwrap() error { return e.Err }

// webhookRace reports the failure of a webhook that does not serve yet.
func webhookRace(err error) bool {
	return err != nil && strings.Contains(err.Error(), "failed calling webhook")
}

// helm installs (no release yet) or upgrades (a deployed or failed one)
// the chart; a webhook race is retried, as an upgrade of the failed
// release, up to the bound.
func (in *Ensurer) helm(ctx context.Context, cfg *action.Configuration, st Step, ch *chart.Chart, ref string, values map[string]any, last *release.Release, r *StepResult) (*release.Release, error) {
	attempts, delay := in.Attempts, in.RetryDelay
	if attempts <= 0 {
		attempts = 6
	}
	if delay <= 0 {
		delay = 10 * time.Second
	}
	exists := last != nil
	for {
		r.Attempts++
		var rel *release.Release
		var err error
		if !exists {
			in.say("installing %s from %s into %s", st.Release, ref, st.Namespace)
			act := action.NewInstall(cfg)
			act.ReleaseName, act.Namespace, act.Description = st.Release, st.Namespace, "installed by k0rdentctl"
			act.Timeout = 5 * time.Minute
			rel, err = act.RunWithContext(ctx, ch, values)
			r.Action = "installed"
		} else {
			in.say("upgrading %s to %s in %s", st.Release, ref, st.Namespace)
			act := action.NewUpgrade(cfg)
			act.Namespace, act.Description, act.MaxHistory = st.Namespace, "upgraded by k0rdentctl", 10
			act.Timeout = 5 * time.Minute
			rel, err = act.RunWithContext(ctx, st.Release, ch, values)
			if r.Action == "" {
				r.Action = "upgraded"
			}
		}
		if err == nil {
			return rel, nil
		}
		// From here on the release exists (failed): upgrade it.
		if l, lerr := Last(cfg, st.Release); lerr == nil && l != nil {
			exists = true
		}
		if !st.Webhook || !webhookRace(err) {
			return nil, fmt.Errorf("%s %s into %s: %w", st.Release, ch.Metadata.Version, st.Namespace, err)
		}
		if r.Attempts >= attempts {
			return nil, &WebhookError{Release: st.Release, Attempts: r.Attempts, Err: err, Hint: in.WebhookHint}
		}
		in.say("%s: its admission webhook is not serving yet (attempt %d of %d); trying again in %s", st.Release, r.Attempts, attempts, delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		if delay *= 2; delay > time.Minute {
			delay = time.Minute
		}
	}
}
