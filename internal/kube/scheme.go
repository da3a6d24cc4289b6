// Package kube is k0rdentctl's adapter to Kubernetes: clients built from an
// explicit kubeconfig (KUBECONFIG is never read), a scheme that knows the
// k0rdent API, server-side apply, waiting with progress, a transport that
// retries transient failures, and a RESTClientGetter for the Helm SDK.
//
// It talks to the API server and nothing else; what to do with k0rdent's
// objects is decided by the domain packages (internal/k0rdent and others).
package kube

import (
	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// NewScheme returns a new scheme with the client-go types (core, apps, RBAC,
// ...), apiextensions/v1 (CustomResourceDefinition) and k0rdent's
// k0rdent.mirantis.com/v1beta1 API (Management, Release, Region, Credential,
// ClusterDeployment, ...). Each call returns a fresh scheme.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	// These only fail on conflicting registrations, a programming error that
	// every test would show.
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(kcmv1.AddToScheme(s))
	return s
}
