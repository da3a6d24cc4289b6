package kof

import (
	"maps"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
)

// Release names, the chart names too.
const (
	ReleaseIstioBase = "k0rdent-istio-base"
	ReleaseIstio     = "k0rdent-istio"
	ReleaseOperators = "kof-operators"
	ReleaseMother    = "kof-mothership"
	ReleaseRegional  = "kof-regional"
	ReleaseChild     = "kof-child"
	// ReleaseLegacyIstio is KOF <= 1.4's Istio chart, gone in 1.5.
	ReleaseLegacyIstio = "kof-istio"
)

// Step is one Helm release of KOF on the management cluster.
type Step = helmrelease.Step

// Steps are the releases of the configuration, in install order.
// storageClass is kof-mothership's global.storageClass.
func Steps(cfg *config.Config, baseDir, storageClass string) []Step {
	k := cfg.KOF
	ns := k.Mothership.Namespace
	src := func(name string) Source {
		return Source{Repo: helmrelease.ResolveRepo(k.Charts, baseDir), Name: name, Version: k.Version, Field: "kof.charts", VersionField: "kof.version"}
	}
	var out []Step
	if k.Istio.IsEnabled() {
		isrc := func(name string) Source {
			return Source{Repo: helmrelease.ResolveRepo(k.Istio.Charts, baseDir), Name: name, Version: k.Istio.Version, Field: "kof.istio.charts", VersionField: "kof.istio.version"}
		}
		out = append(out,
			Step{Release: ReleaseIstioBase, Namespace: k.Istio.Namespace, Source: isrc(ReleaseIstioBase), Values: map[string]any{
				"cert-manager-service-template": map[string]any{"enabled": false},
				"injectionNamespaces":           []any{ns},
			}},
			Step{Release: ReleaseIstio, Namespace: k.Istio.Namespace, Source: isrc(ReleaseIstio), Values: map[string]any{
				"istiod": map[string]any{"meshConfig": map[string]any{"extensionProviders": []any{map[string]any{
					"name": "otel-tracing",
					"opentelemetry": map[string]any{
						"port":    4317,
						"service": "kof-collectors-daemon-collector." + ns + ".svc.cluster.local",
					},
				}}}},
			}},
		)
	}
	mother := map[string]any{
		// Without it kof-mothership makes no ServiceTemplates and no
		// HelmRepository, and KOF clusters get nothing.
		"kcm":    map[string]any{"installTemplates": true},
		"global": map[string]any{"storageClass": storageClass},
	}
	mother = merge(mother, k.Mothership.Values)
	mcs := map[string]any{}
	if !k.Istio.IsEnabled() {
		// No Istio MultiClusterServices to depend on.
		mcs["istioMcs"] = map[string]any{"dependsOn": []any{}}
	}
	out = append(out,
		Step{Release: ReleaseOperators, Namespace: ns, Source: src(ReleaseOperators), Values: map[string]any{}},
		Step{Release: ReleaseMother, Namespace: ns, Source: src(ReleaseMother), Values: mother, Webhook: true},
		Step{Release: ReleaseRegional, Namespace: ns, Source: src(ReleaseRegional), Values: maps.Clone(mcs)},
		Step{Release: ReleaseChild, Namespace: ns, Source: src(ReleaseChild), Values: maps.Clone(mcs)},
	)
	return out
}

// merge returns base with over merged into it, maps merged key by key,
// anything else replaced.
func merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = merge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}
