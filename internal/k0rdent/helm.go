package k0rdent

import (
	"errors"
	"fmt"
	"reflect"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// helmConfig is a Helm action configuration on the cluster of kc, storing
// releases as Secrets in namespace (Helm's default driver).
func helmConfig(kc *kube.Clients, namespace string, debug func(string)) (*action.Configuration, error) {
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

// lastRelease is the newest revision of the kcm Helm release, nil when there
// is none.
func lastRelease(cfg *action.Configuration) (*release.Release, error) {
	rel, err := cfg.Releases.Last(HelmReleaseName)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Helm release %s: %w", HelmReleaseName, err)
	}
	return rel, nil
}

// sameValues reports whether two value sets are the same once both are
// written out as YAML and read back (so that int and float64, nil and empty
// maps compare as Helm stores them).
func sameValues(a, b map[string]any) (bool, error) {
	na, err := normalize(a)
	if err != nil {
		return false, err
	}
	nb, err := normalize(b)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(na, nb), nil
}

func normalize(v map[string]any) (map[string]any, error) {
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

// HelmInfo describes the kcm Helm release.
type HelmInfo struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Revision     int    `json:"revision"`
	Status       string `json:"status"`
	Chart        string `json:"chart"`
	ChartVersion string `json:"chart_version"`
	Updated      string `json:"updated,omitempty"`
	Description  string `json:"description,omitempty"`
}

func helmInfo(rel *release.Release) *HelmInfo {
	if rel == nil {
		return nil
	}
	h := &HelmInfo{Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Version}
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
