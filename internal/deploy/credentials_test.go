package deploy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/graph"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/armsim"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/graphsim"
)

// With create_principal, the credentials phase of deploy is wanted, says in
// its dry run that it creates the principal, and creates it through Entra,
// recording its ids (not its secret) in the deployment record; a second
// run finds it and creates nothing.
func TestCredentialsPhaseCreatesTheRecordedPrincipal(t *testing.T) {
	arm := armsim.New(armsim.Options{})
	gs := graphsim.New(graphsim.Options{Lag: 1})
	defer gs.Close()
	dir := t.TempDir()
	store, err := state.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := state.OpenOrCreate(t.Context(), store, "", "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	cfg := &config.Config{}
	cfg.Management.Mode = config.ModeExisting
	cfg.Software.K0rdent.Credential.CreatePrincipal = true
	env := NewEnv("k0rdent.yaml", cfg, nil, "", dir)
	env.Session = sess
	env.Entra = func(id string) (*credentials.Entra, error) {
		g, err := graph.New(armsim.Credential(), gs.Endpoint(), gs.ClientOptions())
		if err != nil {
			return nil, err
		}
		roles, err := armauthorization.NewRoleAssignmentsClient(arm.SubscriptionID(), armsim.Credential(), arm.ClientOptions())
		if err != nil {
			return nil, err
		}
		return &credentials.Entra{Graph: g, Roles: roles, SubscriptionID: arm.SubscriptionID(), DeploymentID: id,
			SecretsDir: store.SecretsDir(), RetryEvery: time.Millisecond}, nil
	}
	p := &credentialsPhase{env: env}
	if ok, why := p.Wanted(); !ok {
		t.Fatalf("not wanted with create_principal: %s", why)
	}
	lines, _ := p.DryRun(t.Context())
	if !strings.Contains(strings.Join(lines, "\n"), "cluster-deployment-sp") {
		t.Errorf("dry run does not say it creates the principal: %q", lines)
	}
	pr, err := p.principal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rec := sess.Snapshot().AzurePrincipal
	apps := gs.Applications()
	if rec == nil || len(apps) != 1 || rec.ClientID != apps[0].AppID || pr.ClientID != rec.ClientID || len(arm.RoleAssignments()) != 1 {
		t.Fatalf("record %+v, applications %+v, role assignments %d", rec, apps, len(arm.RoleAssignments()))
	}
	raw, err := os.ReadFile(store.Location(sess.ID()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), gs.Secrets()[0]) {
		t.Error("the record holds the client secret")
	}
	if _, err := p.principal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(gs.Applications()) != 1 || len(gs.Secrets()) != 1 || len(arm.RoleAssignments()) != 1 {
		t.Errorf("a second run created more: %+v, %d secrets, %d role assignments", gs.Applications(), len(gs.Secrets()), len(arm.RoleAssignments()))
	}
}
