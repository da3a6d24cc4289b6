package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestCredentialsSetupThroughTheCLI: `credentials setup` makes the Secret,
// the AzureClusterIdentity, the Credential and the resource-template
// ConfigMap from the user's service principal, accepted by the real kcm and
// CAPZ CRDs; the stand-in (as kcm 1.5.0) marks the Credential ready; a second
// run changes nothing; `credentials status` reads it back; an incomplete
// principal is refused before anything is made; and the client secret
// appears in no output and no file of the state folder.
func TestCredentialsSetupThroughTheCLI(t *testing.T) {
	w := regionalWorldOn(t, rgStartClusters(t, 1)[0], nil)
	w.startStandIns("1.5.0")
	c, ctx := w.mgmt.Client, t.Context()
	const clientID, tenantID = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000"
	const secret = "s3cr3t-value-never-shown-9f2a"
	w.k0rdentKeys = "    version: \"1.5.0\"\n    credential:\n      client_id: " + clientID + "\n"
	w.writeConfig(`        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast`)
	flags := []string{"-c", w.cfgPath}
	var outputs []string
	run := func(args ...string) opsResult {
		r := cliRun(t, append(args, flags...)...)
		outputs = append(outputs, r.out, r.err)
		return r
	}
	t.Setenv("AZURE_TENANT_ID", tenantID)
	t.Setenv("AZURE_CLIENT_SECRET", "")

	// No secret: refused before anything is made, naming where to give it.
	if r := run("credentials", "setup"); r.code != 2 || !strings.Contains(r.err, "AZURE_CLIENT_SECRET") {
		t.Fatalf("setup without a secret: exit %d: %s", r.code, r.err)
	}
	rgNotFound(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential}, &kcmv1.Credential{})

	t.Setenv("AZURE_CLIENT_SECRET", secret)
	// k0rdent not installed (no namespace): says so.
	if r := run("credentials", "setup"); r.code == 0 || !strings.Contains(r.err, "install k0rdent first") {
		t.Fatalf("setup without k0rdent's namespace: exit %d: %s", r.code, r.err)
	}
	rgMust(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rgNamespace}}))

	if r := run("credentials", "setup", "--timeout", "1m"); r.code != 0 {
		t.Fatalf("credentials setup: exit %d", r.code)
	}
	sec := &corev1.Secret{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentitySecret}, sec)
	if string(sec.Data["clientSecret"]) != secret || sec.Labels["k0rdent.mirantis.com/component"] != "kcm" {
		t.Errorf("Secret: labels %v, clientSecret set: %t", sec.Labels, string(sec.Data["clientSecret"]) == secret)
	}
	idty := &unstructured.Unstructured{}
	idty.SetAPIVersion("infrastructure.cluster.x-k8s.io/v1beta1")
	idty.SetKind("AzureClusterIdentity")
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentity}, idty)
	spec, _, _ := unstructured.NestedMap(idty.Object, "spec")
	allowed, hasAllowed, _ := unstructured.NestedMap(idty.Object, "spec", "allowedNamespaces")
	if spec["clientID"] != clientID || spec["tenantID"] != tenantID || spec["type"] != "ServicePrincipal" || !hasAllowed || len(allowed) != 0 {
		t.Errorf("AzureClusterIdentity spec: %v", spec)
	}
	if ref, _, _ := unstructured.NestedStringMap(idty.Object, "spec", "clientSecret"); ref["name"] != rgIdentitySecret || ref["namespace"] != rgNamespace {
		t.Errorf("AzureClusterIdentity clientSecret: %v", ref)
	}
	cred := &kcmv1.Credential{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential}, cred)
	if !cred.Status.Ready || cred.Spec.IdentityRef == nil || cred.Spec.IdentityRef.Name != rgIdentity || cred.Spec.IdentityRef.Kind != "AzureClusterIdentity" {
		t.Errorf("Credential: ready %t, identityRef %+v", cred.Status.Ready, cred.Spec.IdentityRef)
	}
	cm := &corev1.ConfigMap{}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentity + "-resource-template"}, cm)
	if cm.Annotations["projectsveltos.io/template"] != "true" || !strings.Contains(cm.Data["configmap.yaml"], "azure-cloud-provider") {
		t.Errorf("resource template: annotations %v", cm.Annotations)
	}

	// Again: nothing changes.
	versions := []string{sec.ResourceVersion, idty.GetResourceVersion(), cred.ResourceVersion, cm.ResourceVersion}
	if r := run("credentials", "setup"); r.code != 0 {
		t.Fatalf("second credentials setup: exit %d", r.code)
	}
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentitySecret}, sec)
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentity}, idty)
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgCredential}, cred)
	rgGet(t, c, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentity + "-resource-template"}, cm)
	if now := []string{sec.ResourceVersion, idty.GetResourceVersion(), cred.ResourceVersion, cm.ResourceVersion}; strings.Join(now, ",") != strings.Join(versions, ",") {
		t.Errorf("the second setup changed objects: resourceVersions %v, then %v", versions, now)
	}

	if r := run("credentials", "status", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"ready": true`) {
		t.Fatalf("credentials status: exit %d: %s", r.code, r.out)
	}
	for _, o := range outputs {
		if strings.Contains(o, secret) {
			t.Fatalf("the client secret was printed:\n%s", o)
		}
	}
	rgMust(t, filepath.Walk(filepath.Dir(w.cfgPath), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
			t.Errorf("the client secret is in %s", p)
		}
		return nil
	}))
}
