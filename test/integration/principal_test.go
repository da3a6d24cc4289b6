package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/azure"
	"github.com/k0rdentctl/k0rdentctl/internal/cli"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/graphsim"
)

// azureSims are ARM and Microsoft Graph for a k0rdentctl run in-process.
type azureSims struct {
	arm   *armsim.Sim
	graph *graphsim.Server
	hooks cli.Hooks
}

func newAzureSims(t *testing.T, lag int) *azureSims {
	t.Helper()
	s := &azureSims{arm: armsim.New(armsim.Options{})}
	s.graph = graphsim.New(graphsim.Options{Lag: lag, OnDelete: s.arm.RemovePrincipal})
	t.Cleanup(s.graph.Close)
	s.hooks = cli.Hooks{Azure: func(*config.Config) (*cli.AzureAccess, error) {
		return &cli.AzureAccess{
			Session:       &azure.Session{Subscription: s.arm.SubscriptionID(), Credential: armsim.Credential(), Options: s.arm.ClientOptions()},
			GraphEndpoint: s.graph.Endpoint(), GraphOptions: s.graph.ClientOptions(), ReplicationRetry: time.Millisecond,
		}, nil
	}}
	return s
}

// run runs k0rdentctl on w with the simulations as Azure.
func (s *azureSims) run(t *testing.T, w *regionalWorld, args ...string) opsResult {
	t.Helper()
	return cliRunWith(t, s.hooks, append(args, "-c", w.cfgPath, "--state-dir", w.stateDir)...)
}

// TestCreatedServicePrincipalLifecycle: with create_principal, credentials
// setup creates the application, its service principal, a password and the
// Contributor assignment (through Graph with replication lag, and ARM),
// and the Credential's objects from them; a second run creates nothing.
// rotate adds a password, and removes the old one only once every region
// holds the new secret: a region that does not leaves the rotation
// unfinished (exit 1) and the old password valid, and the next run takes
// the same new password up. cleanup refuses while a cluster uses the
// Credential, then deletes the role assignment before the application. No
// secret reaches output, record or events.
func TestCreatedServicePrincipalLifecycle(t *testing.T) {
	w := newRegionalWorld(t, 2, true)
	w.k0rdentKeys = "    version: \"1.5.0\"\n    credential:\n      create_principal: true\n"
	opsTwoRegions(t, w)
	az := newAzureSims(t, 2)
	mc, ctx := w.mgmt.Client, t.Context()
	var outputs []string
	run := func(args ...string) opsResult {
		r := az.run(t, w, args...)
		outputs = append(outputs, r.out, r.err)
		return r
	}
	secretKey := client.ObjectKey{Namespace: rgNamespace, Name: rgIdentitySecret}

	// 1. setup creates the principal and the Credential's objects from it.
	if r := run("credentials", "setup", "--timeout", "1m"); r.code != 0 {
		t.Fatalf("credentials setup: exit %d", r.code)
	}
	apps := az.graph.Applications()
	if len(apps) != 1 || len(apps[0].PasswordKeys) != 1 || len(az.graph.ServicePrincipals()) != 1 {
		t.Fatalf("Entra ID holds %+v and service principals %v; want one application with one password and its principal", apps, az.graph.ServicePrincipals())
	}
	rec := opsRecord(t, w)
	if !strings.HasSuffix(apps[0].DisplayName, "-cluster-deployment-sp") || !strings.HasPrefix(apps[0].DisplayName, rec.DeploymentID) {
		t.Errorf("application %q: want <deployment id>-cluster-deployment-sp", apps[0].DisplayName)
	}
	ras := az.arm.RoleAssignments()
	if len(ras) != 1 || ras[0].PrincipalID != az.graph.ServicePrincipals()[0] || !strings.HasSuffix(ras[0].RoleDefinitionID, armsim.RoleContributor) {
		t.Fatalf("role assignments %+v: want Contributor for the new service principal", ras)
	}
	sec := &corev1.Secret{}
	rgGet(t, mc, secretKey, sec)
	if string(sec.Data["clientSecret"]) != az.graph.Secrets()[0] {
		t.Error("the identity Secret does not hold the new password's secret")
	}
	idty := &unstructured.Unstructured{}
	idty.SetAPIVersion("infrastructure.cluster.x-k8s.io/v1beta1")
	idty.SetKind("AzureClusterIdentity")
	rgGet(t, mc, client.ObjectKey{Namespace: rgNamespace, Name: rgIdentity}, idty)
	if id, _, _ := unstructured.NestedString(idty.Object, "spec", "clientID"); id != apps[0].AppID {
		t.Errorf("AzureClusterIdentity clientID %q, want the new application's %q", id, apps[0].AppID)
	}
	if tid, _, _ := unstructured.NestedString(idty.Object, "spec", "tenantID"); tid != az.graph.TenantID() {
		t.Errorf("AzureClusterIdentity tenantID %q, want Graph's organization %q", tid, az.graph.TenantID())
	}
	p := rec.AzurePrincipal
	if p == nil || p.ClientID != apps[0].AppID || p.RoleAssignmentID != ras[0].ID || p.PasswordKeyID != apps[0].PasswordKeys[0] {
		t.Fatalf("recorded principal %+v", p)
	}
	if fi, err := os.Stat(p.SecretFile); err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(p.SecretFile) != filepath.Join(w.stateDir, "secrets") {
		t.Errorf("secret file %s: %v %v; want 0600 under state/secrets", p.SecretFile, fi, err)
	}

	// credentials status says k0rdentctl made the principal (read from
	// the record, nothing written).
	if r := run("credentials", "status"); r.code != 0 || !strings.Contains(r.out, "made by k0rdentctl") || !strings.Contains(r.out, apps[0].AppID) {
		t.Errorf("credentials status: exit %d, want the created principal shown", r.code)
	}

	// 2. Again: nothing new in Entra ID or ARM, nothing changed.
	calls := len(az.graph.Calls())
	if r := run("credentials", "setup", "--timeout", "1m"); r.code != 0 {
		t.Fatalf("second credentials setup: exit %d", r.code)
	}
	for _, c := range az.graph.Calls()[calls:] {
		if !strings.HasPrefix(c, "GET ") {
			t.Errorf("the second setup sent %s to Graph", c)
		}
	}
	if len(az.arm.RoleAssignments()) != 1 || len(az.graph.Secrets()) != 1 {
		t.Errorf("second setup: %d role assignments, %d passwords handed out", len(az.arm.RoleAssignments()), len(az.graph.Secrets()))
	}

	// 3. rotate with a region whose copy k0rdent will not update: the
	// rotation is not finished, the old password stays.
	westeu := w.regionals[1].Client
	cp := &corev1.Secret{}
	rgGet(t, westeu, secretKey, cp)
	delete(cp.Labels, kcmv1.KCMManagedLabelKey)
	rgMust(t, westeu.Update(ctx, cp))
	r := run("credentials", "rotate", "--timeout", "20s", "-o", "json")
	if r.code != cli.ExitFailed {
		t.Fatalf("rotate with a region that does not take the new secret: exit %d, want 1", r.code)
	}
	if keys := az.graph.Applications()[0].PasswordKeys; len(keys) != 2 {
		t.Fatalf("passwords after an unfinished rotation: %v; want the old one kept beside the new", keys)
	}
	if rec := opsRecord(t, w); rec.AzurePrincipal.PendingPasswordKeyID == "" || rec.AzurePrincipal.PasswordKeyID != p.PasswordKeyID {
		t.Errorf("record after an unfinished rotation: %+v", rec.AzurePrincipal)
	}
	// The region is repaired; the same rotation is taken up and finished.
	rgGet(t, westeu, secretKey, cp)
	cp.Labels[kcmv1.KCMManagedLabelKey] = kcmv1.KCMManagedLabelValue
	rgMust(t, westeu.Update(ctx, cp))
	if r := run("credentials", "rotate", "--timeout", "1m"); r.code != 0 || !strings.Contains(r.out, "the old one is removed") {
		t.Fatalf("second rotate: exit %d", r.code)
	}
	secrets := az.graph.Secrets()
	keys := az.graph.Applications()[0].PasswordKeys
	if len(secrets) != 2 || len(keys) != 1 || keys[0] == p.PasswordKeyID {
		t.Fatalf("after the rotation: %d passwords handed out (want 2: no third), keys %v (old %s)", len(secrets), keys, p.PasswordKeyID)
	}
	rgGet(t, mc, secretKey, sec)
	for i, c := range []client.Client{mc, w.regionals[0].Client, westeu} {
		s := &corev1.Secret{}
		rgGet(t, c, secretKey, s)
		if string(s.Data[regional.IdentitySecretKey]) != secrets[1] {
			t.Errorf("cluster %d does not hold the new secret", i)
		}
	}

	// 4. cleanup: refused while a cluster uses the Credential.
	opsChild(t, w, "app-1", rgCredential)
	r = run("credentials", "cleanup", "-y")
	if r.code != cli.ExitRefused || !strings.Contains(r.err, rgNamespace+"/app-1") {
		t.Fatalf("cleanup with a cluster using it: exit %d, want 3 naming the cluster", r.code)
	}
	if len(az.graph.Applications()) != 1 || len(az.arm.RoleAssignments()) != 1 {
		t.Fatal("a refused cleanup deleted something")
	}
	if r := run("credentials", "cleanup", "--force"); r.code != cli.ExitRefused || !strings.Contains(r.err, "-y") {
		t.Fatalf("cleanup without a terminal or -y: exit %d, want 3", r.code)
	}
	if r := run("credentials", "cleanup", "--force", "-y", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"deleted"`) {
		t.Fatalf("cleanup --force -y: exit %d", r.code)
	}
	if len(az.graph.Applications()) != 0 || len(az.graph.ServicePrincipals()) != 0 || len(az.arm.RoleAssignments()) != 0 {
		t.Errorf("left in Azure: %+v, %v, %+v", az.graph.Applications(), az.graph.ServicePrincipals(), az.arm.RoleAssignments())
	}
	if rec := opsRecord(t, w); rec.AzurePrincipal != nil {
		t.Errorf("the record still holds the principal: %+v", rec.AzurePrincipal)
	}
	if _, err := os.Stat(p.SecretFile); !os.IsNotExist(err) {
		t.Errorf("the secret file is still there: %v", err)
	}
	if r := run("credentials", "cleanup", "-y"); r.code != 0 || !strings.Contains(r.out, "Nothing to delete") {
		t.Errorf("a second cleanup: exit %d", r.code)
	}

	// No secret in any output, nor in the state folder but for the secret
	// files (gone now).
	for _, s := range secrets {
		for _, o := range outputs {
			if strings.Contains(o, s) {
				t.Fatalf("a client secret was printed:\n%s", o)
			}
		}
		rgMust(t, filepath.Walk(w.stateDir, func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(s)) {
				t.Errorf("a client secret is in %s", path)
			}
			return nil
		}))
	}
}
