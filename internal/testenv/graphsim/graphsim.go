// Package graphsim is a test server for the few Microsoft Graph v1.0
// endpoints k0rdentctl uses to manage a service principal: applications
// (list by filter, get, create, delete), their passwords (addPassword,
// removePassword), service principals (list by filter, create) and the
// organization (the tenant id). Request and response shapes are Graph's
// (learn.microsoft.com/graph/api/application-post-applications,
// application-addpassword, application-removepassword, application-delete,
// serviceprincipal-post-serviceprincipals, organization-list).
//
// It models what makes Graph awkward to script against: a new application
// is not at once visible to the requests that use it (Entra ID
// replication), so the first Lag requests naming it answer as if it did
// not exist; a secret's text is in the addPassword answer only; deleting
// an application deletes its service principal. It serves TLS, because
// azcore's bearer-token policy refuses plain HTTP, and it refuses a
// request without a bearer token.
package graphsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"
)

// Options tune the server.
type Options struct {
	// TenantID is the organization's id; empty: a fixed test GUID.
	TenantID string
	// Lag is how many requests naming a new application (by object id or
	// appId) answer "not found" before it is visible; 0: at once.
	Lag int
	// OnServicePrincipal is called with a new service principal's object
	// id (a test makes it known to its ARM simulation); OnDelete when one
	// is deleted with its application.
	OnServicePrincipal func(objectID string)
	OnDelete           func(objectID string)
}

// Server is a running fake Graph.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	apps     map[string]*app // by object id
	sps      map[string]*sp  // by object id
	calls    []string
	secrets  []string
	failNext map[string]int // "METHOD path-prefix" → status
}

type app struct {
	ID          string     `json:"id"`
	AppID       string     `json:"appId"`
	DisplayName string     `json:"displayName"`
	Passwords   []password `json:"passwordCredentials"`
	lag         int
}

type password struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName,omitempty"`
	EndDateTime time.Time `json:"endDateTime"`
	Hint        string    `json:"hint,omitempty"`
	SecretText  *string   `json:"secretText"`
}

type sp struct {
	ID    string `json:"id"`
	AppID string `json:"appId"`
}

// New starts a server; Close it when done.
func New(opts Options) *Server {
	if opts.TenantID == "" {
		opts.TenantID = "72f988bf-0000-4000-8000-000000000001"
	}
	s := &Server{opts: opts, apps: map[string]*app{}, sps: map[string]*sp{}, failNext: map[string]int{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Endpoint is the v1.0 endpoint to give a client.
func (s *Server) Endpoint() string { return s.srv.URL + "/v1.0" }

// ClientOptions trust the server's certificate.
func (s *Server) ClientOptions() *azcore.ClientOptions {
	return &azcore.ClientOptions{Transport: s.srv.Client(), Retry: policyNoDelay()}
}

// TenantID is the organization's id.
func (s *Server) TenantID() string { return s.opts.TenantID }

// Application is what a test sees of an application.
type Application struct {
	ObjectID, AppID, DisplayName string
	// PasswordKeys are the key ids of its passwords.
	PasswordKeys []string
}

// Applications lists the applications by display name.
func (s *Server) Applications() []Application {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Application
	for _, a := range s.apps {
		x := Application{ObjectID: a.ID, AppID: a.AppID, DisplayName: a.DisplayName}
		for _, p := range a.Passwords {
			x.PasswordKeys = append(x.PasswordKeys, p.KeyID)
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DisplayName < out[j].DisplayName })
	return out
}

// ServicePrincipals are the object ids of the service principals.
func (s *Server) ServicePrincipals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.sps {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Secrets are every secret text the server ever handed out, for tests
// that scan output and records for them.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// Calls are the requests served, "METHOD /path".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// FailNext makes the next n requests whose "METHOD /v1.0/path" starts
// with prefix answer status (500: a transient failure azcore retries; 403:
// a missing permission).
func (s *Server) FailNext(prefix string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[prefix+"\x00"+fmt.Sprint(status)] = n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := r.Method + " " + r.URL.Path
	s.calls = append(s.calls, call)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	for k, n := range s.failNext {
		prefix, status, _ := strings.Cut(k, "\x00")
		if n > 0 && strings.HasPrefix(call, prefix) {
			s.failNext[k] = n - 1
			var code int
			fmt.Sscan(status, &code)
			graphError(w, code, "simulatedFailure", "graphsim was told to fail this request")
			return
		}
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1.0")
	var body map[string]any
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && path == "/organization":
		reply(w, http.StatusOK, map[string]any{"value": []map[string]string{{"id": s.opts.TenantID}}})
	case r.Method == http.MethodGet && path == "/applications":
		s.listApps(w, r.URL.Query().Get("$filter"))
	case r.Method == http.MethodPost && path == "/applications":
		s.createApp(w, body)
	case r.Method == http.MethodGet && path == "/servicePrincipals":
		s.listSPs(w, r.URL.Query().Get("$filter"))
	case r.Method == http.MethodPost && path == "/servicePrincipals":
		s.createSP(w, body)
	default:
		m := appPathRE.FindStringSubmatch(path)
		if m == nil {
			graphError(w, http.StatusNotFound, "UnknownError", "graphsim does not serve "+call)
			return
		}
		a := s.visible(m[1])
		if a == nil {
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", m[1]))
			return
		}
		switch {
		case r.Method == http.MethodGet && m[2] == "":
			reply(w, http.StatusOK, a)
		case r.Method == http.MethodDelete && m[2] == "":
			delete(s.apps, a.ID)
			for id, p := range s.sps {
				if p.AppID == a.AppID {
					delete(s.sps, id)
					if s.opts.OnDelete != nil {
						s.opts.OnDelete(id)
					}
				}
			}
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPost && m[2] == "/addPassword":
			s.addPassword(w, a, body)
		case r.Method == http.MethodPost && m[2] == "/removePassword":
			key, _ := body["keyId"].(string)
			for i, p := range a.Passwords {
				if strings.EqualFold(p.KeyID, key) {
					a.Passwords = append(a.Passwords[:i], a.Passwords[i+1:]...)
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("No password credential found with keyId %s.", key))
		default:
			graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "graphsim does not serve "+call)
		}
	}
}

var (
	appPathRE = regexp.MustCompile(`^/applications/([^/]+)(/addPassword|/removePassword)?$`)
	filterRE  = regexp.MustCompile(`^\s*(displayName|appId)\s+eq\s+'([^']*)'\s*$`)
)

// visible finds an application by object id, counting down its lag; s.mu
// held.
func (s *Server) visible(objectID string) *app {
	a, ok := s.apps[objectID]
	if !ok {
		return nil
	}
	if a.lag > 0 {
		a.lag--
		return nil
	}
	return a
}

func (s *Server) listApps(w http.ResponseWriter, filter string) {
	m := filterRE.FindStringSubmatch(filter)
	if m == nil {
		graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "graphsim filters only by displayName eq or appId eq: "+filter)
		return
	}
	out := []*app{}
	for _, a := range s.apps {
		if (m[1] == "displayName" && a.DisplayName == m[2]) || (m[1] == "appId" && a.AppID == m[2]) {
			if a.lag > 0 { // not yet replicated to the replica that answers
				a.lag--
				continue
			}
			out = append(out, a)
		}
	}
	reply(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) createApp(w http.ResponseWriter, body map[string]any) {
	name, _ := body["displayName"].(string)
	if name == "" {
		graphError(w, http.StatusBadRequest, "Request_BadRequest", "Property 'displayName' is required.")
		return
	}
	a := &app{ID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: name, Passwords: []password{}, lag: s.opts.Lag}
	s.apps[a.ID] = a
	reply(w, http.StatusCreated, a)
}

func (s *Server) addPassword(w http.ResponseWriter, a *app, body map[string]any) {
	pc, _ := body["passwordCredential"].(map[string]any)
	p := password{KeyID: uuid.NewString(), EndDateTime: time.Now().UTC().AddDate(2, 0, 0)}
	if pc != nil {
		p.DisplayName, _ = pc["displayName"].(string)
		if e, ok := pc["endDateTime"].(string); ok {
			t, err := time.Parse(time.RFC3339, e)
			if err != nil {
				graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid endDateTime "+e)
				return
			}
			p.EndDateTime = t
		}
	}
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	text := fmt.Sprintf("gs8Q~%x", b)
	p.Hint = text[:3]
	s.secrets = append(s.secrets, text)
	stored := p
	a.Passwords = append(a.Passwords, stored)
	p.SecretText = &text
	reply(w, http.StatusOK, p)
}

func (s *Server) listSPs(w http.ResponseWriter, filter string) {
	m := filterRE.FindStringSubmatch(filter)
	if m == nil || m[1] != "appId" {
		graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "graphsim filters service principals only by appId eq: "+filter)
		return
	}
	out := []*sp{}
	for _, p := range s.sps {
		if p.AppID == m[2] {
			out = append(out, p)
		}
	}
	reply(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) createSP(w http.ResponseWriter, body map[string]any) {
	appID, _ := body["appId"].(string)
	var a *app
	for _, x := range s.apps {
		if x.AppID == appID {
			a = x
		}
	}
	if a != nil && a.lag > 0 {
		a.lag--
		a = nil
	}
	if a == nil {
		graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("The appId '%s' of the service principal does not reference a valid application object.", appID))
		return
	}
	for _, p := range s.sps {
		if p.AppID == appID {
			graphError(w, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "The service principal cannot be created, updated, or restored because the service principal appId is already in use.")
			return
		}
	}
	p := &sp{ID: uuid.NewString(), AppID: appID}
	s.sps[p.ID] = p
	if s.opts.OnServicePrincipal != nil {
		s.opts.OnServicePrincipal(p.ID)
	}
	reply(w, http.StatusCreated, p)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	reply(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// policyNoDelay keeps azcore's retries (of 500s, 429s) but without its
// 800 ms back-off, so tests stay fast.
func policyNoDelay() policy.RetryOptions {
	return policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
}
