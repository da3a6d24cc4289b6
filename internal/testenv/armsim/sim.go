package armsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/fake/server"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Options shape a simulation. The zero value is a usable one.
type Options struct {
	// SubscriptionID is the one subscription the simulation has;
	// requests for any other are answered 404 SubscriptionNotFound.
	SubscriptionID string
	// TenantID is the subscription's tenant.
	TenantID string
	// Polls is how many "still running" answers a long-running operation
	// gives before its result (default 1).
	Polls int
	// Latency is added to every call (a poll is a call).
	Latency time.Duration
	// LatencyFor overrides Latency for an API ("VirtualMachinesClient" or
	// "VirtualMachinesClient.BeginCreateOrUpdate"; the longer name wins).
	LatencyFor map[string]time.Duration
	// FaultRate is the fraction of calls answered, before the simulation
	// sees them, with 429 Too Many Requests (Retry-After-Ms: RetryAfter)
	// or 500 Internal Server Error, half each.
	FaultRate float64
	// RetryAfter is what a 429 asks the client to wait (default 10ms).
	RetryAfter time.Duration
	// PollInterval is the Retry-After-Ms of a long-running operation's
	// "still running" answers (default 5ms), which the SDK's pollers
	// honour instead of their own frequency.
	PollInterval time.Duration
	// Seed makes the faults repeatable (default 1).
	Seed int64
	// Catalog is what the subscription is offered: sizes, images, quota
	// and registered resource providers (default DefaultCatalog()).
	Catalog *Catalog
}

// DefaultSubscriptionID is the subscription of a simulation whose Options
// name none.
const DefaultSubscriptionID = "00000000-0000-0000-0000-00000000a2b1"

// DefaultTenantID is the tenant of a simulation whose Options name none.
const DefaultTenantID = "00000000-0000-0000-0000-0000000000e1"

// Sim is one simulated subscription. It is safe for concurrent use.
type Sim struct {
	opts    Options
	catalog Catalog

	mu         sync.Mutex
	res        map[string]*entry // by lower-case id
	rng        *rand.Rand
	log        []Call
	vmFaults   map[string][]VMFault // by lower-case VM name
	spotFaults []VMFault
	principals map[string]bool
	nextIP     int
	// pending are messages of errors that long-running operations give
	// at their end, by lower-case path.
	pending map[string]message

	transports map[string]policy.Transporter // by SDK client name
	// routes are the transports serving the long-running operation on a
	// path (lower case), so that its polls reach the fake that started it;
	// stale paths ended in an error, after which the SDK fake would keep
	// answering "empty" for that path: their next operation gets a fresh
	// transport.
	routes map[string]policy.Transporter
	stale  map[string]bool
}

// Call is one request the simulation answered.
type Call struct {
	// API is the SDK operation, e.g. "VirtualMachinesClient.BeginCreateOrUpdate".
	API    string
	Method string
	Path   string
	// Status is the HTTP status answered (0 when the answer was an error
	// the SDK's fake raised without a response).
	Status int
	// Fault is "429" or "500" when the call was answered by fault
	// injection, before the simulation saw it.
	Fault string
	Start time.Time
	End   time.Time
}

// New starts a simulation.
func New(opts Options) *Sim {
	if opts.SubscriptionID == "" {
		opts.SubscriptionID = DefaultSubscriptionID
	}
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.Polls <= 0 {
		opts.Polls = 1
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 10 * time.Millisecond
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Millisecond
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	cat := opts.Catalog
	if cat == nil {
		cat = DefaultCatalog()
	}
	s := &Sim{
		opts:       opts,
		catalog:    cat.clone(),
		res:        map[string]*entry{},
		rng:        rand.New(rand.NewSource(opts.Seed)),
		vmFaults:   map[string][]VMFault{},
		principals: map[string]bool{},
		pending:    map[string]message{},
	}
	s.transports = s.newTransports()
	s.routes, s.stale = map[string]policy.Transporter{}, map[string]bool{}
	return s
}

// newTransports are the SDK fake transports of every simulated client.
func (s *Sim) newTransports() map[string]policy.Transporter {
	m := map[string]policy.Transporter{}
	for _, reg := range []func(map[string]policy.Transporter){s.resourcesTransports, s.networkTransports, s.computeTransports, s.authorizationTransports} {
		reg(m)
	}
	return m
}

// route picks the transport for a request: a poll goes where its
// operation started; a new operation on a path whose last one failed gets
// fresh fakes.
func (s *Sim) route(req *http.Request, client string, tr policy.Transporter) (policy.Transporter, string) {
	clean := server.SanitizePagerPollerPath(req.URL.Path)
	base := strings.ToLower(clean)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case clean != req.URL.Path:
		if t, ok := s.routes[base]; ok {
			return t, base
		}
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		if s.stale[base] {
			tr = s.newTransports()[client]
			delete(s.stale, base)
		}
		s.routes[base] = tr
	}
	return tr, base
}

// SubscriptionID is the simulated subscription.
func (s *Sim) SubscriptionID() string { return s.opts.SubscriptionID }

// TenantID is the simulated subscription's tenant.
func (s *Sim) TenantID() string { return s.opts.TenantID }

// Credential is a token credential the simulation accepts (any is).
func Credential() azcore.TokenCredential { return &azfake.TokenCredential{} }

// ClientOptions are options for any ARM client of the SDK packages the
// simulation serves, in this process. Retries keep the SDK's policy
// (3 retries, honouring Retry-After) with short delays so that tests
// with faults stay fast.
func (s *Sim) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: s,
		Retry:     testRetry(),
	}}
}

func testRetry() policy.RetryOptions {
	return policy.RetryOptions{RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}
}

// Do answers one request: it is the transport behind ClientOptions.
func (s *Sim) Do(req *http.Request) (*http.Response, error) {
	api, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	call := Call{API: api, Method: req.Method, Path: req.URL.Path, Start: time.Now()}
	resp, err := s.do(req, api, &call)
	call.End = time.Now()
	if resp != nil {
		call.Status = resp.StatusCode
	} else {
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			call.Status = re.StatusCode
		}
	}
	s.mu.Lock()
	s.log = append(s.log, call)
	s.mu.Unlock()
	return resp, err
}

func (s *Sim) do(req *http.Request, api string, call *Call) (*http.Response, error) {
	if api == "" {
		return nil, fmt.Errorf("armsim: request %s %s carries no SDK API name (use the SDK clients with ClientOptions)", req.Method, req.URL.Path)
	}
	client, _, _ := strings.Cut(api, ".")
	tr, ok := s.transports[client]
	if !ok {
		return nil, fmt.Errorf("armsim: %s is not simulated", client)
	}
	if d := s.latency(api); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		case <-t.C:
		}
	}
	if sub := subscriptionOf(req.URL.Path); sub != "" && !strings.EqualFold(sub, s.opts.SubscriptionID) {
		return errorResponse(req, http.StatusNotFound, "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", sub)), nil
	}
	if f := s.fault(); f != 0 {
		call.Fault = fmt.Sprint(f)
		resp := errorResponse(req, f, map[int]string{429: "TooManyRequests", 500: "InternalServerError"}[f], "injected by the simulation")
		if f == http.StatusTooManyRequests {
			resp.Header.Set("Retry-After-Ms", fmt.Sprint(s.opts.RetryAfter.Milliseconds()))
		}
		return resp, nil
	}
	msg := &message{}
	// Azure carries out a request whether or not the client waits for the
	// answer; the SDK's fakes also panic when a request's context ends
	// while they answer it (they send on the channel they closed). So the
	// fake answers under a context that does not end, and a client that
	// went away gets its context's error, the change made all the same.
	clientCtx := req.Context()
	req = req.WithContext(context.WithValue(context.WithoutCancel(clientCtx), messageKey{}, msg))
	tr, key := s.route(req, client, tr)
	resp, err := tr.Do(req)
	if clientCtx.Err() != nil && err == nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, clientCtx.Err()
	}
	if err != nil {
		s.mu.Lock()
		s.stale[key] = true
		if m, ok := s.pending[key]; ok && msg.text == "" {
			*msg = m
			delete(s.pending, key)
		}
		s.mu.Unlock()
	}
	if resp != nil {
		if st := resp.Header.Get("Fake-Poller-Status"); st != "" && !terminal(st) {
			resp.Header.Set("Retry-After-Ms", fmt.Sprint(s.opts.PollInterval.Milliseconds()))
		}
	}
	return withMessage(req, resp, err, msg)
}

func terminal(status string) bool {
	switch strings.ToLower(status) {
	case "succeeded", "failed", "canceled", "cancelled":
		return true
	}
	return false
}

func (s *Sim) latency(api string) time.Duration {
	if d, ok := s.opts.LatencyFor[api]; ok {
		return d
	}
	client, _, _ := strings.Cut(api, ".")
	if d, ok := s.opts.LatencyFor[client]; ok {
		return d
	}
	return s.opts.Latency
}

func (s *Sim) fault() int {
	if s.opts.FaultRate <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rng.Float64() >= s.opts.FaultRate {
		return 0
	}
	if s.rng.Intn(2) == 0 {
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// Calls is how many calls the simulation answered, by API, and in all.
func (s *Sim) Calls() (byAPI map[string]int, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byAPI = map[string]int{}
	for _, c := range s.log {
		byAPI[c.API]++
	}
	return byAPI, len(s.log)
}

// Log is every call answered so far, in order.
func (s *Sim) Log() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.log...)
}

// ResetLog forgets the calls answered so far (to count a second run).
func (s *Sim) ResetLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// Mutations are the calls that changed, or tried to change, something:
// PUT, PATCH, POST and DELETE, without fault-injected ones and polls.
func (s *Sim) Mutations() []Call {
	var out []Call
	for _, c := range s.Log() {
		if c.Fault != "" || c.Method == http.MethodGet || c.Method == http.MethodHead {
			continue
		}
		out = append(out, c)
	}
	return out
}

// Resource is what a test sees of one simulated resource.
type Resource struct {
	ID                string
	Type              string
	Name              string
	ResourceGroup     string
	Location          string
	Tags              map[string]string
	ProvisioningState string
	Created           time.Time
}

// Resources lists every resource, resource groups included, sorted by id.
func (s *Sim) Resources() []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Resource, 0, len(s.res))
	for _, e := range s.res {
		out = append(out, e.public())
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].ID) < strings.ToLower(out[j].ID) })
	return out
}

// Resource returns one resource by id.
func (s *Sim) Resource(id string) (Resource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.res[strings.ToLower(id)]
	if !ok {
		return Resource{}, false
	}
	return e.public(), true
}

// Value decodes the stored ARM body of the resource with this id into v
// (e.g. *armcompute.VirtualMachine).
func (s *Sim) Value(id string, v any) error {
	s.mu.Lock()
	e, ok := s.res[strings.ToLower(id)]
	var b []byte
	if ok {
		b = e.body
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("armsim: no resource %s", id)
	}
	return json.Unmarshal(b, v)
}

// subscriptionOf is the subscription id in an ARM path, or "".
func subscriptionOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		return parts[1]
	}
	return ""
}
