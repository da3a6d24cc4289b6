package k0rdent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// WaitReady waits until the Management kcm is Ready for the Release it
// names: Ready=True for its latest generation, status.release equal to
// spec.release. While waiting it reports the Management's state, with each
// component of status.components, every time it changes.
type WaitReady struct {
	Kube      *kube.Clients
	Namespace string
	// Timeout bounds the wait (DefaultTimeout when zero).
	Timeout time.Duration
	// Interval is the polling interval (DefaultInterval when zero).
	Interval time.Duration
	// Progress receives each change; may be nil.
	Progress func(string)
}

// Run waits and returns the Management's final state with the installed
// version (from its Release).
func (w *WaitReady) Run(ctx context.Context) (*StatusReport, error) {
	obs, err := w.observe(ctx)
	if err != nil {
		return nil, err
	}
	r := &StatusReport{Installed: true, Namespace: w.namespace(), Management: managementState(obs.Management)}
	if obs.Release != nil {
		r.Release = obs.Release.Name
		r.Version = obs.Release.Spec.Version
	}
	return r, nil
}

func (w *WaitReady) namespace() string {
	if w.Namespace == "" {
		return DefaultNamespace
	}
	return w.Namespace
}

func (w *WaitReady) observe(ctx context.Context) (*Observed, error) {
	if w.Kube == nil {
		return nil, errors.New("waiting for k0rdent: no cluster given")
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	what := fmt.Sprintf("Management %s to be Ready", ManagementName)
	obs, err := waitManagement(ctx, w.Kube, what, timeout, interval, w.Progress)
	if err != nil {
		var te *kube.WaitTimeoutError
		if errors.As(err, &te) {
			return obs, fmt.Errorf("%w\n%s", err, readyHint(obs, w.namespace()))
		}
		return obs, err
	}
	return obs, nil
}

// readyHint says what to look at when the Management did not get Ready.
func readyHint(o *Observed, ns string) string {
	switch {
	case o == nil || !o.CRDsServed:
		return "the k0rdent CRDs are not installed: install k0rdent first (k0rdentctl k0rdent install)"
	case o.Management == nil:
		return fmt.Sprintf("the kcm controller creates Management %s when it starts (chart value controller.createManagement, on by default): check that Deployment %s/%s is running and read its log", ManagementName, ns, ControllerDeployment)
	case o.Release == nil:
		return fmt.Sprintf("Management %s names Release %s, which does not exist: check `k0rdentctl k0rdent status` and the Releases on the cluster", ManagementName, o.Management.Spec.Release)
	default:
		return fmt.Sprintf("the components listed above are not healthy yet: their Flux HelmReleases in %s say why; then run this again, it resumes the wait", ns)
	}
}
