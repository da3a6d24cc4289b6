package kube

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfigTemplate = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster:
    server: SERVER
    insecure-skip-tls-verify: true
- name: b
  cluster:
    server: https://b.example:6443
users:
- name: u
  user:
    token: secret-token
contexts:
- name: ctx-a
  context: {cluster: a, user: u, namespace: team}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
`

func writeKubeconfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mgmt.kubeconfig")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConnectUsesOnlyTheGivenFile(t *testing.T) {
	// TLS: client-go sends credentials only over TLS.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" || r.Header.Get("Authorization") != "Bearer secret-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"gitVersion":"v1.34.2"}`)
	}))
	defer srv.Close()
	// A KUBECONFIG pointing elsewhere must not matter.
	t.Setenv("KUBECONFIG", writeKubeconfig(t, strings.ReplaceAll(kubeconfigTemplate, "SERVER", "https://wrong.example:6443")))
	path := writeKubeconfig(t, strings.ReplaceAll(kubeconfigTemplate, "SERVER", srv.URL))

	c, err := Connect(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != srv.URL || c.Context != "ctx-a" || c.Source != path {
		t.Fatalf("clients for %s, context %s, source %s", c.Server, c.Context, c.Source)
	}
	v, err := c.Ping(t.Context())
	if err != nil || v != "v1.34.2" {
		t.Fatalf("Ping = %q, %v", v, err)
	}
	ns, _, err := c.RESTClientGetter("kcm-system").ToRawKubeConfigLoader().Namespace()
	if err != nil || ns != "kcm-system" {
		t.Fatalf("Helm's namespace = %q, %v; want kcm-system", ns, err)
	}

	b, err := Connect(t.Context(), path, WithContext("ctx-b"))
	if err != nil || b.Server != "https://b.example:6443" {
		t.Fatalf("WithContext(ctx-b): %v, %v", b, err)
	}
}

func TestConnectErrorsNameTheFileAndSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.kubeconfig")
	garbage := writeKubeconfig(t, "this: [is not a kubeconfig")
	good := writeKubeconfig(t, strings.ReplaceAll(kubeconfigTemplate, "SERVER", "https://a.example:6443"))
	noCurrent := writeKubeconfig(t, strings.ReplaceAll(strings.ReplaceAll(kubeconfigTemplate, "SERVER", "https://a.example:6443"), "current-context: ctx-a", ""))
	for _, tc := range []struct {
		name string
		path string
		opts []Option
		want []string
	}{
		{"empty", "", nil, []string{"no kubeconfig given", "--kubeconfig"}},
		{"missing", missing, nil, []string{missing, "does not exist", "--kubeconfig"}},
		{"garbage", garbage, nil, []string{garbage, "not a valid kubeconfig"}},
		{"unknown context", good, []Option{WithContext("nope")}, []string{good, `no context "nope"`, "ctx-a, ctx-b"}},
		{"no current context", noCurrent, nil, []string{noCurrent, "no current-context", "ctx-a, ctx-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Connect(t.Context(), tc.path, tc.opts...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPingSaysHowToFix(t *testing.T) {
	path := writeKubeconfig(t, strings.ReplaceAll(kubeconfigTemplate, "SERVER", "http://127.0.0.1:1"))
	c, err := Connect(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Ping(t.Context())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Kubernetes API server") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Ping error %v should name the server and the kubeconfig", err)
	}
}
