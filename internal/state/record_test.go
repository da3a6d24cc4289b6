package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

func TestDeploymentID(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		id := NewDeploymentID()
		if !ValidDeploymentID(id) {
			t.Fatalf("NewDeploymentID made %q", id)
		}
		if seen[id] {
			t.Fatalf("NewDeploymentID repeated %q", id)
		}
		seen[id] = true
	}
	for id, ok := range map[string]bool{
		"k0rdent-abc12345":  true,
		"k0rdent-00000000":  true,
		"k0rdent-abc1234":   false,
		"k0rdent-abc123456": false,
		"k0rdent-ABC12345":  false,
		"k0rdent-abc_1234":  false,
		"K0rdent-abc12345":  false,
		"kordent-abc12345":  false,
		"k0rdent-../../xx":  false,
		"":                  false,
	} {
		if ValidDeploymentID(id) != ok {
			t.Errorf("ValidDeploymentID(%q) = %v", id, !ok)
		}
	}
}

func TestOverall(t *testing.T) {
	for _, tc := range []struct {
		statuses []PhaseStatus
		want     string
	}{
		{nil, OverallNotDeployed},
		{[]PhaseStatus{PhasePending, PhasePending}, OverallNotDeployed},
		{[]PhaseStatus{PhaseSkipped, PhasePending}, OverallNotDeployed},
		{[]PhaseStatus{PhaseCompleted, PhaseInProgress, PhasePending}, OverallInProgress},
		{[]PhaseStatus{PhaseCompleted, PhasePending}, OverallInProgress},
		{[]PhaseStatus{PhaseFailed, PhaseInProgress}, OverallInProgress},
		{[]PhaseStatus{PhaseCompleted, PhaseFailed, PhasePending}, OverallFailed},
		{[]PhaseStatus{PhaseFailed}, OverallFailed},
		{[]PhaseStatus{PhaseCompleted, PhaseInterrupted, PhasePending}, OverallInterrupted},
		{[]PhaseStatus{PhaseInterrupted, PhaseFailed}, OverallFailed},
		{[]PhaseStatus{PhaseCompleted, PhaseSkipped}, OverallDeployed},
		{[]PhaseStatus{PhaseCompleted}, OverallDeployed},
	} {
		r := New("k0rdent-abc12345", "x", time.Now())
		for i, st := range tc.statuses {
			r.Phases = append(r.Phases, PhaseRecord{Name: string(rune('a' + i)), Status: st})
		}
		if got := r.Overall(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.statuses, got, tc.want)
		}
	}
	var nilRec *Record
	if nilRec.Overall() != OverallNotDeployed {
		t.Error("nil record")
	}
}

func TestRecordHelpers(t *testing.T) {
	r := New("k0rdent-abc12345", "x", time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 7200)))
	if r.CreatedAt.Location() != time.UTC || r.Phases == nil || r.SchemaVersion != SchemaVersion {
		t.Errorf("New: %+v", r)
	}
	if r.Phase("a") != nil || r.Regional("a") != nil {
		t.Error("lookups in an empty record found something")
	}
	r.Phases = append(r.Phases, PhaseRecord{Name: "a", Status: PhasePending})
	r.Phase("a").Status = PhaseCompleted
	if r.Phases[0].Status != PhaseCompleted {
		t.Error("Phase does not point into the record")
	}
	c := r.UpsertRegional(RegionalCluster{Name: "regional-useast", Type: RegionalTypeExternal})
	c.Status = RegionalDeployed
	r.UpsertRegional(RegionalCluster{Name: "regional-westeu", Type: RegionalTypeExternal})
	r.UpsertRegional(RegionalCluster{Name: "regional-useast", Type: RegionalTypeClusterDeployment, Status: RegionalDeploying})
	if len(r.K0rdentRegional.Clusters) != 2 || r.Regional("regional-useast").Type != RegionalTypeClusterDeployment {
		t.Errorf("UpsertRegional: %+v", r.K0rdentRegional.Clusters)
	}
	if !r.RemoveRegional("regional-westeu") || r.RemoveRegional("regional-westeu") || len(r.K0rdentRegional.Clusters) != 1 {
		t.Error("RemoveRegional")
	}
	r.UpsertResource(Resource{Kind: "VirtualMachine", Name: "vm-1", Location: "eastus"})
	r.UpsertResource(Resource{Kind: "VirtualMachine", Name: "vm-1", Location: "westus"})
	r.UpsertResource(Resource{Kind: "Disk", Name: "vm-1"})
	if len(r.Resources) != 2 || r.Resources[0].Location != "westus" {
		t.Errorf("UpsertResource: %+v", r.Resources)
	}
}

func TestRegionalClusterCreatedOrAdopted(t *testing.T) {
	for _, tc := range []struct {
		c      RegionalCluster
		json   string
		origin string
	}{
		{RegionalCluster{Name: "a", Type: RegionalTypeClusterDeployment, ClusterDeploymentOwned: true}, `"cluster_deployment_created":true`, "created"},
		{RegionalCluster{Name: "b", Type: RegionalTypeClusterDeployment}, `"cluster_deployment_created":false`, "adopted"},
		{RegionalCluster{Name: "c", Type: RegionalTypeExternal}, "", ""},
	} {
		b, err := json.Marshal(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if tc.json != "" && !strings.Contains(string(b), tc.json) || tc.json == "" && strings.Contains(string(b), "cluster_deployment_created") {
			t.Errorf("%s: %s", tc.c.Name, b)
		}
		if strings.Count(string(b), "cluster_deployment_created") > 1 {
			t.Errorf("%s: key written twice: %s", tc.c.Name, b)
		}
		if tc.c.ClusterDeploymentOrigin() != tc.origin {
			t.Errorf("%s: origin %q", tc.c.Name, tc.c.ClusterDeploymentOrigin())
		}
		y, _ := yaml.Marshal(tc.c)
		var back RegionalCluster
		if err := yaml.UnmarshalStrict(y, &back); err != nil || back.ClusterDeploymentOwned != tc.c.ClusterDeploymentOwned {
			t.Errorf("%s: YAML round trip: %v %+v", tc.c.Name, err, back)
		}
	}
}

func TestClone(t *testing.T) {
	r := fullRecord(t)
	c := r.Clone()
	sameJSON(t, "clone", c, r)
	before := string(mustJSON(t, r))
	*c.Phases[0].StartedAt = time.Time{}
	*c.K0rdent.InstalledAt = time.Time{}
	*c.K0rdentRegional.Clusters[0].HealthCheckedAt = time.Time{}
	c.K0rdentRegional.Clusters[0].Components["velero"] = "x"
	c.Events[0].Message = "x"
	c.Resources[0].Name = "x"
	if string(mustJSON(t, r)) != before {
		t.Error("changing the clone changed the original")
	}
	if (*Record)(nil).Clone() != nil {
		t.Error("nil clone")
	}
}

func TestPhaseSummary(t *testing.T) {
	r := fullRecord(t)
	if got, want := r.PhaseSummary(), "1 pending, 1 completed, 1 failed (k0rdent-install), 1 skipped"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := New("k0rdent-abc12345", "", time.Now()).PhaseSummary(); got != "no phases recorded" {
		t.Errorf("empty: %q", got)
	}
}
