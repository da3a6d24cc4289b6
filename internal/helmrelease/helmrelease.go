// Package helmrelease is the little of the Helm SDK k0rdentctl's installs
// share: an action configuration on a cluster, the newest revision of a
// release, values compared as Helm stores them, a chart pulled from an OCI
// registry or read from a directory or .tgz, and what a release looks like
// in status output.
package helmrelease

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// Config is a Helm action configuration on the cluster of kc, storing
// releases as Secrets in namespace (Helm's default driver).
func Config(kc *kube.Clients, namespace string, debug func(string)) (*action.Configuration, error) {
	cfg := new(action.Configuration)
	logf := func(format string, v ...any) {
		if debug != nil {
			debug(fmt.Sprintf(format, v...))
		}
	}
	if err := cfg.Init(kc.RESTClientGetter(namespace), namespace, "secret", logf); err != nil {
		return nil, fmt.Errorf("preparing Helm for namespace %s on %s: %w", namespace, kc.Where(), err)
	}
	return cfg, nil
}

// Last is the newest revision of release name, nil when there is none.
func Last(cfg *action.Configuration, name string) (*release.Release, error) {
	rel, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Helm release %s: %w", name, err)
	}
	return rel, nil
}

// SameValues reports whether two value sets are the same once both are
// written out as YAML and read back (so that int and float64, nil and empty
// maps compare as Helm stores them).
func SameValues(a, b map[string]any) (bool, error) {
	na, err := Normalize(a)
	if err != nil {
		return false, err
	}
	nb, err := Normalize(b)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(na, nb), nil
}

// Normalize writes values out as YAML and reads them back.
func Normalize(v map[string]any) (map[string]any, error) {
	if len(v) == 0 {
		return map[string]any{}, nil
	}
	data, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding chart values: %w", err)
	}
	out := map[string]any{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("decoding chart values: %w", err)
	}
	return out, nil
}

// RegistryOptions reach a private or mirrored OCI registry.
type RegistryOptions struct {
	Username, Password string
	// PlainHTTP talks HTTP instead of HTTPS (a local mirror).
	PlainHTTP bool
	// CredentialsFile is a registry credentials file (Helm's or Docker's
	// config.json format); empty means Helm's default.
	CredentialsFile string
}

// PullOCI pulls ref:version with Helm's registry client (no helm binary,
// no repository cache). what names the chart in errors; versionField and
// chartField name the settings that choose it.
func PullOCI(ref, version string, opts RegistryOptions, what, versionField, chartField string) (*chart.Chart, string, error) {
	if version == "" {
		return nil, "", fmt.Errorf("%s %s: no version given; set %s", what, ref, versionField)
	}
	clientOpts := []registry.ClientOption{registry.ClientOptWriter(io.Discard), registry.ClientOptEnableCache(true)}
	if opts.Username != "" || opts.Password != "" {
		clientOpts = append(clientOpts, registry.ClientOptBasicAuth(opts.Username, opts.Password))
	}
	if opts.PlainHTTP {
		clientOpts = append(clientOpts, registry.ClientOptPlainHTTP())
	}
	if opts.CredentialsFile != "" {
		clientOpts = append(clientOpts, registry.ClientOptCredentialsFile(opts.CredentialsFile))
	}
	rc, err := registry.NewClient(clientOpts...)
	if err != nil {
		return nil, "", fmt.Errorf("creating a registry client for %s: %w", ref, err)
	}
	full := strings.TrimPrefix(ref, "oci://") + ":" + version
	res, err := rc.Pull(full, registry.PullOptWithChart(true))
	if err != nil {
		return nil, "", fmt.Errorf("pulling the %s %s:%s: %w; check the version (%s), that this machine reaches the registry, and for a private registry its credentials; air-gapped: set %s to a local chart", what, ref, version, err, versionField, chartField)
	}
	ch, err := loader.LoadArchive(strings.NewReader(string(res.Chart.Data)))
	if err != nil {
		return nil, "", fmt.Errorf("reading the %s pulled from %s:%s: %w", what, ref, version, err)
	}
	return ch, ref + ":" + version, nil
}

// Info describes a Helm release.
type Info struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Revision     int    `json:"revision"`
	Status       string `json:"status"`
	Chart        string `json:"chart"`
	ChartVersion string `json:"chart_version"`
	Updated      string `json:"updated,omitempty"`
	Description  string `json:"description,omitempty"`
}

// InfoOf describes rel; nil for nil.
func InfoOf(rel *release.Release) *Info {
	if rel == nil {
		return nil
	}
	h := &Info{Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Version}
	if rel.Info != nil {
		h.Status = rel.Info.Status.String()
		h.Description = rel.Info.Description
		if !rel.Info.LastDeployed.IsZero() {
			h.Updated = rel.Info.LastDeployed.UTC().Format("2006-01-02T15:04:05Z")
		}
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		h.Chart = rel.Chart.Metadata.Name
		h.ChartVersion = rel.Chart.Metadata.Version
	}
	return h
}
