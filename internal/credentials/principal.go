package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/graph"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// ContributorRole is the built-in Contributor role's id: the least built-in
// role with which CAPZ creates and deletes everything of an Azure cluster
// (resource groups, networks, VMs, load balancers, disks) in the
// subscription.
const ContributorRole = "b24988ac-6180-42a0-ab88-20f7382dd24c"

// PrincipalName is the display name of the application k0rdentctl creates
// for a deployment, as the shell tool names it: <id>-cluster-deployment-sp.
func PrincipalName(deploymentID string) string { return deploymentID + "-cluster-deployment-sp" }

// passwordPrefix starts the display name of every password k0rdentctl adds.
const passwordPrefix = "k0rdentctl "

// Entra creates, rotates and deletes the service principal k0rdent's Azure
// Credential uses: the application and its service principal and password
// in Microsoft Entra ID (through Graph), and its Contributor role
// assignment on the subscription (through ARM).
type Entra struct {
	Graph          *graph.Client
	Roles          *armauthorization.RoleAssignmentsClient
	SubscriptionID string
	// TenantID is the tenant; empty: Graph is asked.
	TenantID     string
	DeploymentID string
	// SecretsDir is where the client secret's 0600 file goes.
	SecretsDir string
	// Propagation bounds the retries of what Entra ID replication delays
	// (a new application or service principal not yet visible); 0: 3m.
	Propagation time.Duration
	// RetryEvery is the pause between those retries; 0: 5s.
	RetryEvery time.Duration
	// PasswordLifetime is how long a new password is valid; 0: one year.
	PasswordLifetime time.Duration
	Progress         func(string)
	Now              func() time.Time
}

func (e *Entra) say(format string, args ...any) {
	if e.Progress != nil {
		e.Progress(fmt.Sprintf(format, args...))
	}
}

func (e *Entra) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Entra) subscriptionScope() string { return "/subscriptions/" + e.SubscriptionID }

func (e *Entra) contributorID() string {
	return e.subscriptionScope() + "/providers/Microsoft.Authorization/roleDefinitions/" + ContributorRole
}

// SecretPath is the 0600 file of the client secret of the deployment's
// principal.
func (e *Entra) SecretPath() string {
	return filepath.Join(e.SecretsDir, e.DeploymentID+"-sp-client-secret")
}

// EntraError is a step in Entra ID or ARM that failed, with what to do.
type EntraError struct {
	Step string
	Err  error
	Fix  string
}

func (e *EntraError) Error() string {
	msg := e.Step + ": " + e.Err.Error()
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

func (e *EntraError) Unwrap() error { return e.Err }

func stepError(step string, err error) error {
	fix := ""
	var ge *graph.Error
	var re *azcore.ResponseError
	switch {
	case errors.As(err, &ge) && (ge.Status == http.StatusForbidden || ge.Status == http.StatusUnauthorized):
		fix = "the identity k0rdentctl runs as may not create applications in Microsoft Entra ID (it needs the Application Developer role, or Application.ReadWrite.OwnedBy); or give a service principal you have with software.k0rdent.credential.client_id"
	case errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || strings.EqualFold(re.ErrorCode, "AuthorizationFailed")):
		fix = "the identity k0rdentctl runs as may not assign roles on the subscription (it needs Owner or User Access Administrator)"
	default:
		fix = "nothing else was changed: run the command again to go on from here"
	}
	return &EntraError{Step: step, Err: err, Fix: fix}
}

// propagating reports an answer that Entra ID replication explains: a
// new application or service principal that a request does not see yet.
func propagating(err error) bool {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.Status == http.StatusNotFound ||
			(ge.Status == http.StatusBadRequest && strings.Contains(ge.Message, "does not reference a valid application"))
	}
	var re *azcore.ResponseError
	return errors.As(err, &re) && strings.EqualFold(re.ErrorCode, "PrincipalNotFound")
}

// retry runs f again while its error is propagation, up to e.Propagation.
func (e *Entra) retry(ctx context.Context, what string, f func() error) error {
	limit, every := e.Propagation, e.RetryEvery
	if limit <= 0 {
		limit = 3 * time.Minute
	}
	if every <= 0 {
		every = 5 * time.Second
	}
	deadline := time.Now().Add(limit)
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !propagating(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (still so after %d attempts in %s: Microsoft Entra ID has not replicated it yet; run the command again later)", err, attempt, limit)
		}
		e.say("%s: not visible yet (Entra ID replication), trying again in %s", what, every)
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Ensure makes the deployment's service principal, or finds what an
// earlier run made: the application <id>-cluster-deployment-sp, its
// service principal, a password (its text written only to SecretPath,
// 0600) and the Contributor role assignment on the subscription. rec is
// what the record holds (nil: nothing yet); save is called with the ids
// after each step, so that an interrupted run goes on where it stopped.
// The returned Principal carries the secret for Setup.
func (e *Entra) Ensure(ctx context.Context, rec *state.AzurePrincipal, save func(*state.AzurePrincipal) error) (Principal, error) {
	if e.SubscriptionID == "" || e.DeploymentID == "" || e.SecretsDir == "" {
		return Principal{}, errors.New("creating a service principal needs the subscription, the deployment id and the state folder")
	}
	p := state.AzurePrincipal{DisplayName: PrincipalName(e.DeploymentID), TenantID: e.TenantID, CreatedAt: e.now().UTC()}
	if rec != nil {
		p = *rec
	}
	if p.TenantID == "" {
		t, err := e.Graph.TenantID(ctx)
		if err != nil {
			return Principal{}, stepError("finding the tenant", err)
		}
		p.TenantID = t
	}
	// The application.
	var app *graph.Application
	var err error
	if p.ApplicationObjectID != "" {
		app, err = e.Graph.Application(ctx, p.ApplicationObjectID)
		if graph.IsNotFound(err) {
			e.say("application %s (%s) is gone from Entra ID; creating it again", p.DisplayName, p.ClientID)
			p = state.AzurePrincipal{DisplayName: p.DisplayName, TenantID: p.TenantID, CreatedAt: e.now().UTC()}
			app, err = nil, nil
		}
	} else {
		app, err = e.Graph.FindApplication(ctx, p.DisplayName)
	}
	if err != nil {
		return Principal{}, stepError("looking up application "+p.DisplayName, err)
	}
	if app == nil {
		if app, err = e.Graph.CreateApplication(ctx, p.DisplayName); err != nil {
			return Principal{}, stepError("creating application "+p.DisplayName, err)
		}
		e.say("created application %s (client id %s)", p.DisplayName, app.AppID)
	}
	p.ApplicationObjectID, p.ClientID = app.ID, app.AppID
	if err := save(&p); err != nil {
		return Principal{}, err
	}
	// Its service principal.
	if p.ServicePrincipalID == "" {
		var sp *graph.ServicePrincipal
		err := e.retry(ctx, "service principal of "+p.ClientID, func() error {
			var err error
			if sp, err = e.Graph.FindServicePrincipal(ctx, p.ClientID); err != nil || sp != nil {
				return err
			}
			sp, err = e.Graph.CreateServicePrincipal(ctx, p.ClientID)
			return err
		})
		if err != nil {
			return Principal{}, stepError("creating the service principal of "+p.DisplayName, err)
		}
		p.ServicePrincipalID = sp.ID
		e.say("service principal %s", sp.ID)
		if err := save(&p); err != nil {
			return Principal{}, err
		}
	}
	// Its password.
	secret, err := e.currentSecret(ctx, &p)
	if err != nil {
		return Principal{}, err
	}
	if secret == nil {
		pw, err := e.addPassword(ctx, &p, e.SecretPath())
		if err != nil {
			return Principal{}, err
		}
		p.PasswordKeyID, p.SecretFile, secret = pw.KeyID, e.SecretPath(), []byte(pw.SecretText)
		if err := save(&p); err != nil {
			return Principal{}, err
		}
	}
	// Its role.
	if err := e.ensureRole(ctx, &p); err != nil {
		return Principal{}, err
	}
	if err := save(&p); err != nil {
		return Principal{}, err
	}
	return Principal{ClientID: p.ClientID, TenantID: p.TenantID, SubscriptionID: e.SubscriptionID, secret: secret}, nil
}

// currentSecret is the secret in the 0600 file when the application still
// has its password; nil when a new one is needed.
func (e *Entra) currentSecret(ctx context.Context, p *state.AzurePrincipal) ([]byte, error) {
	if p.PasswordKeyID == "" || p.SecretFile == "" {
		return nil, nil
	}
	b, err := readSecretFile(p.SecretFile)
	if err != nil || len(b) == 0 {
		e.say("the client secret file %s cannot be read (%v); adding a new password", p.SecretFile, err)
		return nil, nil
	}
	var app *graph.Application
	err = e.retry(ctx, "application "+p.ClientID, func() error {
		var err error
		app, err = e.Graph.Application(ctx, p.ApplicationObjectID)
		return err
	})
	if err != nil {
		return nil, stepError("reading application "+p.DisplayName, err)
	}
	for _, pw := range app.Passwords {
		if strings.EqualFold(pw.KeyID, p.PasswordKeyID) {
			return b, nil
		}
	}
	e.say("password %s of %s is gone; adding a new one", p.PasswordKeyID, p.DisplayName)
	return nil, nil
}

// readSecretFile reads a secret file, refusing one that others can read.
func readSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s can be read by others (mode %v): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	return []byte(strings.TrimSpace(string(b))), err
}

// addPassword adds a password to the application and writes its text to
// path (0600) before anything else sees it.
func (e *Entra) addPassword(ctx context.Context, p *state.AzurePrincipal, path string) (*graph.Password, error) {
	life := e.PasswordLifetime
	if life <= 0 {
		life = 365 * 24 * time.Hour
	}
	now := e.now().UTC()
	var pw *graph.Password
	err := e.retry(ctx, "application "+p.ClientID, func() error {
		var err error
		pw, err = e.Graph.AddPassword(ctx, p.ApplicationObjectID, passwordPrefix+now.Format(time.RFC3339), now.Add(life))
		return err
	})
	if err != nil {
		return nil, stepError("adding a password to "+p.DisplayName, err)
	}
	if pw.SecretText == "" {
		return nil, fmt.Errorf("Microsoft Graph gave no secret text for the new password %s of %s", pw.KeyID, p.DisplayName)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := state.WriteFileAtomic(ctx, path, []byte(pw.SecretText+"\n")); err != nil {
		return nil, fmt.Errorf("writing the new client secret to %s: %w (password %s of %s exists; run the command again)", path, err, pw.KeyID, p.DisplayName)
	}
	e.say("added password %s (valid until %s), its secret in %s", pw.KeyID, now.Add(life).Format("2006-01-02"), path)
	return pw, nil
}

// ensureRole finds or makes the Contributor assignment on the
// subscription. It sets principalType, which spares ARM looking up a
// principal Entra ID has not replicated yet; PrincipalNotFound is retried
// all the same.
func (e *Entra) ensureRole(ctx context.Context, p *state.AzurePrincipal) error {
	find := func() (string, error) {
		pager := e.Roles.NewListForScopePager(e.subscriptionScope(), &armauthorization.RoleAssignmentsClientListForScopeOptions{
			Filter: to.Ptr(fmt.Sprintf("principalId eq '%s'", p.ServicePrincipalID))})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, ra := range page.Value {
				if ra.Properties == nil || ra.ID == nil {
					continue
				}
				if strings.EqualFold(deref(ra.Properties.RoleDefinitionID), e.contributorID()) &&
					strings.EqualFold(strings.TrimRight(deref(ra.Properties.Scope), "/"), e.subscriptionScope()) {
					return *ra.ID, nil
				}
			}
		}
		return "", nil
	}
	id, err := find()
	if err != nil {
		return stepError("listing the role assignments of "+p.DisplayName, err)
	}
	if id == "" {
		err = e.retry(ctx, "service principal "+p.ServicePrincipalID+" in ARM", func() error {
			resp, err := e.Roles.Create(ctx, e.subscriptionScope(), uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
				Properties: &armauthorization.RoleAssignmentProperties{
					PrincipalID:      to.Ptr(p.ServicePrincipalID),
					RoleDefinitionID: to.Ptr(e.contributorID()),
					PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
					Description:      to.Ptr("k0rdentctl deployment " + e.DeploymentID + ": k0rdent creates Azure clusters with it"),
				}}, nil)
			if err != nil {
				return err
			}
			id = deref(resp.ID)
			return nil
		})
		var re *azcore.ResponseError
		if errors.As(err, &re) && strings.EqualFold(re.ErrorCode, "RoleAssignmentExists") {
			id, err = find()
		}
		if err != nil {
			return stepError("assigning Contributor on subscription "+e.SubscriptionID+" to "+p.DisplayName, err)
		}
		e.say("assigned Contributor on subscription %s", e.SubscriptionID)
	}
	p.RoleAssignmentID = id
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// StartRotation adds a new password to the principal and returns its
// secret, written to SecretFile + ".new" (0600) and recorded as pending.
// A rotation already under way (a pending password whose file is there)
// is taken up again instead of adding another password.
func (e *Entra) StartRotation(ctx context.Context, p *state.AzurePrincipal, save func(*state.AzurePrincipal) error) ([]byte, error) {
	next := p.SecretFile + ".new"
	if p.PendingPasswordKeyID != "" {
		if b, err := readSecretFile(next); err == nil && len(b) > 0 {
			e.say("taking up the rotation to password %s begun earlier", p.PendingPasswordKeyID)
			return b, nil
		}
	}
	pw, err := e.addPassword(ctx, p, next)
	if err != nil {
		return nil, err
	}
	p.PendingPasswordKeyID = pw.KeyID
	if err := save(p); err != nil {
		return nil, err
	}
	return []byte(pw.SecretText), nil
}

// FinishRotation is called once every holder of the secret has the new
// one: it removes the principal's other k0rdentctl passwords (the old one,
// and any a killed run added), makes the new secret file the current one
// and records it.
func (e *Entra) FinishRotation(ctx context.Context, p *state.AzurePrincipal, save func(*state.AzurePrincipal) error) error {
	if p.PendingPasswordKeyID == "" {
		return errors.New("no rotation is under way")
	}
	app, err := e.Graph.Application(ctx, p.ApplicationObjectID)
	if err != nil {
		return stepError("reading application "+p.DisplayName, err)
	}
	for _, pw := range app.Passwords {
		if strings.EqualFold(pw.KeyID, p.PendingPasswordKeyID) || !strings.HasPrefix(pw.DisplayName, passwordPrefix) {
			continue
		}
		if err := e.Graph.RemovePassword(ctx, p.ApplicationObjectID, pw.KeyID); err != nil {
			return stepError("removing the old password "+pw.KeyID+" of "+p.DisplayName, err)
		}
		e.say("removed the old password %s", pw.KeyID)
	}
	if err := os.Rename(p.SecretFile+".new", p.SecretFile); err != nil {
		return fmt.Errorf("making %s.new the current client secret: %w", p.SecretFile, err)
	}
	p.PasswordKeyID, p.PendingPasswordKeyID = p.PendingPasswordKeyID, ""
	return save(p)
}

// Cleanup deletes what Ensure made, in this order: the principal's role
// assignments on the subscription (a role assignment of a deleted
// principal stays behind in ARM otherwise), then the application (Entra
// ID deletes its service principal with it and keeps it soft-deleted for
// 30 days), then the secret files. save records each step.
func (e *Entra) Cleanup(ctx context.Context, p *state.AzurePrincipal, save func(*state.AzurePrincipal) error) error {
	if p.ServicePrincipalID != "" {
		var ids []string
		if p.RoleAssignmentID != "" {
			ids = append(ids, p.RoleAssignmentID)
		}
		pager := e.Roles.NewListForScopePager(e.subscriptionScope(), &armauthorization.RoleAssignmentsClientListForScopeOptions{
			Filter: to.Ptr(fmt.Sprintf("principalId eq '%s'", p.ServicePrincipalID))})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return stepError("listing the role assignments of "+p.DisplayName, err)
			}
			for _, ra := range page.Value {
				if id := deref(ra.ID); id != "" && !strings.EqualFold(id, p.RoleAssignmentID) {
					ids = append(ids, id)
				}
			}
		}
		for _, id := range ids {
			scope, name := splitRoleAssignmentID(id)
			if _, err := e.Roles.Delete(ctx, scope, name, nil); err != nil {
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
					return stepError("deleting role assignment "+id, err)
				}
			}
			e.say("deleted role assignment %s", id)
		}
		p.RoleAssignmentID = ""
		if err := save(p); err != nil {
			return err
		}
	}
	if p.ApplicationObjectID != "" {
		if err := e.Graph.DeleteApplication(ctx, p.ApplicationObjectID); err != nil {
			return stepError("deleting application "+p.DisplayName, err)
		}
		e.say("deleted application %s (client id %s) and its service principal", p.DisplayName, p.ClientID)
	}
	for _, f := range []string{p.SecretFile, p.SecretFile + ".new"} {
		if f == "" || f == ".new" {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the client secret file %s: %w", f, err)
		}
	}
	return nil
}

// splitRoleAssignmentID splits <scope>/providers/Microsoft.Authorization/
// roleAssignments/<name>.
func splitRoleAssignmentID(id string) (scope, name string) {
	const sep = "/providers/microsoft.authorization/roleassignments/"
	i := strings.LastIndex(strings.ToLower(id), sep)
	if i < 0 {
		return id, ""
	}
	return id[:i], id[i+len(sep):]
}

// Saver records a principal in the deployment record of sess (nil: the
// principal is forgotten, after Cleanup).
func Saver(ctx context.Context, sess *state.Session) func(*state.AzurePrincipal) error {
	return func(p *state.AzurePrincipal) error {
		var c *state.AzurePrincipal
		if p != nil {
			cp := *p
			c = &cp
		}
		if err := sess.Update(ctx, func(r *state.Record) error { r.AzurePrincipal = c; return nil }); err != nil {
			return fmt.Errorf("recording the service principal in the deployment record: %w", err)
		}
		return nil
	}
}
