package credentials

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/graph"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/graphsim"
)

type entraEnv struct {
	arm   *armsim.Sim
	graph *graphsim.Server
	entra *Entra
	rec   *state.AzurePrincipal
	saves int
	// roleAssignmentsAtDelete: how many role assignments ARM still had
	// when Graph deleted a service principal.
	roleAssignmentsAtDelete []int
}

func newEntraEnv(t *testing.T, lag int) *entraEnv {
	t.Helper()
	env := &entraEnv{arm: armsim.New(armsim.Options{})}
	env.graph = graphsim.New(graphsim.Options{Lag: lag, OnDelete: func(id string) {
		env.roleAssignmentsAtDelete = append(env.roleAssignmentsAtDelete, len(env.arm.RoleAssignments()))
		env.arm.RemovePrincipal(id)
	}})
	t.Cleanup(env.graph.Close)
	gc, err := graph.New(armsim.Credential(), env.graph.Endpoint(), env.graph.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	roles, err := armauthorization.NewRoleAssignmentsClient(env.arm.SubscriptionID(), armsim.Credential(), env.arm.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	env.entra = &Entra{Graph: gc, Roles: roles, SubscriptionID: env.arm.SubscriptionID(), DeploymentID: "k0rdent-ab12cd34",
		SecretsDir: filepath.Join(t.TempDir(), "secrets"), RetryEvery: time.Millisecond, Propagation: 5 * time.Second}
	return env
}

func (env *entraEnv) save(p *state.AzurePrincipal) error {
	c := *p
	env.rec = &c
	env.saves++
	return nil
}

func TestEnsurePrincipalCreatesAppPrincipalPasswordAndRole(t *testing.T) {
	ctx := context.Background()
	env := newEntraEnv(t, 2) // the new application is invisible to the next 2 requests
	p, err := env.entra.Ensure(ctx, nil, env.save)
	if err != nil {
		t.Fatal(err)
	}
	apps := env.graph.Applications()
	if len(apps) != 1 || apps[0].DisplayName != "k0rdent-ab12cd34-cluster-deployment-sp" || len(apps[0].PasswordKeys) != 1 {
		t.Fatalf("applications = %+v, want one named <id>-cluster-deployment-sp with one password", apps)
	}
	if p.ClientID != apps[0].AppID || p.TenantID != env.graph.TenantID() || string(p.secret) != env.graph.Secrets()[0] {
		t.Errorf("principal = %s/%s, want the application's client id and Graph's tenant, with the password's secret", p.ClientID, p.TenantID)
	}
	sps := env.graph.ServicePrincipals()
	ras := env.arm.RoleAssignments()
	if len(sps) != 1 || len(ras) != 1 {
		t.Fatalf("service principals %v, role assignments %+v: want one of each", sps, ras)
	}
	if ras[0].PrincipalID != sps[0] || ras[0].Scope != "/subscriptions/"+env.arm.SubscriptionID() ||
		!strings.HasSuffix(ras[0].RoleDefinitionID, "/"+ContributorRole) {
		t.Errorf("role assignment %+v: want Contributor on the subscription for %s", ras[0], sps[0])
	}
	r := env.rec
	if r == nil || r.ApplicationObjectID != apps[0].ObjectID || r.ServicePrincipalID != sps[0] || r.RoleAssignmentID != ras[0].ID ||
		r.PasswordKeyID != apps[0].PasswordKeys[0] || r.SecretFile != env.entra.SecretPath() {
		t.Errorf("record = %+v, want the ids of what was made", r)
	}
	fi, err := os.Stat(env.entra.SecretPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v, want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(env.entra.SecretPath()); strings.TrimSpace(string(b)) != string(p.secret) {
		t.Error("the secret file does not hold the password's secret")
	}

	// A second run makes nothing new and gives the same secret.
	calls := len(env.graph.Calls())
	p2, err := env.entra.Ensure(ctx, env.rec, env.save)
	if err != nil {
		t.Fatal(err)
	}
	if string(p2.secret) != string(p.secret) || len(env.graph.Applications()) != 1 || len(env.graph.Applications()[0].PasswordKeys) != 1 ||
		len(env.arm.RoleAssignments()) != 1 || len(env.graph.Secrets()) != 1 {
		t.Errorf("second run changed something: apps %+v, role assignments %d, secrets %d", env.graph.Applications(), len(env.arm.RoleAssignments()), len(env.graph.Secrets()))
	}
	for _, c := range env.graph.Calls()[calls:] {
		if strings.HasPrefix(c, "POST") {
			t.Errorf("second run made %s", c)
		}
	}
}

func TestEnsurePrincipalResumesAfterAnInterruption(t *testing.T) {
	ctx := context.Background()
	env := newEntraEnv(t, 0)
	env.graph.FailNext("POST /v1.0/applications/", 403, 1) // addPassword refused once
	if _, err := env.entra.Ensure(ctx, nil, env.save); err == nil || !strings.Contains(err.Error(), "adding a password") || !strings.Contains(err.Error(), "Application Developer") {
		t.Fatalf("err = %v, want the failed step and what permission is missing", err)
	}
	if env.rec == nil || env.rec.ServicePrincipalID == "" || env.rec.PasswordKeyID != "" {
		t.Fatalf("record after the failure = %+v, want the application and service principal recorded", env.rec)
	}
	if _, err := env.entra.Ensure(ctx, env.rec, env.save); err != nil {
		t.Fatal(err)
	}
	if n := len(env.graph.Applications()); n != 1 || len(env.graph.ServicePrincipals()) != 1 || len(env.arm.RoleAssignments()) != 1 {
		t.Errorf("after the resumed run: %d applications, %d service principals, %d role assignments; want one each",
			n, len(env.graph.ServicePrincipals()), len(env.arm.RoleAssignments()))
	}
}

func TestEnsurePrincipalGivesUpOnReplicationAfterItsBound(t *testing.T) {
	env := newEntraEnv(t, 1000)
	env.entra.Propagation = 50 * time.Millisecond
	_, err := env.entra.Ensure(context.Background(), nil, env.save)
	if err == nil || !strings.Contains(err.Error(), "not replicated it yet") {
		t.Fatalf("err = %v, want a bounded wait for replication that says so", err)
	}
}

func TestRotationRemovesTheOldPasswordOnlyWhenFinished(t *testing.T) {
	ctx := context.Background()
	env := newEntraEnv(t, 0)
	old, err := env.entra.Ensure(ctx, nil, env.save)
	if err != nil {
		t.Fatal(err)
	}
	oldKey := env.rec.PasswordKeyID
	next, err := env.entra.StartRotation(ctx, env.rec, env.save)
	if err != nil {
		t.Fatal(err)
	}
	if string(next) == string(old.secret) || env.rec.PendingPasswordKeyID == "" {
		t.Fatalf("rotation began with the same secret or nothing pending: %+v", env.rec)
	}
	if keys := env.graph.Applications()[0].PasswordKeys; len(keys) != 2 {
		t.Fatalf("passwords while rotating = %v, want old and new", keys)
	}
	// Taken up again, not a third password.
	again, err := env.entra.StartRotation(ctx, env.rec, env.save)
	if err != nil || string(again) != string(next) || len(env.graph.Applications()[0].PasswordKeys) != 2 {
		t.Fatalf("second start: %v, same secret %v, passwords %v", err, string(again) == string(next), env.graph.Applications()[0].PasswordKeys)
	}
	if err := env.entra.FinishRotation(ctx, env.rec, env.save); err != nil {
		t.Fatal(err)
	}
	keys := env.graph.Applications()[0].PasswordKeys
	if len(keys) != 1 || keys[0] == oldKey || keys[0] != env.rec.PasswordKeyID || env.rec.PendingPasswordKeyID != "" {
		t.Errorf("after finishing: passwords %v (old %s), record %+v; want only the new one", keys, oldKey, env.rec)
	}
	if b, _ := os.ReadFile(env.entra.SecretPath()); strings.TrimSpace(string(b)) != string(next) {
		t.Error("the secret file does not hold the new secret")
	}
	if _, err := os.Stat(env.entra.SecretPath() + ".new"); !os.IsNotExist(err) {
		t.Errorf("the .new file is still there: %v", err)
	}
}

func TestCleanupDeletesRoleAssignmentThenApplication(t *testing.T) {
	ctx := context.Background()
	env := newEntraEnv(t, 0)
	if _, err := env.entra.Ensure(ctx, nil, env.save); err != nil {
		t.Fatal(err)
	}
	calls := len(env.graph.Calls())
	if err := env.entra.Cleanup(ctx, env.rec, env.save); err != nil {
		t.Fatal(err)
	}
	if len(env.arm.RoleAssignments()) != 0 || len(env.graph.Applications()) != 0 || len(env.graph.ServicePrincipals()) != 0 {
		t.Errorf("left behind: role assignments %+v, applications %+v, service principals %v", env.arm.RoleAssignments(), env.graph.Applications(), env.graph.ServicePrincipals())
	}
	if len(env.roleAssignmentsAtDelete) != 1 || env.roleAssignmentsAtDelete[0] != 0 {
		t.Errorf("role assignments left when the service principal was deleted: %v; want them deleted first (ARM keeps an orphan otherwise)", env.roleAssignmentsAtDelete)
	}
	var deleted bool
	for _, c := range env.graph.Calls()[calls:] {
		deleted = deleted || strings.HasPrefix(c, "DELETE /v1.0/applications/")
	}
	if !deleted {
		t.Error("the application was not deleted through Graph")
	}
	if _, err := os.Stat(env.entra.SecretPath()); !os.IsNotExist(err) {
		t.Errorf("secret file still there: %v", err)
	}
	// Again: nothing to do, no error.
	if err := env.entra.Cleanup(ctx, env.rec, env.save); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}
