package kube

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// FieldManager is the field manager of every change k0rdentctl makes with
// server-side apply.
const FieldManager = "k0rdentctl"

// Apply creates or updates obj with server-side apply, as field manager
// k0rdentctl, taking ownership of the fields it sets even when another manager
// owns them (force). obj should hold only the fields k0rdentctl means to own:
// fields left out are not cleared when another manager set them, and fields
// k0rdentctl applied before and leaves out now are removed.
//
// obj's apiVersion and kind are filled in from c's scheme, its
// resourceVersion and managedFields are cleared (apply states intent; it is
// not an update of what was read), and on success obj holds the object as
// the API server returned it.
func Apply(ctx context.Context, c client.Client, obj client.Object) error {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return fmt.Errorf("applying %s: %w", describe(obj, ""), err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	obj.SetResourceVersion("")
	obj.SetManagedFields(nil)
	//nolint:staticcheck // client.Apply works for typed objects, which the newer Client.Apply does not take.
	if err := c.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s: %w", describe(obj, gvk.Kind), err)
	}
	// The decoded answer has no type meta for typed objects; keep it so that
	// callers can apply obj again.
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
}

// describe names an object in messages: "Region regional-useast",
// "Secret kcm-system/azure-credentials".
func describe(obj client.Object, kind string) string {
	if kind == "" {
		kind = obj.GetObjectKind().GroupVersionKind().Kind
	}
	if kind == "" {
		kind = fmt.Sprintf("%T", obj)
	}
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", kind, ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", kind, obj.GetName())
}
