package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// fakeClock is a settable clock for the store and sessions in tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time                    { return c.t }
func (c *fakeClock) advance(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

func newTestStore(t *testing.T) *FileStore {
	t.Helper()
	s, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func saveNew(t *testing.T, s *FileStore, name string, statuses ...PhaseStatus) *Record {
	t.Helper()
	r := New(NewDeploymentID(), name, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for i, st := range statuses {
		r.Phases = append(r.Phases, PhaseRecord{Name: "phase-" + string(rune('a'+i)), Status: st})
	}
	if err := s.Save(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := mustJSON(t, got), mustJSON(t, want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", what, g, w)
	}
}

// fullRecord has every part of the record filled in.
func fullRecord(t *testing.T) *Record {
	t.Helper()
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	r := New("k0rdent-7fq2m1xz", "prod-eu", *at("2026-01-02T10:00:00Z"))
	r.Owner = "platform-team"
	r.Config = ConfigSnapshot{Path: "k0rdent.yaml", Hash: "sha256:0123abcd", Content: "metadata:\n  name: prod-eu\nsoftware:\n  k0rdent:\n    version: \"1.5.0\"\n"}
	r.Phases = []PhaseRecord{
		{Name: "azure-network", Title: "Azure network", Status: PhaseCompleted, StartedAt: at("2026-01-02T10:00:01Z"), EndedAt: at("2026-01-02T10:01:31.5Z"), DurationSeconds: 90.5, Attempts: 1},
		{Name: "k0rdent-install", Status: PhaseFailed, StartedAt: at("2026-01-02T10:02:00Z"), EndedAt: at("2026-01-02T10:12:00Z"), DurationSeconds: 600, Attempts: 2, LastError: "timed out waiting for Management kcm to be Ready"},
		{Name: "regional-useast", Region: "regional-useast", Status: PhaseSkipped, Reason: "regional disabled"},
		{Name: "kof", Status: PhasePending},
	}
	r.Resources = []Resource{{Kind: "ResourceGroup", Name: "k0rdent-7fq2m1xz-rg", ID: "/subscriptions/x/resourceGroups/k0rdent-7fq2m1xz-rg", Location: "westeurope", Phase: "azure-network", CreatedAt: *at("2026-01-02T10:00:05Z")}}
	r.Management = Management{Mode: "azure", KubeconfigPath: "state/kubeconfigs/k0rdent-7fq2m1xz.kubeconfig", Server: "https://10.0.0.4:6443"}
	r.K0rdent = K0rdent{Version: "1.5.0", Release: "kcm-1-5-0", Chart: "oci://ghcr.io/k0rdent/kcm/charts/kcm", ChartVersion: "1.5.0", Namespace: "kcm-system", HelmRevision: 2, Ready: true, InstalledAt: at("2026-01-02T10:11:00Z"), CheckedAt: at("2026-01-02T10:12:00Z")}
	r.K0rdentRegional = K0rdentRegional{Enabled: true, Version: "1.5.0", Clusters: []RegionalCluster{
		{Name: "regional-useast", Location: "eastus", Type: RegionalTypeClusterDeployment, ClusterDeploymentRef: "regional-cluster-useast", ClusterDeploymentOwned: false,
			Deployed: true, RegionCRDCreated: true, CredentialsPropagated: true, CertificatesPropagated: true,
			Components:     map[string]string{"cert_manager": "v1.19.1", "velero": "v1.17.0", "capi_operator": "0.19.0"},
			KubeconfigPath: "state/kubeconfigs/regional-useast.kubeconfig", Status: RegionalDeployed, Health: HealthHealthy, HealthCheckedAt: at("2026-01-02T10:20:00.123456789Z")},
		{Name: "regional-westeu", Location: "westeurope", Type: RegionalTypeExternal, KubeconfigSecret: "external-westeu-cluster", Status: RegionalFailed, Health: HealthUnreachable, LastError: "dial tcp 10.9.0.4:6443: i/o timeout"},
	}}
	r.Events = []Event{
		{Timestamp: *at("2026-01-02T10:00:01Z"), Phase: "azure-network", Type: EventPhaseStarted, Message: "Azure network started"},
		{Timestamp: *at("2026-01-02T10:20:00Z"), Region: "regional-useast", Type: "regional_cluster_created", Message: "ClusterDeployment regional-cluster-useast adopted"},
	}
	return r
}

// setPayload puts content and its hash into the record's config snapshot, so
// that a torn record would show as a mismatch.
func setPayload(r *Record, seq int, content []byte) {
	sum := sha256.Sum256(content)
	r.Config = ConfigSnapshot{Path: fmt.Sprintf("seq/%d", seq), Hash: hex.EncodeToString(sum[:]), Content: string(content)}
}

func payloadIntact(r *Record) bool {
	sum := sha256.Sum256([]byte(r.Config.Content))
	return r.Config.Hash == hex.EncodeToString(sum[:])
}
