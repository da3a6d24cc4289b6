package state

import (
	"bytes"
	"strings"
	"testing"
)

func TestExportImportRoundTrip(t *testing.T) {
	r := fullRecord(t)
	for _, format := range []string{"json", "yaml"} {
		var first bytes.Buffer
		if err := Export(&first, r, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		got, err := Import(first.Bytes())
		if err != nil {
			t.Fatalf("%s: Import of an export: %v\n%s", format, err, first.String())
		}
		sameJSON(t, format+" round trip", got, r)
		var second bytes.Buffer
		if err := Export(&second, got, format); err != nil {
			t.Fatal(err)
		}
		if first.String() != second.String() {
			t.Errorf("%s: export of the imported record differs:\n%s\n---\n%s", format, first.String(), second.String())
		}
	}
	var js, ys bytes.Buffer
	_ = Export(&js, r, "JSON")
	_ = Export(&ys, r, "yml")
	for _, want := range []string{`"deployment_id": "k0rdent-7fq2m1xz"`, `"k0rdent_regional": {`, `"cluster_deployment_created": false`, `"duration_seconds": 90.5`, `"health_checked_at": "2026-01-02T10:20:00.123456789Z"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON export lacks %s", want)
		}
	}
	if strings.Count(js.String(), "cluster_deployment_created") != 1 {
		t.Error("cluster_deployment_created written for an external cluster")
	}
	for _, want := range []string{"deployment_id: k0rdent-7fq2m1xz", "schema_version: 1", "cert_manager: v1.19.1"} {
		if !strings.Contains(ys.String(), want) {
			t.Errorf("YAML export lacks %s", want)
		}
	}
	if err := Export(&js, r, "xml"); err == nil || !strings.Contains(err.Error(), "json or yaml") {
		t.Errorf("unknown format: %v", err)
	}
	// A byte-order mark and surrounding space are tolerated.
	if _, err := Import(append([]byte("\xef\xbb\xbf\n  "), js.Bytes()...)); err != nil {
		t.Errorf("JSON with a BOM: %v", err)
	}
}

func TestImportRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := Export(&buf, fullRecord(t), "yaml"); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	for name, tc := range map[string]struct{ data, want string }{
		"empty":            {"  \n", "empty"},
		"not a record":     {"hello: world\n", "unknown field"},
		"json garbage":     {"{\"schema_version\": 1,", "not a valid JSON"},
		"json trailing":    {`{"schema_version":1,"deployment_id":"k0rdent-abc12345"} {}`, "more data"},
		"json unknown key": {`{"schema_version":1,"deployment_id":"k0rdent-abc12345","deploymentid":"x"}`, "unknown field"},
		"misspelt key":     {strings.Replace(good, "region_crd_created:", "region_crd_create:", 1), "unknown field"},
		"no schema":        {strings.Replace(good, "schema_version: 1\n", "", 1), "schema_version: missing"},
		"newer schema":     {strings.Replace(good, "schema_version: 1\n", "schema_version: 2\n", 1), "upgrade k0rdentctl"},
		"bad id":           {strings.Replace(good, "deployment_id: k0rdent-7fq2m1xz", "deployment_id: prod", 1), `deployment_id: "prod" is not a deployment id`},
		"bad phase status": {strings.Replace(good, "status: skipped", "status: done", 1), `phases[2].status: "done" is not one of`},
		"bad regional":     {strings.Replace(good, "type: external", "type: byo", 1), `k0rdent_regional.clusters[1].type: "byo"`},
		"secret":           {strings.Replace(good, "owner: platform-team", "owner: '-----BEGIN EC PRIVATE KEY-----'", 1), "private key"},
	} {
		_, err := Import([]byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, tc.want)
		}
	}
	// Every problem is reported at once.
	bad := strings.Replace(strings.Replace(good, "status: skipped", "status: done", 1), "type: external", "type: byo", 1)
	_, err := Import([]byte(bad))
	if err == nil || !strings.Contains(err.Error(), "phases[2]") || !strings.Contains(err.Error(), "clusters[1]") {
		t.Errorf("two problems: %v", err)
	}
}
