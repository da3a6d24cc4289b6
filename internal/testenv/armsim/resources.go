package armsim

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	resfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/fake"
)

const typeGroup = "Microsoft.Resources/resourceGroups"

func (s *Sim) resourcesTransports(m map[string]policy.Transporter) {
	t := resfake.NewServerFactoryTransport(&resfake.ServerFactory{
		Server: resfake.Server{
			NewListPager:                s.listResources,
			NewListByResourceGroupPager: s.listGroupResources,
		},
		ResourceGroupsServer: resfake.ResourceGroupsServer{
			CreateOrUpdate: s.createGroup,
			Get:            s.getGroup,
			BeginDelete:    s.deleteGroup,
			NewListPager:   s.listGroups,
		},
		ProvidersServer: resfake.ProvidersServer{
			Get:      s.getProvider,
			Register: s.registerProvider,
		},
	})
	for _, c := range []string{"Client", "ResourceGroupsClient", "ProvidersClient"} {
		m[c] = t
	}
}

func tagsIn(t map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range t {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func tagsOut(t map[string]string) map[string]*string {
	if len(t) == 0 {
		return nil
	}
	out := map[string]*string{}
	for k, v := range t {
		out[k] = to.Ptr(v)
	}
	return out
}

func (s *Sim) createGroup(ctx context.Context, name string, rg armresources.ResourceGroup, _ *armresources.ResourceGroupsClientCreateOrUpdateOptions) (resp azfake.Responder[armresources.ResourceGroupsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	loc := to.Ptr("")
	if rg.Location != nil {
		loc = rg.Location
	}
	if s.location(*loc) == nil {
		answer(ctx, &errResp, &simError{http.StatusBadRequest, "LocationNotAvailableForResourceGroup",
			fmt.Sprintf("The provided location '%s' is not available for resource group.", *loc)})
		return
	}
	id := s.groupID(name)
	status := http.StatusCreated
	if old, ok := s.get(id); ok {
		status = http.StatusOK
		if !strings.EqualFold(old.location, *loc) {
			answer(ctx, &errResp, &simError{http.StatusConflict, "InvalidResourceGroupLocation",
				fmt.Sprintf("Invalid resource group location '%s'. The Resource group already exists in location '%s'.", *loc, old.location)})
			return
		}
	}
	rg.ID, rg.Name, rg.Type = to.Ptr(id), to.Ptr(name), to.Ptr(typeGroup)
	rg.Properties = &armresources.ResourceGroupProperties{ProvisioningState: to.Ptr("Succeeded")}
	s.put(&entry{id: id, typ: typeGroup, name: name, group: name, location: *loc, tags: tagsIn(rg.Tags),
		state: "Succeeded", body: encode(rg)})
	e, _ := s.get(id)
	resp.SetResponse(status, armresources.ResourceGroupsClientCreateOrUpdateResponse{ResourceGroup: decode[armresources.ResourceGroup](e)}, nil)
	return
}

func (s *Sim) getGroup(ctx context.Context, name string, _ *armresources.ResourceGroupsClientGetOptions) (resp azfake.Responder[armresources.ResourceGroupsClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.get(s.groupID(name))
	if !ok {
		answer(ctx, &errResp, groupNotFound(name))
		return
	}
	resp.SetResponse(http.StatusOK, armresources.ResourceGroupsClientGetResponse{ResourceGroup: decode[armresources.ResourceGroup](e)}, nil)
	return
}

// deleteGroup deletes the group and everything in it, at once (ARM takes
// minutes; the poller still reports it running Options.Polls times).
func (s *Sim) deleteGroup(ctx context.Context, name string, _ *armresources.ResourceGroupsClientBeginDeleteOptions) (resp azfake.PollerResponder[armresources.ResourceGroupsClientDeleteResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.groupID(name)
	if _, ok := s.get(id); !ok {
		answer(ctx, &errResp, groupNotFound(name))
		return
	}
	prefix := strings.ToLower(id) + "/"
	for k := range s.res {
		if strings.HasPrefix(k, prefix) {
			delete(s.res, k)
		}
	}
	delete(s.res, strings.ToLower(id))
	s.running(&resp, http.StatusAccepted)
	resp.SetTerminalResponse(http.StatusOK, armresources.ResourceGroupsClientDeleteResponse{}, nil)
	return
}

func (s *Sim) listGroups(opts *armresources.ResourceGroupsClientListOptions) (resp azfake.PagerResponder[armresources.ResourceGroupsClientListResponse]) {
	f, err := parseFilter(filterOf(opts != nil, func() *string { return opts.Filter }))
	if err != nil {
		resp.AddResponseError(err.status, err.code)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*armresources.ResourceGroup
	for _, e := range s.sorted() {
		if e.typ == typeGroup && f.match(e) {
			out = append(out, to.Ptr(decode[armresources.ResourceGroup](e)))
		}
	}
	resp.AddPage(http.StatusOK, armresources.ResourceGroupsClientListResponse{ResourceGroupListResult: armresources.ResourceGroupListResult{Value: out}}, nil)
	return
}

func (s *Sim) listResources(opts *armresources.ClientListOptions) (resp azfake.PagerResponder[armresources.ClientListResponse]) {
	f, err := parseFilter(filterOf(opts != nil, func() *string { return opts.Filter }))
	if err != nil {
		resp.AddResponseError(err.status, err.code)
		return
	}
	resp.AddPage(http.StatusOK, armresources.ClientListResponse{ResourceListResult: armresources.ResourceListResult{Value: s.generic("", f)}}, nil)
	return
}

func (s *Sim) listGroupResources(group string, opts *armresources.ClientListByResourceGroupOptions) (resp azfake.PagerResponder[armresources.ClientListByResourceGroupResponse]) {
	f, err := parseFilter(filterOf(opts != nil, func() *string { return opts.Filter }))
	if err != nil {
		resp.AddResponseError(err.status, err.code)
		return
	}
	s.mu.Lock()
	ok := s.groupExists(group)
	s.mu.Unlock()
	if !ok {
		resp.AddResponseError(http.StatusNotFound, "ResourceGroupNotFound")
		return
	}
	resp.AddPage(http.StatusOK, armresources.ClientListByResourceGroupResponse{ResourceListResult: armresources.ResourceListResult{Value: s.generic(group, f)}}, nil)
	return
}

// generic lists top-level resources (not groups, not nested ones such as
// subnets), as the generic resources API does.
func (s *Sim) generic(group string, f filter) []*armresources.GenericResourceExpanded {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*armresources.GenericResourceExpanded
	for _, e := range s.sorted() {
		if e.typ == typeGroup || e.parent != "" || strings.Count(e.typ, "/") != 1 {
			continue
		}
		if group != "" && !strings.EqualFold(e.group, group) {
			continue
		}
		if !f.match(e) {
			continue
		}
		out = append(out, &armresources.GenericResourceExpanded{ID: to.Ptr(e.id), Name: to.Ptr(e.name),
			Type: to.Ptr(e.typ), Location: to.Ptr(e.location), Tags: tagsOut(e.tags),
			ProvisioningState: to.Ptr(e.state), CreatedTime: to.Ptr(e.created)})
	}
	return out
}

// sorted is every entry by id; s.mu held.
func (s *Sim) sorted() []*entry {
	out := make([]*entry, 0, len(s.res))
	for _, e := range s.res {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].id) < strings.ToLower(out[j].id) })
	return out
}

func filterOf(has bool, get func() *string) string {
	if !has || get() == nil {
		return ""
	}
	return *get()
}

// filter is the subset of ARM's $filter the simulation understands:
// tagName, tagValue, resourceType and location with eq, joined by and.
type filter struct{ tagName, tagValue, resourceType, location string }

var clauseRE = regexp.MustCompile(`(?i)^\s*(tagName|tagValue|resourceType|location)\s+eq\s+'([^']*)'\s*$`)

func parseFilter(f string) (filter, *simError) {
	var out filter
	if strings.TrimSpace(f) == "" {
		return out, nil
	}
	for _, clause := range regexp.MustCompile(`(?i)\s+and\s+`).Split(f, -1) {
		m := clauseRE.FindStringSubmatch(clause)
		if m == nil {
			return out, &simError{http.StatusBadRequest, "InvalidFilterInQueryString", fmt.Sprintf("Invalid $filter '%s'.", f)}
		}
		switch strings.ToLower(m[1]) {
		case "tagname":
			out.tagName = m[2]
		case "tagvalue":
			out.tagValue = m[2]
		case "resourcetype":
			out.resourceType = m[2]
		case "location":
			out.location = m[2]
		}
	}
	if out.tagValue != "" && out.tagName == "" {
		return out, &simError{http.StatusBadRequest, "InvalidFilterInQueryString", "tagValue needs tagName."}
	}
	return out, nil
}

func (f filter) match(e *entry) bool {
	if f.resourceType != "" && !strings.EqualFold(f.resourceType, e.typ) {
		return false
	}
	if f.location != "" && !strings.EqualFold(f.location, e.location) {
		return false
	}
	if f.tagName != "" {
		v, ok := e.tags[f.tagName]
		if !ok || (f.tagValue != "" && v != f.tagValue) {
			return false
		}
	}
	return true
}

func (s *Sim) provider(namespace string) armresources.Provider {
	state := "NotRegistered"
	if s.catalog.Providers[namespace] {
		state = "Registered"
	}
	return armresources.Provider{ID: to.Ptr(s.subscriptionScope() + "/providers/" + namespace),
		Namespace: to.Ptr(namespace), RegistrationState: to.Ptr(state)}
}

func (s *Sim) getProvider(ctx context.Context, namespace string, _ *armresources.ProvidersClientGetOptions) (resp azfake.Responder[armresources.ProvidersClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.catalog.Providers[namespace]; !known {
		answer(ctx, &errResp, &simError{http.StatusNotFound, "InvalidResourceNamespace",
			fmt.Sprintf("The resource namespace '%s' is invalid.", namespace)})
		return
	}
	resp.SetResponse(http.StatusOK, armresources.ProvidersClientGetResponse{Provider: s.provider(namespace)}, nil)
	return
}

func (s *Sim) registerProvider(ctx context.Context, namespace string, _ *armresources.ProvidersClientRegisterOptions) (resp azfake.Responder[armresources.ProvidersClientRegisterResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.catalog.Providers[namespace]; !known {
		answer(ctx, &errResp, &simError{http.StatusNotFound, "InvalidResourceNamespace",
			fmt.Sprintf("The resource namespace '%s' is invalid.", namespace)})
		return
	}
	s.catalog.Providers[namespace] = true
	resp.SetResponse(http.StatusOK, armresources.ProvidersClientRegisterResponse{Provider: s.provider(namespace)}, nil)
	return
}

// pollerAdder is any fake PollerResponder.
type pollerAdder interface {
	AddNonTerminalResponse(int, *azfake.AddNonTerminalResponseOptions)
}

// running adds the "still running" answers of a long-running operation:
// 201 Created for a PUT, 202 Accepted for a DELETE or POST.
func (s *Sim) running(p pollerAdder, status int) {
	for i := 0; i < s.opts.Polls; i++ {
		p.AddNonTerminalResponse(status, nil)
	}
}
