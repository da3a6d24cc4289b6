package deploy

import (
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// A result that cannot be written to the record is an error of the phase
// (which then stops the run), not something dropped: here the record refuses
// what looks like a secret, as it refuses any write it cannot make.
func TestK0rdentResultThatCannotBeRecordedFailsThePhase(t *testing.T) {
	store, err := state.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := state.OpenOrCreate(t.Context(), store, "", "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	cfg := &config.Config{}
	cfg.Management.Mode = config.ModeExisting
	env := NewEnv("k0rdent.yaml", cfg, nil, "", t.TempDir())
	env.Session = sess

	phases := K0rdentPhases(env, false)
	install, ok := phases[0].(*k0rdent.InstallPhase)
	if !ok {
		t.Fatalf("first phase is %T", phases[0])
	}
	err = install.OnResult(&k0rdent.Result{Version: "1.5.0", Chart: "-----BEGIN RSA PRIVATE KEY-----"})
	if err == nil || !strings.Contains(err.Error(), "recording the k0rdent install") {
		t.Fatalf("OnResult = %v, want the write's error", err)
	}
	if v := sess.Snapshot().K0rdent.Version; v != "" {
		t.Errorf("the refused write changed the record: version %q", v)
	}
	ready, ok := phases[1].(*k0rdent.ReadyPhase)
	if !ok {
		t.Fatalf("second phase is %T", phases[1])
	}
	if err := ready.OnResult(&k0rdent.StatusReport{Version: "1.5.0"}); err != nil {
		t.Errorf("a result that can be written: %v", err)
	}
	if v := sess.Snapshot().K0rdent.Version; v != "1.5.0" {
		t.Errorf("recorded version %q", v)
	}
}
