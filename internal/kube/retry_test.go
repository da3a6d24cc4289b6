package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// apiServer answers discovery for ConfigMaps and sends every request for
// the ConfigMap objects to object, counting them.
func apiServer(t *testing.T, object http.HandlerFunc) (*Clients, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api":
			_, _ = io.WriteString(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case r.URL.Path == "/apis":
			_, _ = io.WriteString(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
		case r.URL.Path == "/api/v1":
			_, _ = io.WriteString(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["get","create"]}]}`)
		case strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/kcm-system/configmaps"):
			hits.Add(1)
			object(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := FromRESTConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c, &hits
}

// status writes a Kubernetes Status error.
func status(w http.ResponseWriter, code int, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","code":%d,"reason":%q,"message":"test"}`, code, map[int]string{429: "TooManyRequests", 503: "ServiceUnavailable", 500: "InternalError"}[code])
}

// One request that keeps failing is sent at most MaxAttemptsPerRequest
// times, by client-go alone: there is no second layer of retries.
func TestOneFailingRequestIsSentAtMostMaxAttemptsPerRequest(t *testing.T) {
	if MaxAttemptsPerRequest != 11 {
		t.Fatalf("MaxAttemptsPerRequest = %d; client-go v0.34 sends a request at most 11 times", MaxAttemptsPerRequest)
	}
	for name, tc := range map[string]struct {
		code       int
		retryAfter string
		create     bool
		want       int32
		is         func(error) bool
	}{
		// The server says it did not act and when to come back: client-go
		// tries again, up to its bound, for a read and for a create.
		"503 with Retry-After, get":    {503, "0", false, MaxAttemptsPerRequest, apierrors.IsServiceUnavailable},
		"429 with Retry-After, create": {429, "0", true, MaxAttemptsPerRequest, apierrors.IsTooManyRequests},
		// Without Retry-After the answer is returned at once.
		"503 without Retry-After": {503, "", false, 1, apierrors.IsServiceUnavailable},
		"500 on a create":         {500, "", true, 1, apierrors.IsInternalError},
	} {
		t.Run(name, func(t *testing.T) {
			c, hits := apiServer(t, func(w http.ResponseWriter, _ *http.Request) { status(w, tc.code, tc.retryAfter) })
			var err error
			if tc.create {
				err = c.Client.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kcm-system", Name: "x"}})
			} else {
				err = c.Client.Get(t.Context(), client.ObjectKey{Namespace: "kcm-system", Name: "x"}, &corev1.ConfigMap{})
			}
			if !tc.is(err) {
				t.Fatalf("err = %v, want the server's answer", err)
			}
			if got := hits.Load(); got != tc.want {
				t.Fatalf("the request was sent %d times, want %d", got, tc.want)
			}
		})
	}
}

// A connection that is refused is not retried: the caller (a wait, or the
// operator) decides.
func TestRefusedConnectionIsReturnedAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c, err := FromRESTConfig(&rest.Config{Host: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Client.Get(t.Context(), client.ObjectKey{Namespace: "kcm-system", Name: "x"}, &corev1.ConfigMap{})
	if err == nil || !IsTransient(err) {
		t.Fatalf("err = %v, want a refused connection, which is transient", err)
	}
}

func TestIsTransientUsesTypedPredicates(t *testing.T) {
	gr := schema.GroupResource{Resource: "regions"}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for err, want := range map[error]bool{
		apierrors.NewTooManyRequests("slow down", 1):                 true,
		apierrors.NewServiceUnavailable("starting"):                  true,
		apierrors.NewServerTimeout(gr, "get", 1):                     true,
		apierrors.NewTimeoutError("timeout", 1):                      true,
		fmt.Errorf("get: %w", refused):                               true,
		fmt.Errorf("get: %w", reset):                                 true,
		io.ErrUnexpectedEOF:                                          true,
		apierrors.NewNotFound(gr, "x"):                               false,
		apierrors.NewForbidden(gr, "x", errors.New("no")):            false,
		apierrors.NewInternalError(errors.New("bug")):                false,
		context.Canceled:                                             false,
		fmt.Errorf("waiting: %w", context.DeadlineExceeded):          false,
		errors.New("TooManyRequests: the text alone proves nothing"): false,
	} {
		if got := IsTransient(err); got != want {
			t.Errorf("IsTransient(%v) = %t, want %t", err, got, want)
		}
	}
}
