package phase

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

func TestPlanOrderLevelsAndVerdicts(t *testing.T) {
	noWorld := func(context.Context) (bool, string, error) {
		t.Error("Plan called ShouldRun")
		return true, "", nil
	}
	noRun := func(context.Context, Progress) error {
		t.Error("Plan called Run")
		return nil
	}
	mk := func(name string, reqs ...string) *fake {
		f := newFake(name, reqs...)
		f.should, f.run = noWorld, noRun
		return f
	}
	// Given out of order on purpose: the plan sorts them.
	install := mk("k0rdent-install", "bootstrap")
	install.dry = func(context.Context) ([]string, error) {
		return []string{"helm install kcm oci://ghcr.io/k0rdent/kcm/charts/kcm 1.5.0 into kcm-system"}, nil
	}
	bootstrap := &verifying{fake: mk("bootstrap", "network")}
	bootstrap.verify = func(context.Context) (bool, string, error) {
		t.Error("Plan called Verify")
		return true, "", nil
	}
	network := mk("network")
	keys := mk("keys")
	useast := &regional{fake: mk("region/regional-useast/region", "k0rdent-install"), region: "regional-useast"}
	westeu := &regional{fake: mk("region/regional-westeu/region", "k0rdent-install"), region: "regional-westeu"}
	kof := &wanting{fake: mk("kof-install", "k0rdent-install"), wanted: false, reason: "kof.enabled is false"}
	kof.dry = func(context.Context) ([]string, error) {
		t.Error("Plan called DryRun for a phase that is not wanted")
		return nil, nil
	}

	j := newJournal(map[string]state.PhaseStatus{"network": state.PhaseCompleted, "bootstrap": state.PhaseCompleted})
	plan, err := (&Engine{Journal: j}).Plan(t.Context(), []Phase{install, useast, kof, bootstrap, westeu, network, keys})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var order []string
	for _, s := range plan.Steps {
		order = append(order, s.Name)
	}
	want := []string{"network", "keys", "bootstrap", "k0rdent-install", "region/regional-useast/region", "kof-install", "region/regional-westeu/region"}
	if !slices.Equal(order, want) {
		t.Errorf("order\n%q\nwant\n%q", order, want)
	}
	var levels [][]string
	for _, l := range plan.Levels() {
		var names []string
		for _, s := range l {
			names = append(names, s.Name)
		}
		levels = append(levels, names)
	}
	wantLevels := [][]string{{"network", "keys"}, {"bootstrap"}, {"k0rdent-install"}, {"region/regional-useast/region", "kof-install", "region/regional-westeu/region"}}
	if !slices.EqualFunc(levels, wantLevels, slices.Equal) {
		t.Errorf("levels %q, want %q", levels, wantLevels)
	}

	s, _ := plan.Step("k0rdent-install")
	if !s.Wanted || s.Level != 2 || !slices.Equal(s.Requires, []string{"bootstrap"}) || s.Title != "Title of k0rdent-install" ||
		!slices.Equal(s.Lines, []string{"helm install kcm oci://ghcr.io/k0rdent/kcm/charts/kcm 1.5.0 into kcm-system"}) {
		t.Errorf("k0rdent-install step: %+v", s)
	}
	s, _ = plan.Step("kof-install")
	if s.Wanted || s.Reason != "kof.enabled is false" || s.Lines != nil {
		t.Errorf("kof-install step: %+v", s)
	}
	s, _ = plan.Step("region/regional-westeu/region")
	if s.Group != "regional-westeu" {
		t.Errorf("regional step without its region: %+v", s)
	}
	s, _ = plan.Step("bootstrap")
	if s.Recorded != state.PhaseCompleted || !s.Verifiable {
		t.Errorf("bootstrap step: recorded %q, verifiable %v", s.Recorded, s.Verifiable)
	}
	s, _ = plan.Step("keys")
	if s.Recorded != "" || s.Verifiable {
		t.Errorf("keys step: recorded %q, verifiable %v", s.Recorded, s.Verifiable)
	}
	if len(j.all()) != 0 {
		t.Error("Plan wrote to the journal")
	}
	for _, f := range []*fake{install, bootstrap.fake, network, keys, useast.fake, westeu.fake, kof.fake} {
		if f.runs.Load() != 0 {
			t.Errorf("Plan ran %s", f.name)
		}
	}
}

func TestPlanKeepsDryRunErrors(t *testing.T) {
	ok := newFake("ok")
	bad := newFake("bad")
	bad.dry = func(context.Context) ([]string, error) {
		return nil, errors.New("software.k0rdent.chart: not a chart reference")
	}
	panicky := newFake("panicky")
	panicky.dry = func(context.Context) ([]string, error) { panic("nil config") }
	plan, err := (&Engine{}).Plan(t.Context(), []Phase{ok, bad, panicky})
	if err == nil || !strings.Contains(err.Error(), "describing phase bad: software.k0rdent.chart: not a chart reference") {
		t.Fatalf("error = %v", err)
	}
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Errorf("a panicking DryRun is not reported as a *PanicError: %v", err)
	}
	if plan == nil || len(plan.Steps) != 3 {
		t.Fatalf("plan = %+v, want all three steps", plan)
	}
	if s, _ := plan.Step("ok"); s.Err != nil || len(s.Lines) != 1 {
		t.Errorf("ok step: %+v", s)
	}
	if s, _ := plan.Step("bad"); s.Err == nil {
		t.Error("bad step has no error")
	}
}
