package helmrelease

import (
	"context"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Object is one object a release made, as its manifest names it.
type Object struct {
	gvk       schema.GroupVersionKind
	namespace string
	name      string
}

func (o Object) String() string {
	if o.namespace == "" {
		return o.gvk.Kind + " " + o.name
	}
	return o.gvk.Kind + " " + o.namespace + "/" + o.name
}

// Objects lists what the release made: its manifest's objects and the
// CRDs of the chart's crds/ folder (Helm installs those apart).
func Objects(rel *release.Release, ch *chart.Chart) ([]Object, error) {
	var out []Object
	add := func(doc []byte) error {
		var m struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name, Namespace string
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return err
		}
		if m.Kind == "" {
			return nil
		}
		gv, err := schema.ParseGroupVersion(m.APIVersion)
		if err != nil {
			return err
		}
		ns := m.Metadata.Namespace
		if ns == "" && namespaced(m.Kind) {
			ns = rel.Namespace
		}
		out = append(out, Object{gvk: gv.WithKind(m.Kind), namespace: ns, name: m.Metadata.Name})
		return nil
	}
	for _, doc := range releaseutil.SplitManifests(rel.Manifest) {
		if err := add([]byte(doc)); err != nil {
			return nil, fmt.Errorf("reading the manifest of release %s: %w", rel.Name, err)
		}
	}
	if ch != nil {
		for _, crd := range ch.CRDObjects() {
			for _, doc := range releaseutil.SplitManifests(string(crd.File.Data)) {
				if err := add([]byte(doc)); err != nil {
					return nil, fmt.Errorf("reading CRD %s of chart %s: %w", crd.Filename, ch.Name(), err)
				}
			}
		}
	}
	return out, nil
}

// namespaced: the kinds KOF's charts make that live in a namespace, when
// the manifest leaves it to the release's.
func namespaced(kind string) bool {
	switch kind {
	case "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "MultiClusterService", "Namespace",
		"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "StorageClass", "PriorityClass", "ClusterProfile":
		return false
	}
	return true
}

// Readiness checks what ready means for each object: a CRD established, a
// Deployment available, a DaemonSet's pods ready on every node it wants, a ServiceTemplate validated by k0rdent, a
// MultiClusterService whose references k0rdent found valid; anything else
// existing. It returns what is not ready yet ("" when all are).
func Readiness(ctx context.Context, c client.Client, objs []Object) (string, error) {
	var waiting []string
	for _, o := range objs {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(o.gvk)
		err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.name}, u)
		if apierrors.IsNotFound(err) {
			waiting = append(waiting, o.String()+" does not exist")
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", o, err)
		}
		if why := notReady(o.gvk.Kind, u); why != "" {
			waiting = append(waiting, o.String()+" "+why)
		}
	}
	return strings.Join(waiting, "; "), nil
}

func notReady(kind string, u *unstructured.Unstructured) string {
	switch kind {
	case "CustomResourceDefinition":
		if !condition(u, "Established") {
			return "is not established"
		}
	case "Deployment":
		want, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		if !found {
			want = 1
		}
		have, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
		if have < want || !condition(u, "Available") {
			return fmt.Sprintf("has %d of %d replicas available", have, want)
		}
	case "DaemonSet":
		gen, _, _ := unstructured.NestedInt64(u.Object, "metadata", "generation")
		seen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		want, _, _ := unstructured.NestedInt64(u.Object, "status", "desiredNumberScheduled")
		have, _, _ := unstructured.NestedInt64(u.Object, "status", "numberReady")
		if seen < gen {
			return "is not rolled out yet"
		}
		if have < want {
			return fmt.Sprintf("has %d of %d pods ready", have, want)
		}
	case "ServiceTemplate":
		if valid, _, _ := unstructured.NestedBool(u.Object, "status", "valid"); !valid {
			msg, _, _ := unstructured.NestedString(u.Object, "status", "validationError")
			if msg == "" {
				msg = "not validated by k0rdent yet"
			}
			return "is not valid (" + msg + ")"
		}
	case "MultiClusterService":
		if !condition(u, "ServicesReferencesValidation") {
			return "has references k0rdent has not found valid yet"
		}
	}
	return ""
}

// condition reports whether status.conditions has type t with status True.
func condition(u *unstructured.Unstructured, t string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == t && m["status"] == "True" {
			return true
		}
	}
	return false
}
