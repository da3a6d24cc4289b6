package armsim

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	authfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2/fake"
)

const typeRoleAssignment = "Microsoft.Authorization/roleAssignments"

// Built-in role definition ids (learn.microsoft.com, Azure built-in roles).
const (
	RoleContributor              = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleOwner                    = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleReader                   = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleNetworkContributor       = "4d97b98b-1d4f-4787-a291-c67834d212e7"
	RoleVirtualMachineContributo = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
)

var builtinRoles = map[string]bool{RoleContributor: true, RoleOwner: true, RoleReader: true,
	RoleNetworkContributor: true, RoleVirtualMachineContributo: true}

// AddPrincipal makes a principal (a service principal's object id) known
// to ARM: Entra ID replication has reached it. Until then a role
// assignment for it is refused with PrincipalNotFound unless the request
// sets principalType, as ARM does.
func (s *Sim) AddPrincipal(objectID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.principals[strings.ToLower(objectID)] = true
}

// RemovePrincipal forgets a principal (it was deleted in Entra ID).
func (s *Sim) RemovePrincipal(objectID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.principals, strings.ToLower(objectID))
}

// RoleAssignment is what a test sees of one role assignment.
type RoleAssignment struct {
	ID, Name, Scope, PrincipalID, RoleDefinitionID string
}

// RoleAssignments lists every role assignment.
func (s *Sim) RoleAssignments() []RoleAssignment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RoleAssignment
	for _, e := range s.sorted() {
		if e.typ == typeRoleAssignment {
			ra := decode[armauthorization.RoleAssignment](e)
			out = append(out, RoleAssignment{ID: e.id, Name: e.name, Scope: deref(ra.Properties.Scope, ""),
				PrincipalID: deref(ra.Properties.PrincipalID, ""), RoleDefinitionID: deref(ra.Properties.RoleDefinitionID, "")})
		}
	}
	return out
}

func (s *Sim) authorizationTransports(m map[string]policy.Transporter) {
	m["RoleAssignmentsClient"] = authfake.NewServerFactoryTransport(&authfake.ServerFactory{
		RoleAssignmentsServer: authfake.RoleAssignmentsServer{
			Create: s.createRoleAssignment, Get: s.getRoleAssignment, Delete: s.deleteRoleAssignment,
			NewListForScopePager: s.listRoleAssignments,
		},
	})
}

var roleDefRE = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/providers/Microsoft\.Authorization/roleDefinitions/([0-9a-f-]+)$`)

func (s *Sim) roleAssignmentID(scope, name string) string {
	return strings.TrimRight(scope, "/") + "/providers/" + typeRoleAssignment + "/" + name
}

// checkScope: a scope is the subscription or something in it; s.mu held.
func (s *Sim) checkScope(scope string) *simError {
	if !strings.HasPrefix(strings.ToLower(scope), strings.ToLower(s.subscriptionScope())) {
		return &simError{http.StatusBadRequest, "InvalidScope", fmt.Sprintf("The scope '%s' is not valid in subscription %s.", scope, s.opts.SubscriptionID)}
	}
	if g := strings.Split(strings.Trim(scope, "/"), "/"); len(g) >= 4 && strings.EqualFold(g[2], "resourceGroups") && !s.groupExists(g[3]) {
		return groupNotFound(g[3])
	}
	return nil
}

func (s *Sim) createRoleAssignment(ctx context.Context, scope, name string, params armauthorization.RoleAssignmentCreateParameters, _ *armauthorization.RoleAssignmentsClientCreateOptions) (resp azfake.Responder[armauthorization.RoleAssignmentsClientCreateResponse], errResp azfake.ErrorResponder) {
	scope = normScope(scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkScope(scope); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	p := params.Properties
	if p == nil || p.PrincipalID == nil || p.RoleDefinitionID == nil {
		answer(ctx, &errResp, &simError{http.StatusBadRequest, "InvalidRoleAssignmentRequest", "A role assignment needs principalId and roleDefinitionId."})
		return
	}
	m := roleDefRE.FindStringSubmatch(*p.RoleDefinitionID)
	if m == nil || !strings.EqualFold(m[1], s.opts.SubscriptionID) || !builtinRoles[strings.ToLower(m[2])] {
		answer(ctx, &errResp, &simError{http.StatusNotFound, "RoleDefinitionDoesNotExist", fmt.Sprintf("The specified role definition with ID '%s' does not exist.", *p.RoleDefinitionID)})
		return
	}
	if !s.principals[strings.ToLower(*p.PrincipalID)] && p.PrincipalType == nil {
		answer(ctx, &errResp, &simError{http.StatusBadRequest, "PrincipalNotFound", fmt.Sprintf("Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay.", strings.ReplaceAll(*p.PrincipalID, "-", ""), s.opts.TenantID)})
		return
	}
	id := s.roleAssignmentID(scope, name)
	for _, e := range s.res {
		if e.typ != typeRoleAssignment || strings.EqualFold(e.id, id) {
			continue
		}
		o := decode[armauthorization.RoleAssignment](e).Properties
		if strings.EqualFold(deref(o.Scope, ""), scope) && strings.EqualFold(deref(o.PrincipalID, ""), *p.PrincipalID) &&
			strings.EqualFold(deref(o.RoleDefinitionID, ""), *p.RoleDefinitionID) {
			answer(ctx, &errResp, &simError{http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists (" + e.id + ")."})
			return
		}
	}
	now := time.Now().UTC()
	ra := armauthorization.RoleAssignment{ID: to.Ptr(id), Name: to.Ptr(name), Type: to.Ptr(typeRoleAssignment),
		Properties: &armauthorization.RoleAssignmentProperties{PrincipalID: p.PrincipalID, RoleDefinitionID: p.RoleDefinitionID,
			PrincipalType: p.PrincipalType, Description: p.Description, Scope: to.Ptr(scope), CreatedOn: to.Ptr(now), UpdatedOn: to.Ptr(now)}}
	if ra.Properties.PrincipalType == nil {
		ra.Properties.PrincipalType = to.Ptr(armauthorization.PrincipalTypeServicePrincipal)
	}
	group := ""
	if g := strings.Split(strings.Trim(scope, "/"), "/"); len(g) >= 4 && strings.EqualFold(g[2], "resourceGroups") {
		group = g[3]
	}
	s.put(&entry{id: id, typ: typeRoleAssignment, name: name, group: group, state: "Succeeded", body: encode(ra),
		parent: strings.ToLower(scope)})
	e, _ := s.get(id)
	resp.SetResponse(http.StatusCreated, armauthorization.RoleAssignmentsClientCreateResponse{RoleAssignment: decode[armauthorization.RoleAssignment](e)}, nil)
	return
}

func (s *Sim) getRoleAssignment(ctx context.Context, scope, name string, _ *armauthorization.RoleAssignmentsClientGetOptions) (resp azfake.Responder[armauthorization.RoleAssignmentsClientGetResponse], errResp azfake.ErrorResponder) {
	scope = normScope(scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.get(s.roleAssignmentID(scope, name))
	if !ok {
		answer(ctx, &errResp, &simError{http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '" + name + "' is not found."})
		return
	}
	resp.SetResponse(http.StatusOK, armauthorization.RoleAssignmentsClientGetResponse{RoleAssignment: decode[armauthorization.RoleAssignment](e)}, nil)
	return
}

// deleteRoleAssignment answers 200 with what was deleted, or 204 when
// there was nothing, as ARM does.
func (s *Sim) deleteRoleAssignment(ctx context.Context, scope, name string, _ *armauthorization.RoleAssignmentsClientDeleteOptions) (resp azfake.Responder[armauthorization.RoleAssignmentsClientDeleteResponse], errResp azfake.ErrorResponder) {
	scope = normScope(scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.roleAssignmentID(scope, name)
	e, ok := s.get(id)
	if !ok {
		resp.SetResponse(http.StatusNoContent, armauthorization.RoleAssignmentsClientDeleteResponse{}, nil)
		return
	}
	ra := decode[armauthorization.RoleAssignment](e)
	delete(s.res, strings.ToLower(id))
	resp.SetResponse(http.StatusOK, armauthorization.RoleAssignmentsClientDeleteResponse{RoleAssignment: ra}, nil)
	return
}

var principalFilterRE = regexp.MustCompile(`(?i)^\s*principalId\s+eq\s+'([^']+)'\s*$`)

// listRoleAssignments lists the assignments at a scope and below it,
// optionally for one principal ("principalId eq '<id>'") or at the scope
// and above it ("atScope()").
func (s *Sim) listRoleAssignments(scope string, opts *armauthorization.RoleAssignmentsClientListForScopeOptions) (resp azfake.PagerResponder[armauthorization.RoleAssignmentsClientListForScopeResponse]) {
	scope = normScope(scope)
	f := filterOf(opts != nil, func() *string { return opts.Filter })
	principal, atScope := "", false
	switch m := principalFilterRE.FindStringSubmatch(f); {
	case strings.TrimSpace(f) == "":
	case m != nil:
		principal = m[1]
	case strings.EqualFold(strings.TrimSpace(f), "atScope()"):
		atScope = true
	default:
		resp.AddResponseError(http.StatusBadRequest, "InvalidFilterInQueryString")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := strings.ToLower(strings.TrimRight(scope, "/"))
	var out []*armauthorization.RoleAssignment
	for _, e := range s.sorted() {
		if e.typ != typeRoleAssignment {
			continue
		}
		ra := decode[armauthorization.RoleAssignment](e)
		at := strings.ToLower(deref(ra.Properties.Scope, ""))
		if atScope && !strings.HasPrefix(sc, at) || !atScope && !strings.HasPrefix(at, sc) {
			continue
		}
		if principal != "" && !strings.EqualFold(deref(ra.Properties.PrincipalID, ""), principal) {
			continue
		}
		out = append(out, to.Ptr(ra))
	}
	resp.AddPage(http.StatusOK, armauthorization.RoleAssignmentsClientListForScopeResponse{RoleAssignmentListResult: armauthorization.RoleAssignmentListResult{Value: out}}, nil)
	return
}

// normScope is a scope with its leading slash (the SDK fakes hand it over
// without one).
func normScope(scope string) string { return "/" + strings.Trim(scope, "/") }
