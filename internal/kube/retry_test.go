package kube

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func fastPolicy(attempts int) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, MaxRetryAfter: 5 * time.Second}
}

// countingTransport counts the requests that reach the real transport.
type countingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// failFirst answers the first n requests with status (and header), then 200.
func failFirst(t *testing.T, n int32, status int, header http.Header) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= n {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "try later")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func do(t *testing.T, rt http.RoundTripper, ctx context.Context, method, url string, body []byte, contentType string) (*http.Response, error) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return (&http.Client{Transport: rt}).Do(req)
}

func TestRetryTransientStatusThenSuccess(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv, hits := failFirst(t, 2, status, nil)
			resp, err := do(t, NewRetryTransport(nil, fastPolicy(5)), t.Context(), http.MethodGet, srv.URL, nil, "")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(b) != "ok" {
				t.Fatalf("got %d %q, want 200 ok", resp.StatusCode, b)
			}
			if got := hits.Load(); got != 3 {
				t.Fatalf("server saw %d requests, want 3", got)
			}
		})
	}
}

func TestRetryBoundedAttempts(t *testing.T) {
	srv, hits := failFirst(t, 100, http.StatusServiceUnavailable, nil)
	resp, err := do(t, NewRetryTransport(nil, fastPolicy(4)), t.Context(), http.MethodGet, srv.URL, nil, "")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want the last 503", resp.StatusCode)
	}
	if got := hits.Load(); got != 4 {
		t.Fatalf("server saw %d requests, want 4 (MaxAttempts)", got)
	}
}

func TestRetryNotForErrorsThatAreNotTransient(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusNotImplemented} {
		srv, hits := failFirst(t, 100, status, nil)
		resp, err := do(t, NewRetryTransport(nil, fastPolicy(5)), t.Context(), http.MethodGet, srv.URL, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status || hits.Load() != 1 {
			t.Errorf("status %d: got %d after %d requests, want it once", status, resp.StatusCode, hits.Load())
		}
	}
}

func TestRetryPOSTOnlyWhenNotProcessed(t *testing.T) {
	// A 500 may mean the object was created: a POST is not repeated.
	srv, hits := failFirst(t, 1, http.StatusInternalServerError, nil)
	resp, err := do(t, NewRetryTransport(nil, fastPolicy(5)), t.Context(), http.MethodPost, srv.URL, []byte(`{}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || hits.Load() != 1 {
		t.Fatalf("POST after 500: status %d after %d requests, want 500 after 1", resp.StatusCode, hits.Load())
	}
	// A 429 was refused unprocessed: a POST is repeated.
	srv, hits = failFirst(t, 1, http.StatusTooManyRequests, nil)
	resp, err = do(t, NewRetryTransport(nil, fastPolicy(5)), t.Context(), http.MethodPost, srv.URL, []byte(`{}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 2 {
		t.Fatalf("POST after 429: status %d after %d requests, want 200 after 2", resp.StatusCode, hits.Load())
	}
	// Server-side apply is idempotent; a JSON patch is not.
	srv, hits = failFirst(t, 1, http.StatusServiceUnavailable, nil)
	resp, err = do(t, NewRetryTransport(nil, fastPolicy(5)), t.Context(), http.MethodPatch, srv.URL, []byte(`{}`), "application/apply-patch+yaml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 2 {
		t.Fatalf("apply PATCH after 503: status %d after %d requests, want 200 after 2", resp.StatusCode, hits.Load())
	}
	srv, hits = failFirst(t, 1, http.StatusServiceUnavailable, nil)
	resp, err = do(t, NewRetryTransport(nil, fastPolicy(5)), t.Context(), http.MethodPatch, srv.URL, []byte(`[]`), "application/json-patch+json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || hits.Load() != 1 {
		t.Fatalf("JSON PATCH after 503: status %d after %d requests, want 503 after 1", resp.StatusCode, hits.Load())
	}
}

func TestRetryReplaysBody(t *testing.T) {
	var hits atomic.Int32
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	resp, err := do(t, NewRetryTransport(nil, fastPolicy(3)), t.Context(), http.MethodPut, srv.URL, []byte(`{"a":1}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusOK || len(bodies) != 2 || bodies[0] != `{"a":1}` || bodies[1] != `{"a":1}` {
		t.Fatalf("status %d, bodies %q: want 200 and the same body twice", resp.StatusCode, bodies)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	srv, hits := failFirst(t, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}})
	start := time.Now()
	resp, err := do(t, NewRetryTransport(nil, fastPolicy(3)), t.Context(), http.MethodGet, srv.URL, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Fatalf("retried after %s, want at least the 1s of Retry-After", elapsed)
	}
	if resp.StatusCode != http.StatusOK || hits.Load() != 2 {
		t.Fatalf("status %d after %d requests, want 200 after 2", resp.StatusCode, hits.Load())
	}
}

func TestRetryAfterLongerThanPolicyIsReturned(t *testing.T) {
	srv, hits := failFirst(t, 1, http.StatusServiceUnavailable, http.Header{"Retry-After": {"3600"}})
	start := time.Now()
	resp, err := do(t, NewRetryTransport(nil, fastPolicy(3)), t.Context(), http.MethodGet, srv.URL, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || hits.Load() != 1 || time.Since(start) > time.Second {
		t.Fatalf("status %d after %d requests in %s, want the 503 at once", resp.StatusCode, hits.Load(), time.Since(start))
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	srv, _ := failFirst(t, 100, http.StatusServiceUnavailable, http.Header{"Retry-After": {"4"}})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := do(t, NewRetryTransport(nil, fastPolicy(5)), ctx, http.MethodGet, srv.URL, nil, "")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("returned after %s, want soon after the 200ms deadline", elapsed)
	}
}

func TestRetryConnectionRefused(t *testing.T) {
	// A port that nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	counter := &countingTransport{next: http.DefaultTransport}
	_, err = do(t, NewRetryTransport(counter, fastPolicy(3)), t.Context(), http.MethodPost, "http://"+addr+"/", []byte(`{}`), "application/json")
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 3 || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want a RetryError after 3 attempts wrapping ECONNREFUSED", err)
	}
	if counter.n.Load() != 3 {
		t.Fatalf("%d attempts, want 3", counter.n.Load())
	}
}

func TestRetryConnectionDroppedMidRequest(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			// Drop the connection without an answer: the client reads EOF.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := do(t, NewRetryTransport(tr, fastPolicy(3)), t.Context(), http.MethodGet, srv.URL, nil, "")
	if err != nil {
		t.Fatalf("GET after a dropped connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 2 {
		t.Fatalf("status %d after %d requests, want 200 after 2", resp.StatusCode, hits.Load())
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"7":                             7 * time.Second,
		"0":                             0,
		"Wed, 25 Nov 2026 12:00:09 GMT": 9 * time.Second,
		"Wed, 25 Nov 2026 11:00:00 GMT": 0,
	} {
		got, ok := retryAfter(in, now)
		if !ok || got != want {
			t.Errorf("retryAfter(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "-3"} {
		if _, ok := retryAfter(in, now); ok {
			t.Errorf("retryAfter(%q) accepted", in)
		}
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	tr := NewRetryTransport(nil, RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}).(*retryTransport)
	for attempt, max := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 8: time.Second} {
		for range 50 {
			d := tr.backoff(attempt)
			if d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", attempt, d, max/2, max)
			}
		}
	}
}

// TestClientsRetryThroughClientGo checks that Clients built by FromRESTConfig
// send their requests through the retrying transport.
func TestClientsRetryThroughClientGo(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first two requests, whatever they are (discovery comes
		// first), fail.
		if hits.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api":
			_, _ = io.WriteString(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case r.URL.Path == "/apis":
			_, _ = io.WriteString(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
		case r.URL.Path == "/api/v1":
			_, _ = io.WriteString(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["get"]}]}`)
		case strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/kcm-system/configmaps/x"):
			_, _ = io.WriteString(w, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kcm-system"},"data":{"k":"v"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := FromRESTConfig(&rest.Config{Host: srv.URL}, WithRetryPolicy(fastPolicy(5)))
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := c.Client.Get(t.Context(), client.ObjectKey{Namespace: "kcm-system", Name: "x"}, &cm); err != nil {
		t.Fatalf("Get through two 503s: %v", err)
	}
	if cm.Data["k"] != "v" {
		t.Fatalf("got %v, want data k=v", cm.Data)
	}
}
