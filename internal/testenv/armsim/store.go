package armsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
)

// entry is one stored resource. Its body is the JSON ARM would return,
// so that no caller shares memory with the store.
type entry struct {
	id       string
	typ      string
	name     string
	group    string
	location string
	tags     map[string]string
	state    string
	body     []byte
	created  time.Time
	// parent is the lower-case id of the resource this one lives in
	// (a subnet's virtual network): deleting the parent deletes it.
	parent string
	// uses are the lower-case ids of resources this one refers to (a NIC's
	// subnet, public IP and NSG; a VM's NICs and disk): those cannot be
	// deleted while it exists.
	uses []string
	// customData is a VM's custom data, which ARM never returns.
	customData string
}

func (e *entry) public() Resource {
	tags := map[string]string{}
	for k, v := range e.tags {
		tags[k] = v
	}
	return Resource{ID: e.id, Type: e.typ, Name: e.name, ResourceGroup: e.group, Location: e.location,
		Tags: tags, ProvisioningState: e.state, Created: e.created}
}

// decode reads an entry's body into v.
func decode[T any](e *entry) T {
	var v T
	_ = json.Unmarshal(e.body, &v)
	return v
}

// encode is v as stored; the SDK models always marshal.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("armsim: encoding %T: %v", v, err))
	}
	return b
}

// clone copies an SDK model through its JSON form.
func clone[T any](v T) T {
	var out T
	_ = json.Unmarshal(encode(v), &out)
	return out
}

// Ids, as ARM spells them.

func (s *Sim) subscriptionScope() string { return "/subscriptions/" + s.opts.SubscriptionID }

func (s *Sim) groupID(group string) string {
	return s.subscriptionScope() + "/resourceGroups/" + group
}

func (s *Sim) resourceID(group, typ, name string) string {
	return s.groupID(group) + "/providers/" + typ + "/" + name
}

// get is the entry with this id; the caller holds s.mu.
func (s *Sim) get(id string) (*entry, bool) {
	e, ok := s.res[strings.ToLower(id)]
	return e, ok
}

// groupExists reports whether a resource group exists; s.mu held.
func (s *Sim) groupExists(group string) bool {
	_, ok := s.get(s.groupID(group))
	return ok
}

// put stores e, keeping the creation time of what it replaces; s.mu held.
func (s *Sim) put(e *entry) {
	key := strings.ToLower(e.id)
	if old, ok := s.res[key]; ok {
		e.created = old.created
		e.id = old.id // ARM keeps the first spelling
	} else if e.created.IsZero() {
		e.created = time.Now().UTC()
	}
	s.res[key] = e
}

// usedBy is the first resource that uses id, other than those in skip;
// s.mu held.
func (s *Sim) usedBy(id string, skip map[string]bool) *entry {
	key := strings.ToLower(id)
	for k, e := range s.res {
		if skip[k] {
			continue
		}
		for _, u := range e.uses {
			if u == key {
				return e
			}
		}
	}
	return nil
}

// inUseCode is ARM's error code for deleting a resource of type typ that
// something still uses.
func inUseCode(typ string) string {
	switch strings.ToLower(typ) {
	case "microsoft.network/networkinterfaces":
		return "NicInUse"
	case "microsoft.network/publicipaddresses":
		return "PublicIPAddressCannotBeDeleted"
	case "microsoft.network/networksecuritygroups":
		return "InUseNetworkSecurityGroupCannotBeDeleted"
	case "microsoft.network/virtualnetworks/subnets", "microsoft.network/virtualnetworks":
		return "InUseSubnetCannotBeDeleted"
	default:
		return "OperationNotAllowed"
	}
}

// remove deletes the entry with id and what lives in it, refusing when a
// resource outside it still uses any of them; s.mu held.
func (s *Sim) remove(id string) *simError {
	key := strings.ToLower(id)
	e, ok := s.res[key]
	if !ok {
		return nil
	}
	doomed := map[string]bool{key: true}
	for k, c := range s.res {
		if c.parent == key || strings.HasPrefix(k, key+"/") {
			doomed[k] = true
		}
	}
	for k := range doomed {
		if u := s.usedBy(k, doomed); u != nil {
			d := s.res[k]
			return &simError{http.StatusBadRequest, inUseCode(d.typ),
				fmt.Sprintf("%s %s is in use by %s and cannot be deleted.", d.typ, d.id, u.id)}
		}
	}
	for k := range doomed {
		delete(s.res, k)
	}
	_ = e
	return nil
}

// missingRef is the first id in refs that does not exist; s.mu held.
func (s *Sim) missingRef(refs []string) string {
	for _, r := range refs {
		if _, ok := s.res[r]; !ok {
			return r
		}
	}
	return ""
}

// A simError is an ARM error answer: status, code and message.
type simError struct {
	status  int
	code    string
	message string
}

func (e *simError) Error() string { return e.code + ": " + e.message }

func notFound(typ, name, group string) *simError {
	return &simError{http.StatusNotFound, "ResourceNotFound",
		fmt.Sprintf("The Resource '%s/%s' under resource group '%s' was not found.", typ, name, group)}
}

func groupNotFound(group string) *simError {
	return &simError{http.StatusNotFound, "ResourceGroupNotFound",
		fmt.Sprintf("Resource group '%s' could not be found.", group)}
}

// Messages travel beside the SDK fakes, which answer errors with a code
// only: the simulation puts ARM's message in the body as ARM does.

type messageKey struct{}

type message struct{ code, text string }

// answer sets errResp from err and keeps its message for the body.
func answer(ctx context.Context, errResp *azfake.ErrorResponder, err *simError) {
	if m, ok := ctx.Value(messageKey{}).(*message); ok {
		m.code, m.text = err.code, err.message
	}
	errResp.SetResponseError(err.status, err.code)
}

// errorResponse is an ARM error answer.
func errorResponse(req *http.Request, status int, code, text string) *http.Response {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": text}})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("x-ms-error-code", code)
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req}
}

// withMessage turns an error the SDK fake raised for an ARM error into the
// HTTP answer ARM gives (status, x-ms-error-code, JSON body with message),
// so that clients in this process and over HTTP see the same thing.
func withMessage(req *http.Request, resp *http.Response, err error, m *message) (*http.Response, error) {
	if err == nil {
		return resp, nil
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.RawResponse == nil {
		return resp, err
	}
	code := re.ErrorCode
	text := m.text
	if text == "" || m.code != code {
		text = code
	}
	return errorResponse(req, re.StatusCode, code, text), nil
}

// deref is *p, or def for nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// getOne answers a GET of the resource with id (typ and name for the 404)
// as the SDK response type R built by wrap.
func getOne[T, R any](s *Sim, ctx context.Context, group, typ, name, id string, wrap func(T) R) (resp azfake.Responder[R], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.get(id)
	if !ok {
		answer(ctx, &errResp, s.missing(group, typ, name))
		return
	}
	resp.SetResponse(http.StatusOK, wrap(decode[T](e)), nil)
	return
}

// deleteOne answers a long-running DELETE of the resource with id:
// refused while something uses it, a success when it is not there.
func deleteOne[R any](s *Sim, ctx context.Context, id string) (resp azfake.PollerResponder[R], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.deleteEntry(id); err != nil {
		answer(ctx, &errResp, err)
		return
	}
	s.running(&resp, http.StatusAccepted)
	var done R
	resp.SetTerminalResponse(http.StatusOK, done, nil)
	return
}

// listIn answers a one-page list of the resources of a type in a group.
func listIn[T, R any](s *Sim, group, typ string, wrap func([]*T) R) (resp azfake.PagerResponder[R]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*T
	for _, e := range s.inGroup(group, typ) {
		v := decode[T](e)
		out = append(out, &v)
	}
	resp.AddPage(http.StatusOK, wrap(out), nil)
	return
}
