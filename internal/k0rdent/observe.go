package k0rdent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// Observed is what the management cluster says about k0rdent.
type Observed struct {
	// CRDsServed says whether the API server serves k0rdent's Management
	// kind (the chart's CRDs are installed).
	CRDsServed bool
	// Management is the Management kcm, nil when it does not exist.
	Management *kcmv1.Management
	// Release is the Release named by Management.spec.release, nil when
	// there is no Management or that Release does not exist.
	Release *kcmv1.Release
	// Version is Release.spec.version: the installed k0rdent version. Zero
	// when it cannot be known from a Release.
	Version Version
}

// observeManagement reads the Management kcm and the Release it names.
func observeManagement(ctx context.Context, c client.Client) (*Observed, error) {
	o := &Observed{CRDsServed: true}
	mgmt := &kcmv1.Management{}
	err := c.Get(ctx, client.ObjectKey{Name: ManagementName}, mgmt)
	switch {
	case meta.IsNoMatchError(err):
		o.CRDsServed = false
		return o, nil
	case apierrors.IsNotFound(err):
		return o, nil
	case err != nil:
		return nil, fmt.Errorf("reading Management %s: %w", ManagementName, err)
	}
	o.Management = mgmt
	if mgmt.Spec.Release == "" {
		return o, nil
	}
	rel := &kcmv1.Release{}
	err = c.Get(ctx, client.ObjectKey{Name: mgmt.Spec.Release}, rel)
	switch {
	case apierrors.IsNotFound(err):
		return o, nil
	case err != nil:
		return nil, fmt.Errorf("reading Release %s (named by Management %s): %w", mgmt.Spec.Release, ManagementName, err)
	}
	o.Release = rel
	if v, err := ParseVersion(rel.Spec.Version); err == nil {
		o.Version = v
	}
	return o, nil
}

// ManagementState is the readiness of the Management kcm.
type ManagementState struct {
	Exists bool `json:"exists"`
	Ready  bool `json:"ready"`
	// Reason and Message are those of the Ready condition.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Release is spec.release; StatusRelease is status.release, the Release
	// the controller last reconciled (they differ during an upgrade).
	Release       string `json:"release,omitempty"`
	StatusRelease string `json:"status_release,omitempty"`
	// Observed says whether the controller has seen the latest spec.
	Observed   bool             `json:"observed"`
	Components []ComponentState `json:"components,omitempty"`
}

// ComponentState is one entry of Management.status.components.
type ComponentState struct {
	Name     string `json:"name"`
	Success  bool   `json:"success"`
	Error    string `json:"error,omitempty"`
	Template string `json:"template,omitempty"`
}

// managementState summarises a Management (nil: it does not exist).
func managementState(m *kcmv1.Management) ManagementState {
	if m == nil {
		return ManagementState{}
	}
	s := ManagementState{
		Exists:        true,
		Release:       m.Spec.Release,
		StatusRelease: m.Status.Release,
		Observed:      m.Status.ObservedGeneration == m.Generation,
	}
	if cond := meta.FindStatusCondition(m.Status.Conditions, kcmv1.ReadyCondition); cond != nil {
		s.Reason, s.Message = cond.Reason, cond.Message
		s.Ready = cond.Status == metav1.ConditionTrue
	}
	s.Components = ComponentStates(m.Status.Components)
	return s
}

// ComponentStates lists the components of a Management's or a Region's
// status by name.
func ComponentStates(m map[string]kcmv1.ComponentStatus) []ComponentState {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []ComponentState
	for _, name := range names {
		c := m[name]
		out = append(out, ComponentState{Name: name, Success: c.Success, Error: c.Error, Template: c.Template})
	}
	return out
}

// Done says whether the Management is Ready for its current spec and
// Release: Ready=True, observedGeneration current, status.release ==
// spec.release.
func (s ManagementState) Done() bool {
	return s.Exists && s.Ready && s.Observed && s.Release != "" && s.StatusRelease == s.Release
}

// Summary is one line for progress output: "Ready=False
// NotAllComponentsHealthy · 3/4 components healthy · capi ✗ installing".
func (s ManagementState) Summary() string {
	if !s.Exists {
		return fmt.Sprintf("Management %s does not exist yet", ManagementName)
	}
	var parts []string
	switch {
	case s.Reason == "":
		parts = append(parts, "Ready condition not set yet")
	case s.Ready:
		parts = append(parts, "Ready="+"True "+s.Reason)
	default:
		parts = append(parts, "Ready=False "+s.Reason)
	}
	if !s.Observed {
		parts = append(parts, "controller has not seen the latest spec")
	}
	switch {
	case s.StatusRelease == "" && s.Release != "":
		parts = append(parts, fmt.Sprintf("Release %s not reconciled yet", s.Release))
	case s.StatusRelease != s.Release:
		parts = append(parts, fmt.Sprintf("moving from Release %s to %s", s.StatusRelease, s.Release))
	}
	parts = append(parts, ComponentsSummary(s.Components)...)
	return strings.Join(parts, " · ")
}

// ComponentsSummary describes the components k0rdent reports in a
// Management's or a Region's status: "3/4 components healthy" followed by
// "name: error" (or "name: installing") for each one that is not; nothing
// when there are none.
func ComponentsSummary(cs []ComponentState) []string {
	if len(cs) == 0 {
		return nil
	}
	healthy := 0
	var bad []string
	for _, c := range cs {
		if c.Success {
			healthy++
			continue
		}
		what := "installing"
		if c.Error != "" {
			what = c.Error
		}
		bad = append(bad, c.Name+": "+what)
	}
	return append([]string{fmt.Sprintf("%d/%d components healthy", healthy, len(cs))}, bad...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// waitManagement waits until the Management kcm is Ready for spec.release,
// reporting every change of its state (each component's) through progress.
func waitManagement(ctx context.Context, kc *kube.Clients, what string, timeout, interval time.Duration, progress func(string)) (*Observed, error) {
	var last *Observed
	err := kube.WaitFor(ctx, what, timeout, interval, func(ctx context.Context) (bool, string, error) {
		o, err := observeManagement(ctx, kc.Client)
		if err != nil {
			if kube.Interrupted(ctx, err) {
				return false, "", context.DeadlineExceeded
			}
			// Transient: the API server may be busy while the chart rolls out.
			return false, "cannot read Management: " + err.Error(), nil
		}
		last = o
		if !o.CRDsServed {
			return false, "k0rdent CRDs are not served yet", nil
		}
		st := managementState(o.Management)
		if st.Exists && st.Release != "" && o.Release == nil {
			return false, fmt.Sprintf("%s · Release %s not found", st.Summary(), st.Release), nil
		}
		return st.Done(), st.Summary(), nil
	}, progress)
	return last, err
}

// Installed reads the Management kcm and the Release it names: what
// k0rdent is installed, for others that depend on its version.
func Installed(ctx context.Context, c client.Client) (*Observed, error) {
	return observeManagement(ctx, c)
}
