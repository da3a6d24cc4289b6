// Package kof installs, checks and removes KOF 1.5 on the management
// cluster: Istio (k0rdent-istio-base, k0rdent-istio) when configured, then
// kof-operators, kof-mothership, kof-regional and kof-child, each a Helm
// release installed through the same Helm SDK path as k0rdent itself, each
// followed by a wait for what "ready" means for it (KOF-1.5-FACTS.md):
// its CRDs established, its Deployments available, the ServiceTemplates
// k0rdent validated, the MultiClusterServices' references valid.
//
// kof-mothership ships an admission webhook of the VictoriaMetrics
// operator together with objects that webhook checks, so its first install
// fails while the operator is not serving yet; that failure, and only it,
// is retried a bounded number of times as an upgrade of the failed
// release.
//
// KOF regional and child clusters (ClusterDeployments labelled for KOF)
// are not made here yet; uninstall refuses while any exist.
package kof
