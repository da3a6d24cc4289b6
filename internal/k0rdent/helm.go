package k0rdent

import (
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"

	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// helmConfig is a Helm action configuration on the cluster of kc.
func helmConfig(kc *kube.Clients, namespace string, debug func(string)) (*action.Configuration, error) {
	return helmrelease.Config(kc, namespace, debug)
}

// lastRelease is the newest revision of the kcm Helm release, nil when there
// is none.
func lastRelease(cfg *action.Configuration) (*release.Release, error) {
	return helmrelease.Last(cfg, HelmReleaseName)
}

var (
	sameValues = helmrelease.SameValues
	normalize  = helmrelease.Normalize
)

// HelmInfo describes the kcm Helm release.
type HelmInfo = helmrelease.Info

func helmInfo(rel *release.Release) *HelmInfo { return helmrelease.InfoOf(rel) }
