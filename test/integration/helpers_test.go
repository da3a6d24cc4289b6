// Package integration holds k0rdentctl's integration tests: real API servers
// (kube-apiserver and etcd built from source, started by internal/testenv)
// with the real k0rdent CRDs and chart, and a stand-in for k0rdent's
// controllers (internal/testenv/standin). They are one package so that one
// test binary links the kcm API and Helm.
package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv/standin"
)

// testTimeout bounds each wait of the code under test: long enough for a
// loaded CI machine, short enough that a hang fails the test.
const testTimeout = 2 * time.Minute

// kcmChartDir is the kcm chart in the kcm module (templates/provider/kcm),
// found through the module that go.mod requires, as testenv finds its CRDs.
func kcmChartDir(t *testing.T) string {
	t.Helper()
	crds, err := testenv.KCMCRDDir(t.Context())
	if err != nil {
		t.Fatalf("finding the kcm module: %v", err)
	}
	dir := filepath.Dir(filepath.Dir(crds)) // .../templates/provider/kcm/templates/crds -> .../kcm
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Fatalf("the kcm chart is not at %s: %v", dir, err)
	}
	return dir
}

// chartValues are the values the real kcm chart needs where no controllers
// run and its remote subcharts are not vendored: Flux and rbac-manager off,
// and the regional subchart's cert-manager and velero off. The admission
// webhook (which needs cert-manager) is off by default in this chart.
func chartValues() map[string]any {
	return map[string]any{
		"flux2":        map[string]any{"enabled": false},
		"rbac-manager": map[string]any{"enabled": false},
		"regional": map[string]any{
			"cert-manager": map[string]any{"enabled": false},
			"velero":       map[string]any{"enabled": false},
		},
	}
}

// connect builds kube.Clients from the cluster's kubeconfig file, the way
// the CLI does from a user's kubeconfig.
func connect(t *testing.T, c *testenv.Cluster) *kube.Clients {
	t.Helper()
	kc, err := kube.Connect(t.Context(), c.KubeconfigPath)
	if err != nil {
		t.Fatalf("connecting to the test API server: %v", err)
	}
	return kc
}

// startKCM starts the kcm stand-in in a loop until the test ends; the loop's
// errors are logged (transient ones are expected while a chart is being
// installed or removed).
func startKCM(t *testing.T, kc *kube.Clients, version string, configure func(*standin.KCM)) (*standin.KCM, *standin.Loop) {
	t.Helper()
	k := standin.NewKCM(kc, version)
	if configure != nil {
		configure(k)
	}
	loop := standin.NewLoop(k)
	stop := loop.Start(context.Background())
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Logf("stand-in errors (informational): %v", err)
		}
	})
	return k, loop
}

// lines collects progress messages; safe for concurrent use.
type lines struct {
	mu  sync.Mutex
	all []string
	t   *testing.T
	// on, when set, is called with each new line (outside the lock).
	on func(string)
}

func newLines(t *testing.T) *lines { return &lines{t: t} }

func (l *lines) add(s string) {
	l.mu.Lock()
	l.all = append(l.all, s)
	on := l.on
	l.mu.Unlock()
	l.t.Logf("progress: %s", s)
	if on != nil {
		on(s)
	}
}

func (l *lines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// fluxSecretKeyRef is the type of Region.spec.kubeConfig.
type fluxSecretKeyRef = fluxmeta.SecretKeyReference
