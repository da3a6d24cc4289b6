package kof

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// Install installs or upgrades KOF on the management cluster.
type Install struct {
	Kube   *kube.Clients
	Config *config.Config
	// BaseDir is the configuration's folder (local chart folders).
	BaseDir string
	// Timeout bounds the whole install; 0: timeouts.kof_install.
	Timeout time.Duration
	// Attempts bounds the installs of a release that races its webhook;
	// 0: kof.mothership.install_attempts, else 6. RetryDelay is the first
	// pause between them, doubled each time up to a minute; 0:
	// kof.mothership.retry_delay, else 10s.
	Attempts   int
	RetryDelay time.Duration
	// Interval between readiness checks; 0: 1s.
	Interval time.Duration
	Progress func(string)
}

// StepResult is what happened to one release.
type StepResult = helmrelease.StepResult

// Result is what Install did.
type Result struct {
	Version        string       `json:"version"`
	K0rdentVersion string       `json:"k0rdent_version"`
	StorageClass   string       `json:"storage_class"`
	Steps          []StepResult `json:"steps"`
}

func (in *Install) say(format string, args ...any) {
	if in.Progress != nil {
		in.Progress(fmt.Sprintf(format, args...))
	}
}

// Run checks compatibility, then installs every release in order and
// waits for each to be ready before the next.
func (in *Install) Run(ctx context.Context) (*Result, error) {
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = time.Duration(in.Config.Timeouts.KOFInstall)
	}
	if timeout <= 0 {
		timeout = config.DefaultTimeoutKOFInstall
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pre, err := Check(ctx, in.Kube, in.Config)
	if err != nil {
		return nil, err
	}
	res := &Result{Version: in.Config.KOF.Version, K0rdentVersion: pre.K0rdentVersion, StorageClass: pre.StorageClass}
	steps := Steps(in.Config, in.BaseDir, pre.StorageClass)
	if err := in.namespaces(ctx); err != nil {
		return nil, err
	}
	for _, st := range steps {
		r, err := in.step(ctx, st)
		if r != nil {
			res.Steps = append(res.Steps, *r)
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// namespaces makes KOF's namespace (labelled for Istio injection when
// Istio is used) and Istio's.
func (in *Install) namespaces(ctx context.Context) error {
	k := in.Config.KOF
	want := map[string]map[string]string{k.Mothership.Namespace: {}}
	if k.Istio.IsEnabled() {
		want[k.Mothership.Namespace]["istio-injection"] = "enabled"
		want[k.Istio.Namespace] = map[string]string{}
	}
	for name, labels := range want {
		ns := &corev1.Namespace{}
		err := in.Kube.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
		switch {
		case apierrors.IsNotFound(err):
			labels["app.kubernetes.io/managed-by"] = "k0rdentctl"
			ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
			if err := in.Kube.Client.Create(ctx, ns); err != nil {
				return fmt.Errorf("creating namespace %s: %w", name, err)
			}
			in.say("created namespace %s", name)
		case err != nil:
			return fmt.Errorf("reading namespace %s: %w", name, err)
		default:
			changed := false
			for k, v := range labels {
				if ns.Labels[k] != v {
					if ns.Labels == nil {
						ns.Labels = map[string]string{}
					}
					ns.Labels[k], changed = v, true
				}
			}
			if changed {
				if err := in.Kube.Client.Update(ctx, ns); err != nil {
					return fmt.Errorf("labelling namespace %s: %w", name, err)
				}
			}
		}
	}
	return nil
}

// step installs or upgrades one release and waits until it is ready.
func (in *Install) step(ctx context.Context, st Step) (*StepResult, error) {
	attempts, delay := in.Attempts, in.RetryDelay
	if attempts <= 0 {
		attempts = in.Config.KOF.Mothership.InstallAttempts
	}
	if delay <= 0 {
		delay = time.Duration(in.Config.KOF.Mothership.RetryDelay)
	}
	e := &helmrelease.Ensurer{Kube: in.Kube, Attempts: attempts, RetryDelay: delay, Interval: in.Interval, Progress: in.Progress,
		WebhookHint: "the VictoriaMetrics operator's, in KOF 1.5; check that its pod runs (kubectl -n kof get pods)"}
	return e.Ensure(ctx, st)
}

// WebhookError is a release whose webhook never answered.
type WebhookError = helmrelease.WebhookError

// Preflight is what Check found.
type Preflight struct {
	K0rdentVersion string
	StorageClass   string
}

// IncompatibleError is a KOF that cannot go with what is installed.
type IncompatibleError struct{ Reason, Fix string }

func (e *IncompatibleError) Error() string { return e.Reason + ": " + e.Fix }

// Usage says the configuration is to change (exit code 2).
func (e *IncompatibleError) Usage() bool { return true }

// Check refuses, before anything is installed, a KOF that does not go with
// the k0rdent installed or with the KOF already there, and finds the
// StorageClass KOF's storage gets.
func Check(ctx context.Context, kc *kube.Clients, cfg *config.Config) (*Preflight, error) {
	c := kc.Client
	k := cfg.KOF
	want, err := k0rdent.ParseVersion(k.Version)
	if err != nil {
		return nil, &IncompatibleError{Reason: fmt.Sprintf("kof.version %q is not a version", k.Version), Fix: "write it as " + config.DefaultKOFVersion}
	}
	obs, err := k0rdent.Installed(ctx, c)
	if err != nil {
		return nil, err
	}
	if obs.Management == nil || obs.Version.IsZero() {
		return nil, &IncompatibleError{Reason: "k0rdent is not installed on this cluster (no Management kcm with a Release)", Fix: "install it first: k0rdentctl k0rdent install, or deploy"}
	}
	p := &Preflight{K0rdentVersion: obs.Version.String()}
	if majorMinor(want) != majorMinor(obs.Version) {
		return nil, &IncompatibleError{
			Reason: fmt.Sprintf("KOF %s does not go with k0rdent %s: each KOF release pairs with the k0rdent release of the same minor version", want, obs.Version),
			Fix:    fmt.Sprintf("set kof.version to a %s.x release (e.g. %s.0), or upgrade k0rdent to %s.x", majorMinor(obs.Version), majorMinor(obs.Version), majorMinor(want)),
		}
	}
	if k.Istio.IsEnabled() && !want.AtLeast("1.5.0") {
		return nil, &IncompatibleError{Reason: fmt.Sprintf("KOF %s uses the kof-istio chart, which k0rdent 1.5 does not support", want), Fix: "set kof.version: 1.5.0 or newer"}
	}
	// What is there already.
	for _, rel := range []struct{ name, ns string }{{ReleaseLegacyIstio, k.Mothership.Namespace}, {ReleaseLegacyIstio, k.Istio.Namespace}, {ReleaseMother, k.Mothership.Namespace}} {
		if rel.ns == "" {
			continue
		}
		hc, err := helmrelease.Config(kc, rel.ns, nil)
		if err != nil {
			return nil, err
		}
		last, err := helmrelease.Last(hc, rel.name)
		if err != nil || last == nil || last.Chart == nil {
			continue
		}
		switch rel.name {
		case ReleaseLegacyIstio:
			return nil, &IncompatibleError{
				Reason: fmt.Sprintf("Helm release %s (KOF <= 1.4's Istio) is installed in %s; KOF 1.5 replaces it with k0rdent-istio, and moving uninstalls KOF on Istio clusters", ReleaseLegacyIstio, rel.ns),
				Fix:    "back up what KOF stores, uninstall the old KOF (helm uninstall in namespace " + rel.ns + "), then run this again",
			}
		case ReleaseMother:
			have, err := k0rdent.ParseVersion(last.Chart.Metadata.Version)
			if err == nil && have.Compare(want) > 0 {
				return nil, &IncompatibleError{Reason: fmt.Sprintf("KOF %s is installed; installing %s would downgrade it", have, want), Fix: fmt.Sprintf("set kof.version: %s", have)}
			}
		}
	}
	p.StorageClass = k.StorageClass
	if p.StorageClass == "" {
		var scs storagev1.StorageClassList
		if err := c.List(ctx, &scs); err != nil {
			return nil, fmt.Errorf("listing StorageClasses: %w", err)
		}
		for _, sc := range scs.Items {
			if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
				p.StorageClass = sc.Name
			}
		}
		if p.StorageClass == "" {
			return nil, &IncompatibleError{Reason: "the management cluster has no default StorageClass, and KOF's storage needs volumes",
				Fix: "set kof.storage_class, or make one the default (on Azure VMs: the Azure disk CSI driver's managed-csi)"}
		}
	} else if err := c.Get(ctx, client.ObjectKey{Name: p.StorageClass}, &storagev1.StorageClass{}); apierrors.IsNotFound(err) {
		return nil, &IncompatibleError{Reason: fmt.Sprintf("StorageClass %s (kof.storage_class) does not exist on the management cluster", p.StorageClass), Fix: "name one that exists (kubectl get storageclass)"}
	}
	return p, nil
}

func majorMinor(v k0rdent.Version) string {
	c := v.Core()
	if i := strings.LastIndexByte(c, '.'); i > 0 {
		return c[:i]
	}
	return c
}
