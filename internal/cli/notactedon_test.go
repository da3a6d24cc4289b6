package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Every configured section a run will not act on is listed by plan (text and
// -o json) and by deploy, with the reason and what would act on it; the
// regional clusters left out by a plain plan point at --with-regional.
func TestPlanAndDeployListWhatTheyDoNotActOn(t *testing.T) {
	dir, flags := workdir(t, "regional-with-kof") // kof.enabled, child_clusters, regional enabled
	r := run(t, append([]string{"plan", "-o", "json"}, flags...)...)
	if r.code != ExitOK {
		t.Fatalf("plan: %d %s", r.code, r.err)
	}
	var v struct {
		Unavailable []struct {
			Field, Reason, Action string
			Blocking              bool
		} `json:"unavailable"`
	}
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, r.out)
	}
	got := map[string]string{}
	for _, u := range v.Unavailable {
		if u.Reason == "" || u.Action == "" {
			t.Errorf("%s: reason %q, action %q: both must be said", u.Field, u.Reason, u.Action)
		}
		got[u.Field] = u.Action
	}
	for _, field := range []string{"kof", "child_clusters", "software.k0rdent.regional.clusters"} {
		if _, ok := got[field]; !ok {
			t.Errorf("plan -o json does not list %s: %+v", field, v.Unavailable)
		}
	}
	if !strings.Contains(got["software.k0rdent.regional.clusters"], "--with-regional") {
		t.Errorf("regional clusters left out without naming --with-regional: %q", got["software.k0rdent.regional.clusters"])
	}

	text := run(t, append([]string{"plan"}, flags...)...)
	for _, want := range []string{"not acted on", "kof:", "child_clusters:", "--with-regional"} {
		if !strings.Contains(text.out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, text.out)
		}
	}
	// With --with-regional the regions are acted on, and leave the list.
	r = run(t, append([]string{"plan", "--with-regional", "-o", "json"}, flags...)...)
	if strings.Contains(r.out, `"software.k0rdent.regional.clusters"`) {
		t.Errorf("plan --with-regional still lists the regional clusters as left out:\n%s", r.out)
	}

	// deploy says the same before it touches anything (here it stops at the
	// missing kubeconfig, exit 2).
	d := run(t, append([]string{"deploy", "--kubeconfig", filepath.Join(dir, "missing.kubeconfig")}, flags...)...)
	if d.code != ExitUsage {
		t.Fatalf("deploy with a missing kubeconfig: exit %d, want %d", d.code, ExitUsage)
	}
	for _, want := range []string{"Note: kof:", "Note: child_clusters:"} {
		if !strings.Contains(d.err, want) {
			t.Errorf("deploy does not say %q:\n%s", want, d.err)
		}
	}
}

// A plan with nothing left out says so with an empty list, not null.
func TestPlanUnavailableIsAList(t *testing.T) {
	_, flags := workdir(t, "minimal")
	r := run(t, append([]string{"plan", "-o", "json", "--kubeconfig", "/nonexistent"}, flags...)...)
	if !strings.Contains(r.out, `"unavailable": [`) {
		t.Fatalf("plan -o json has no unavailable list:\n%s", r.out)
	}
}
