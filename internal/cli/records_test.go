package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// existingConfig writes a configuration for an existing management cluster
// whose kubeconfig is kubeconfig, and returns the -c and --state-dir flags.
func existingConfig(t *testing.T, dir, kubeconfig string) []string {
	t.Helper()
	return regionalConfig(t, dir, kubeconfig, false)
}

// regionalConfig is existingConfig, with one regional cluster when regions.
func regionalConfig(t *testing.T, dir, kubeconfig string, regions bool) []string {
	t.Helper()
	cfg := filepath.Join(dir, "k0rdent.yaml")
	body := fmt.Sprintf(`metadata:
  name: records-test
management:
  mode: existing
  kubeconfig: %s
azure:
  location: eastus
  subscription_id: 0b1e7c3a-1111-2222-3333-444455556666
software:
  k0rdent:
    version: "1.5.0"
`, kubeconfig)
	if regions {
		body += `    regional:
      enabled: true
      clusters:
        - name: regional-westeu
          location: westeurope
          kubeconfig_secret: external-westeu-cluster
`
	}
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-c", cfg, "--state-dir", filepath.Join(dir, "state")}
}

// writeKubeconfig writes a kubeconfig for server (TLS not verified: the test
// servers' certificates are self-signed) and returns its path.
func writeKubeconfig(t *testing.T, dir, name, server string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
    insecure-skip-tls-verify: true
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
users:
- name: u
  user: {token: not-a-real-token}
`, server)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A deploy that cannot start touches nothing: a --kubeconfig that does not
// exist and a --parallel below 1 are usage errors (exit 2), and no state
// folder or record is written.
func TestDeployRefusedBeforeAnythingIsWritten(t *testing.T) {
	dir := t.TempDir()
	mgmt := writeKubeconfig(t, dir, "mgmt.kubeconfig", "https://127.0.0.1:1")
	flags := existingConfig(t, dir, mgmt)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "--kubeconfig", filepath.Join(dir, "nonexistent")}, "--kubeconfig"},
		{[]string{"deploy", "--parallel", "0"}, "--parallel 0"},
		{[]string{"deploy", "--parallel", "-2"}, "--parallel -2"},
		{[]string{"k0rdent", "install", "--kubeconfig", filepath.Join(dir, "nonexistent")}, "does not exist"},
	} {
		r := run(t, append(tc.args, flags...)...)
		if r.code != ExitUsage || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q in\n%s", tc.args, r.code, ExitUsage, tc.want, r.err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused deploy wrote the state folder: %v", err)
	}
}

// k0rdent status needs no configuration file when --kubeconfig names the
// cluster; and k0rdent status and install explain a cluster that does not
// let them in as deploy does (the same check), not with a Helm error.
func TestK0rdentCommandsExplainTheClusterAsDeployDoes(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	kc := writeKubeconfig(t, dir, "mgmt.kubeconfig", srv.URL)

	noConfig := []string{"-c", filepath.Join(dir, "missing.yaml"), "--state-dir", filepath.Join(dir, "state")}
	r := run(t, append([]string{"k0rdent", "status", "--kubeconfig", kc}, noConfig...)...)
	if r.code != ExitFailed || strings.Contains(r.err, "no configuration") || !strings.Contains(r.err, "management cluster: cannot reach the Kubernetes API server "+srv.URL) {
		t.Errorf("k0rdent status --kubeconfig without a configuration: exit %d\n%s", r.code, r.err)
	}
	r = run(t, append([]string{"k0rdent", "status"}, noConfig...)...)
	if r.code != ExitUsage || !strings.Contains(r.err, "--kubeconfig") {
		t.Errorf("k0rdent status with neither: exit %d\n%s", r.code, r.err)
	}

	flags := regionalConfig(t, dir, kc, true)
	want := ""
	for _, args := range [][]string{{"deploy"}, {"k0rdent", "install"}, {"k0rdent", "status"}, {"region", "deploy"}} {
		r := run(t, append(args, flags...)...)
		text := r.out + r.err
		if r.code != ExitFailed || strings.Contains(text, "Helm release") {
			t.Errorf("%v: exit %d, a Helm error instead of the cluster check:\n%s", args, r.code, text)
		}
		i := strings.Index(text, "management cluster: cannot reach")
		if i < 0 {
			t.Errorf("%v does not explain the cluster:\n%s", args, text)
			continue
		}
		msg := firstLine(text[i:])
		if want == "" {
			want = msg
		} else if msg != want {
			t.Errorf("%v explains it otherwise:\n %s\nwant\n %s", args, msg, want)
		}
	}
}

// status on an 80-column terminal fits its lines into 80 columns however
// long the recorded error; -o json keeps the full text.
func TestStatusFitsTheTerminal(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "state")
	long := "cannot reach the Kubernetes API server https://10.9.0.4:6443 (kubeconfig ./state/kubeconfigs/k0rdent-abcdefgh.kubeconfig): " + strings.Repeat("Get \"https://10.9.0.4:6443/version?timeout=32s\": dial tcp 10.9.0.4:6443: i/o timeout; ", 6)
	seedRecord(t, sd, "demo", func(r *state.Record) { r.Phases[1].Status, r.Phases[1].LastError = state.PhaseFailed, long })
	flags := []string{"-c", filepath.Join(dir, "none.yaml"), "--state-dir", sd}

	var out, errOut bytes.Buffer
	code := Execute(context.Background(), append([]string{"status"}, flags...), IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, OutTerminal: true, Width: 80}, BuildInfo{})
	if code != ExitFailed {
		t.Fatalf("status: exit %d\n%s", code, errOut.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if ui.VisibleWidth(line) > 80 {
			t.Errorf("a line of %d columns on an 80-column terminal: %q", ui.VisibleWidth(line), line)
		}
	}
	if !strings.Contains(out.String(), "k0rdent-install failed") {
		t.Errorf("status does not name the failed phase:\n%s", out.String())
	}
	r := run(t, append([]string{"status", "-o", "json"}, flags...)...)
	var v statusView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatal(err)
	}
	if v.Phases[1].LastError != long {
		t.Errorf("-o json does not keep the full error: %q", v.Phases[1].LastError)
	}
}

// The next step status prints is the command that ran, with its flags: after
// `deploy --kubeconfig X` it has --kubeconfig X; after a failed `region
// deploy` it is region deploy.
func TestStatusNextStepRepeatsTheCommandThatRan(t *testing.T) {
	for _, tc := range []struct {
		name, resume string
		fail         func(*state.Record)
		want         string
	}{
		{"deploy --kubeconfig", "k0rdentctl deploy --kubeconfig ./mgmt.kubeconfig", func(r *state.Record) {
			r.Phases[1].Status, r.Phases[1].LastError = state.PhaseFailed, "helm install kcm: timed out"
			r.Phases[2].Status, r.Phases[2].LastError = state.PhaseSkipped, ""
		}, "resume (completed phases are verified, not redone): k0rdentctl deploy --kubeconfig ./mgmt.kubeconfig"},
		{"region deploy", "k0rdentctl region deploy regional-useast", nil, "k0rdentctl region deploy regional-useast"},
		{"interrupted", "k0rdentctl deploy --with-regional --kubeconfig ./mgmt.kubeconfig", func(r *state.Record) {
			r.Phases[2].Status, r.Phases[2].LastError = state.PhaseInterrupted, ""
		}, "resume (completed phases are verified, not redone): k0rdentctl deploy --with-regional --kubeconfig ./mgmt.kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sd := filepath.Join(dir, "state")
			seedRecord(t, sd, "demo", func(r *state.Record) {
				r.ResumeCommand = tc.resume
				if tc.fail != nil {
					tc.fail(r)
				}
			})
			r := run(t, "status", "-o", "json", "-c", filepath.Join(dir, "none.yaml"), "--state-dir", sd)
			var v statusView
			if err := json.Unmarshal([]byte(r.out), &v); err != nil {
				t.Fatal(err)
			}
			if r.code != ExitFailed || !containsLine(v.Next, tc.want) {
				t.Errorf("status %s: exit %d, next %q, want a line with %q", v.Status, r.code, v.Next, tc.want)
			}
		})
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// `region health --watch` holds the deployment lock only while it writes a
// result: during the watch another command can take the lock, and the watch
// goes on recording afterwards.
func TestRegionHealthWatchLeavesTheLockFree(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	dir := t.TempDir()
	kc := writeKubeconfig(t, dir, "mgmt.kubeconfig", srv.URL)
	cfg := regionalConfig(t, dir, kc, true)[1]
	sd := filepath.Join(dir, "state")
	store, err := state.NewFileStore(sd)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := state.OpenOrCreate(t.Context(), store, "", "records-test")
	if err != nil {
		t.Fatal(err)
	}
	id := sess.ID()
	if err := sess.Update(t.Context(), func(r *state.Record) error {
		r.UpsertRegional(state.RegionalCluster{Name: "regional-westeu", Location: "westeurope", Type: state.RegionalTypeExternal, Status: state.RegionalDeployed})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The command's output goes to a file, which the test reads while the
	// command writes.
	outFile, err := os.Create(filepath.Join(dir, "watch.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	output := func() string { b, _ := os.ReadFile(outFile.Name()); return string(b) }
	done := make(chan int)
	go func() {
		done <- Execute(ctx, []string{"region", "health", "--watch", "--interval", "200ms", "--timeout", "5s", "-c", cfg, "--state-dir", sd},
			IOStreams{In: strings.NewReader(""), Out: outFile, ErrOut: outFile}, BuildInfo{})
	}()
	// checked waits until the watch has recorded a check after since.
	checked := func(since time.Time) time.Time {
		t.Helper()
		deadline := time.Now().Add(childDeadline)
		for time.Now().Before(deadline) {
			if rec, err := store.Load(t.Context(), id); err == nil {
				if c := rec.Regional("regional-westeu"); c != nil && c.HealthCheckedAt != nil && c.HealthCheckedAt.After(since) {
					return *c.HealthCheckedAt
				}
			}
			select {
			case code := <-done:
				t.Fatalf("the watch ended (exit %d):\n%s", code, output())
			case <-time.After(10 * time.Millisecond):
			}
		}
		t.Fatalf("the watch recorded no check within %s:\n%s", childDeadline, output())
		return time.Time{}
	}
	first := checked(time.Time{})

	// Another command, through its own store as another process would.
	other, err := state.NewFileStore(sd)
	if err != nil {
		t.Fatal(err)
	}
	// The watch takes the lock for a moment every 200ms to write a result:
	// a few tries ride over such a moment, never over a lock held throughout.
	var sess2 *state.Session
	for try := 0; ; try++ {
		sess2, err = state.Open(t.Context(), other, id)
		var lock *state.LockError
		if errors.As(err, &lock) && try < 20 {
			time.Sleep(10 * time.Millisecond) // the watch's write ends by itself
			continue
		}
		if err != nil {
			t.Fatalf("another command cannot take the lock during the watch: %v", err)
		}
		break
	}
	if err := sess2.Close(); err != nil {
		t.Fatal(err)
	}
	checked(first) // and the watch records again afterwards
	cancel()
	<-done
}
