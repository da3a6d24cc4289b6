package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RetryPolicy says how the retrying transport retries a request that failed
// for a transient reason.
//
// What is retried:
//   - a connection that could not be made (connection refused, no route,
//     DNS failure): the server never saw the request, so every method is
//     retried;
//   - HTTP 429 Too Many Requests: the server rejected the request without
//     acting on it, so every method is retried;
//   - HTTP 500, 502, 503 and 504, and a connection that broke while the
//     request was under way (EOF, connection reset): the server may have acted
//     on the request, so only requests that are safe to repeat are retried:
//     GET, HEAD, OPTIONS, PUT, DELETE and server-side apply PATCH; never a
//     POST (a create), which would fail with AlreadyExists or create a second
//     object with generateName.
//
// A Retry-After header (seconds or an HTTP date) is honoured: the next attempt
// waits at least that long. When the server asks for a wait longer than
// MaxRetryAfter the response is returned as it is, so the caller sees why.
// Otherwise the wait grows exponentially from BaseDelay to MaxDelay with
// random jitter. A request whose context ends stops waiting at once.
// A request with a body is retried only when the body can be replayed
// (http.Request.GetBody is set, as it is for every client-go request).
//
// client-go keeps its own handling of Retry-After on top of this transport.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts in all, the first included.
	// Zero means DefaultRetryPolicy's; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; zero means the default.
	BaseDelay time.Duration
	// MaxDelay bounds the exponential wait; zero means the default.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After that is waited for; zero means
	// the default.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is the policy of clients made by Connect: 6 attempts,
// waits of about 250ms, 500ms, 1s, 2s, 4s (at most 8s each), and Retry-After up
// to 30s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:   6,
		BaseDelay:     250 * time.Millisecond,
		MaxDelay:      8 * time.Second,
		MaxRetryAfter: 30 * time.Second,
	}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = d.MaxRetryAfter
	}
	return p
}

// Wrap returns next wrapped in a transport that retries with this policy. It
// has the signature of rest.Config.WrapTransport's functions.
func (p RetryPolicy) Wrap(next http.RoundTripper) http.RoundTripper {
	return NewRetryTransport(next, p)
}

// NewRetryTransport returns an http.RoundTripper that sends requests through
// next and retries them as policy says. A nil next means
// http.DefaultTransport.
func NewRetryTransport(next http.RoundTripper, policy RetryPolicy) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &retryTransport{next: next, policy: policy.withDefaults()}
}

type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
}

// RetryError is returned when every attempt of a request failed with a
// transport error. It wraps the last one.
type RetryError struct {
	Method   string
	URL      string
	Attempts int
	Err      error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("%s %s failed %d times, the last time with: %v", e.Method, e.URL, e.Attempts, e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// WrappedRoundTripper lets client-go's transport debugging see the next
// transport.
func (t *retryTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		try := req
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("replaying the body of %s %s: %w", req.Method, redactURL(req), err)
			}
			try = req.Clone(ctx)
			try.Body = body
		}
		resp, err := t.next.RoundTrip(try)

		last := attempt >= t.policy.MaxAttempts || !replayable
		var wait time.Duration
		switch {
		case err != nil:
			if last || ctx.Err() != nil || !retryableError(err, req.Method) {
				if attempt > 1 && ctx.Err() == nil {
					return nil, &RetryError{Method: req.Method, URL: redactURL(req), Attempts: attempt, Err: err}
				}
				return nil, err
			}
			wait = t.backoff(attempt)
		case retryableStatus(resp.StatusCode, req):
			if last {
				return resp, nil
			}
			after, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if ok && after > t.policy.MaxRetryAfter {
				// The server wants more patience than the policy has: let the
				// caller see the answer.
				return resp, nil
			}
			wait = t.backoff(attempt)
			if ok && after > wait {
				wait = after
			}
			drain(resp)
		default:
			return resp, err
		}

		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%s %s: gave up waiting to retry after attempt %d: %w", req.Method, redactURL(req), attempt, ctx.Err())
		case <-timer.C:
		}
	}
}

// backoff is the wait after the given failed attempt: exponential from
// BaseDelay, capped by MaxDelay, with "equal jitter" (half fixed, half random)
// so that many clients do not retry in step.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.policy.BaseDelay
	for i := 1; i < attempt && d < t.policy.MaxDelay; i++ {
		d *= 2
	}
	if d > t.policy.MaxDelay {
		d = t.policy.MaxDelay
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryableStatus reports whether a response status is transient for this
// request.
func retryableStatus(code int, req *http.Request) bool {
	switch code {
	case http.StatusTooManyRequests:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return idempotent(req)
	}
	return false
}

// idempotent reports whether repeating a request that the server may already
// have acted on is harmless.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPatch:
		// Server-side apply states the whole intent: applying it twice is
		// applying it once. Other patches (JSON patch "add" to a list) are not.
		return strings.HasPrefix(req.Header.Get("Content-Type"), "application/apply-patch")
	}
	return false
}

// retryableError reports whether a transport error is transient for a
// request with this method.
func retryableError(err error, method string) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// The request never left: safe for every method.
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout) {
		return true
	}
	// The connection broke under way: the server may have acted.
	broken := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "http2: client connection lost") ||
		strings.Contains(err.Error(), "server sent GOAWAY") ||
		strings.Contains(err.Error(), "connection reset by peer")
	if !broken {
		return false
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		d := at.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// drain reads a little of a response that is about to be retried and closes
// it, so that its connection can be reused.
func drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// redactURL is the request's URL without its query (which may hold a token
// in some exec plugins' flows) for error messages.
func redactURL(req *http.Request) string {
	if req.URL == nil {
		return ""
	}
	u := *req.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}
