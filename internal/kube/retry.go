package kube

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Retries.
//
// One request is retried by client-go alone, never again by k0rdentctl: its
// REST client tries a request again, at most ClientGoMaxRetries times, when
// the server answered 429 or 5xx with a Retry-After header (it says it did
// not act on the request and when to come back), and when the connection of
// a GET broke (reset, EOF), waiting as Retry-After says. So one request is
// sent at most MaxAttemptsPerRequest times. A 5xx without Retry-After, a
// refused connection or a failed write is returned at once.
//
// Waiting for something to happen (a Region to become Ready, an object to be
// gone) polls with WaitFor, on wait.PollUntilContextTimeout; a check that
// meets a transient error (IsTransient) keeps waiting instead of failing.
const (
	// ClientGoMaxRetries is client-go's own bound (rest.Request's default
	// maxRetries, which controller-runtime's client keeps).
	ClientGoMaxRetries = 10
	// MaxAttemptsPerRequest is how often one request is sent at most.
	MaxAttemptsPerRequest = 1 + ClientGoMaxRetries
)

// IsTransient reports whether err is worth trying again later: the API
// server was overloaded or unavailable (429, 503, 504, a server timeout) or
// the connection could not be made or broke (refused, reset, EOF, HTTP/2
// connection lost). It uses apimachinery's predicates, never error text. The
// end of a context is not transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) ||
		utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err)
}
