package k0rdent

import (
	"fmt"
	"strings"
)

// DowngradeError refuses to install a version older than the one installed.
// It is a guard: the CLI maps it to exit code 3, and Force overrides it.
type DowngradeError struct {
	Installed string // the installed k0rdent version (from the Release)
	Wanted    string // the chart version that was asked for
}

func (e *DowngradeError) Error() string {
	return fmt.Sprintf("refusing to downgrade k0rdent from %s to %s: k0rdent does not support downgrades (CRDs and stored objects may not go back); set software.k0rdent.version to %s or newer, or pass --force if you have a backup and accept the risk", e.Installed, e.Wanted, e.Installed)
}

// Refused marks the error as a guard (exit code 3).
func (e *DowngradeError) Refused() bool { return true }

// UnsupportedUpgradeError is an upgrade k0rdent itself does not support
// (from before 1.0.0, whose API was v1alpha1). Force does not override it.
type UnsupportedUpgradeError struct {
	Installed, Wanted string
}

func (e *UnsupportedUpgradeError) Error() string {
	return fmt.Sprintf("cannot upgrade k0rdent from %s to %s directly: versions before 1.0.0 use the v1alpha1 API; upgrade to 1.0.0 first (k0rdent's own upgrade guide), then run this again", e.Installed, e.Wanted)
}

// Refused marks the error as a guard (exit code 3).
func (e *UnsupportedUpgradeError) Refused() bool { return true }

// NotInstalledError says that k0rdent is not installed where an operation
// needs it (upgrade, wait).
type NotInstalledError struct {
	Namespace string
	Where     string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("k0rdent is not installed on %s: there is no Helm release %q in namespace %s; install it with: k0rdentctl k0rdent install", e.Where, HelmReleaseName, e.Namespace)
}

// ObjectRef names one Kubernetes object in errors and reports.
type ObjectRef struct {
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Name       string   `json:"name"`
	Finalizers []string `json:"finalizers,omitempty"`
	// Deleting is true when the object has a deletion timestamp.
	Deleting bool `json:"deleting,omitempty"`

	apiVersion string
}

func (o ObjectRef) String() string {
	if o.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
	}
	return fmt.Sprintf("%s %s", o.Kind, o.Name)
}

// listObjects formats up to max objects, one a line, indented.
func listObjects(objs []ObjectRef, max int, withFinalizers bool) string {
	var b strings.Builder
	for i, o := range objs {
		if i == max {
			fmt.Fprintf(&b, "\n  ... and %d more", len(objs)-max)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(o.String())
		if withFinalizers && len(o.Finalizers) > 0 {
			fmt.Fprintf(&b, " (finalizers: %s)", strings.Join(o.Finalizers, ", "))
		}
	}
	return b.String()
}

// InUseError refuses to uninstall k0rdent while objects that the uninstall
// would delete with the CRDs exist. It is a guard: exit code 3; Force deletes
// them first.
type InUseError struct {
	Objects []ObjectRef
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("refusing to uninstall k0rdent: the chart's CRDs have no keep policy, so uninstalling would delete these %d objects with them (and the cloud resources of ClusterDeployments would be left behind):%s\ndelete them first (the regions with k0rdentctl region remove, the other objects with kubectl delete), or pass --force to have k0rdentctl delete them and wait until they are gone", len(e.Objects), listObjects(e.Objects, 20, false))
}

// Refused marks the error as a guard (exit code 3).
func (e *InUseError) Refused() bool { return true }

// StuckError says that objects being deleted did not go away in time because
// finalizers hold them: no controller is left to clear them, or it fails.
type StuckError struct {
	Objects []ObjectRef
	// Timeout is how long was waited.
	Timeout string
}

func (e *StuckError) Error() string {
	return fmt.Sprintf("%d objects are still being deleted after %s, held by finalizers:%s\nthe k0rdent controllers clear these finalizers once they have cleaned up (for a ClusterDeployment: its cloud resources). Check that kcm-controller-manager is running and read its log; if the controller is gone for good and you accept that what it would have cleaned up is left behind (check your Azure subscription for leftover resources), run the uninstall again with --remove-finalizers", len(e.Objects), e.Timeout, listObjects(e.Objects, 20, true))
}
