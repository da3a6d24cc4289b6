package regional

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// Kinds of ProbeError.
const (
	ProbeInvalid     = "invalid"     // the kubeconfig does not parse or names no usable context
	ProbeUnreachable = "unreachable" // no connection to the API server
	ProbeRefused     = "refused"     // the API server refused the credentials
	ProbeFailed      = "failed"      // anything else (TLS, server errors)
)

// ProbeError says why a kubeconfig does not give an authenticated answer.
type ProbeError struct {
	Kind   string
	Server string
	Err    error
}

func (e *ProbeError) Error() string {
	switch e.Kind {
	case ProbeInvalid:
		return "the kubeconfig is not usable: " + e.Err.Error()
	case ProbeUnreachable:
		return fmt.Sprintf("%s is unreachable: %v", e.Server, e.Err)
	case ProbeRefused:
		return fmt.Sprintf("%s refused the kubeconfig's credentials: %v", e.Server, e.Err)
	}
	return fmt.Sprintf("no authenticated answer from %s: %v", e.Server, e.Err)
}

func (e *ProbeError) Unwrap() error { return e.Err }

// Probe proves that kubeconfig data reaches a cluster that accepts its
// credentials: it builds clients and makes an authenticated request (a
// SelfSubjectReview; /version and /healthz are readable anonymously and prove
// nothing). It returns the clients and the user the API server sees, or a
// *ProbeError. timeout bounds the request (client-go's retries included: an
// unreachable cluster is reported at once, not waited for).
func Probe(ctx context.Context, data []byte, timeout time.Duration, opts ...kube.Option) (*kube.Clients, string, error) {
	c, err := kube.FromKubeconfig(data, opts...)
	if err != nil {
		return nil, "", &ProbeError{Kind: ProbeInvalid, Err: err}
	}
	pctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	user, err := c.WhoAmI(pctx)
	if err == nil {
		return c, user, nil
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	return nil, "", classify(c.Server, err, pctx.Err() != nil, timeout)
}

func classify(server string, err error, timedOut bool, timeout time.Duration) *ProbeError {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err):
		return &ProbeError{Kind: ProbeRefused, Server: server, Err: errors.New(apiReason(err))}
	case errors.As(err, &opErr):
		return &ProbeError{Kind: ProbeUnreachable, Server: server, Err: opErr}
	case errors.As(err, &dnsErr):
		return &ProbeError{Kind: ProbeUnreachable, Server: server, Err: dnsErr}
	case timedOut:
		return &ProbeError{Kind: ProbeUnreachable, Server: server, Err: fmt.Errorf("no answer within %s", timeout)}
	}
	if strings.Contains(err.Error(), "as anonymous") {
		// kube.WhoAmI: the server answered, but not as any user.
		return &ProbeError{Kind: ProbeRefused, Server: server, Err: errors.New("the request was seen as anonymous: the credentials are missing or not recognised")}
	}
	return &ProbeError{Kind: ProbeFailed, Server: server, Err: err}
}

// apiReason is the API server's answer in a few words: "401 Unauthorized".
func apiReason(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		s := st.Status()
		return fmt.Sprintf("%d %s", s.Code, s.Reason)
	}
	return err.Error()
}
