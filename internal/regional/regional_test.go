package regional

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/testenv"
)

const testConfig = `
metadata: {name: k0rdent-test}
management: {mode: existing, kubeconfig: ./mgmt.kubeconfig}
azure: {location: eastus, subscription_id: 00000000-0000-0000-0000-000000000001}
software:
  k0rdent:
    regional:
      enabled: true
      parallel: 2
      clusters:
        - name: regional-useast
          location: eastus
          cluster_deployment_ref: regional-cluster-useast
          cluster_deployment:
            control_plane: {count: 1, vm_size: Standard_D4s_v5}
            workers: {count: 2, vm_size: Standard_D4s_v5}
        - name: regional-westeu
          location: westeurope
          kubeconfig_secret: external-westeu
          credential_propagation: false
          components: {cert_manager: false, velero: true, capi_providers: [projectsveltos]}
`

func parse(t *testing.T, y string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse([]byte(y))
	if diags.HasErrors() {
		t.Fatalf("test configuration is invalid: %v", diags)
	}
	return cfg
}

func TestPhasesAreOneChainPerRegion(t *testing.T) {
	cfg := parse(t, testConfig)
	phases, err := Phases(&Env{Config: cfg, After: []string{"k0rdent-ready"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(phases) != 2*len(Steps()) {
		t.Fatalf("got %d phases, want %d", len(phases), 2*len(Steps()))
	}
	for i, p := range phases {
		region := cfg.Software.K0rdent.Regional.Clusters[i/len(Steps())].Name
		step := Steps()[i%len(Steps())]
		if p.Name() != PhaseName(region, step) {
			t.Errorf("phase %d is %s, want %s", i, p.Name(), PhaseName(region, step))
		}
		r, ok := p.(phase.Grouped)
		if !ok || r.Group() != region {
			t.Errorf("%s: not a phase of group %s", p.Name(), region)
		}
		if _, ok := p.(phase.Verifier); !ok {
			t.Errorf("%s: not a Verifier: a resume would redo it", p.Name())
		}
		if _, ok := p.(phase.Wanter); !ok {
			t.Errorf("%s: not a Wanter", p.Name())
		}
		want := []string{"k0rdent-ready"}
		if step != StepPreflight {
			want = []string{PhaseName(region, Steps()[i%len(Steps())-1])}
		}
		if !slices.Equal(p.Requires(), want) {
			t.Errorf("%s requires %v, want %v", p.Name(), p.Requires(), want)
		}
		if gotRegion, gotStep, ok := ParsePhaseName(p.Name()); !ok || gotRegion != region || gotStep != step {
			t.Errorf("ParsePhaseName(%q) = %q, %q, %t", p.Name(), gotRegion, gotStep, ok)
		}
	}

	// The plan needs no network: every DryRun works from the configuration.
	phases, err = Phases(&Env{Config: cfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := (&phase.Engine{}).Plan(context.Background(), phases)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range plan.Steps {
		if s.Wanted && len(s.Lines) == 0 {
			t.Errorf("%s: no dry-run lines", s.Name)
		}
	}
	var cred phase.Step
	for _, s := range plan.Steps {
		if s.Name == PhaseName("regional-westeu", StepCredentials) {
			cred = s
		}
	}
	if cred.Wanted || !strings.Contains(cred.Reason, "credential_propagation is false") {
		t.Errorf("credentials of regional-westeu: wanted=%t reason %q; want skipped because credential_propagation is false", cred.Wanted, cred.Reason)
	}
}

func TestPhasesNotWantedWhenRegionalDisabled(t *testing.T) {
	cfg := parse(t, strings.Replace(testConfig, "enabled: true", "enabled: false", 1))
	phases, err := Phases(&Env{Config: cfg}, []string{"regional-westeu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range phases {
		if ok, why := p.(phase.Wanter).Wanted(); ok || !strings.Contains(why, "regional.enabled is false") {
			t.Errorf("%s: wanted=%t (%s), want not wanted", p.Name(), ok, why)
		}
	}
}

func TestSelectUnknownNamesListsConfigured(t *testing.T) {
	cfg := parse(t, testConfig)
	_, err := Phases(&Env{Config: cfg}, []string{"regional-useast", "nope", "nada"})
	if err == nil {
		t.Fatal("want an error for unknown names")
	}
	var unknown *UnknownRegionError
	if !errors.As(err, &unknown) || !slices.Equal(unknown.Names, []string{"nope", "nada"}) {
		t.Errorf("error %v is not an *UnknownRegionError naming nope and nada", err)
	}
	for _, want := range []string{`no regional cluster named "nope", "nada" in the configuration`, "regional-useast, regional-westeu"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	got, err := Select(cfg, []string{"regional-westeu", "regional-westeu"})
	if err != nil || len(got) != 1 || got[0].Name != "regional-westeu" {
		t.Errorf("Select = %v, %v", got, err)
	}
}

func TestParallel(t *testing.T) {
	cfg := parse(t, testConfig)
	for _, c := range []struct {
		override, want int
	}{{0, 2}, {7, 7}} {
		if got := Parallel(cfg, c.override); got != c.want {
			t.Errorf("Parallel(cfg, %d) = %d, want %d", c.override, got, c.want)
		}
	}
	if got := Parallel(nil, 0); got != config.DefaultRegionalParallel {
		t.Errorf("Parallel(nil, 0) = %d", got)
	}
}

func TestResolveProviders(t *testing.T) {
	mgmt := &kcmv1.Management{}
	mgmt.Spec.Providers = []kcmv1.Provider{{Name: config.ProviderK0smotron}, {Name: config.ProviderAzure}, {Name: config.ProviderSveltos}}
	got, err := ResolveProviders(config.ProviderSelection{All: true}, mgmt)
	if err != nil || !slices.Equal(got, []string{config.ProviderK0smotron, config.ProviderAzure, config.ProviderSveltos}) {
		t.Errorf("all, from spec.providers: %v, %v", got, err)
	}
	statusOnly := &kcmv1.Management{}
	statusOnly.Status.Components = map[string]kcmv1.ComponentStatus{"kcm": {}, "capi": {}, config.ProviderAzure: {}, "cluster-api-provider-aws": {}}
	got, err = ResolveProviders(config.ProviderSelection{All: true}, statusOnly)
	if err != nil || !slices.Equal(got, []string{"cluster-api-provider-aws", config.ProviderAzure}) {
		t.Errorf("all, from status.components: %v, %v", got, err)
	}
	if got, err := ResolveProviders(config.ProviderSelection{}, nil); err != nil || got != nil {
		t.Errorf("false: %v, %v", got, err)
	}
	if got, _ := ResolveProviders(config.ProviderSelection{Names: []string{"a", "b", "a"}}, nil); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("list: %v", got)
	}
	if _, err := ResolveProviders(config.ProviderSelection{All: true}, nil); err == nil {
		t.Error("all without a Management: want an error")
	}

	w := AzureProvidersWarning("r1", config.ProviderSelection{Names: []string{config.ProviderSveltos}}, []string{config.ProviderSveltos})
	if !strings.Contains(w, config.ProviderAzure+" and "+config.ProviderK0smotron) || strings.Contains(w, "carries services") {
		t.Errorf("warning %q", w)
	}
	if w := AzureProvidersWarning("r1", config.ProviderSelection{All: true}, []string{config.ProviderAzure, config.ProviderK0smotron}); w != "" {
		t.Errorf("unexpected warning %q", w)
	}
}

func TestDesiredRegion(t *testing.T) {
	cfg := parse(t, testConfig)
	cd, ext := cfg.Software.K0rdent.Regional.Clusters[0], cfg.Software.K0rdent.Regional.Clusters[1]

	u := DesiredRegion(cfg, cd, []string{config.ProviderAzure}, "k0rdent-abcdefgh")
	raw, _ := json.Marshal(u.Object)
	want := `{"apiVersion":"k0rdent.mirantis.com/v1beta1","kind":"Region","metadata":{"labels":{"app.kubernetes.io/managed-by":"k0rdentctl","k0rdent.mirantis.com/region":"regional-useast","k0rdentctl.io/deployment":"k0rdent-abcdefgh"},"name":"regional-useast"},"spec":{"clusterDeployment":{"name":"regional-cluster-useast","namespace":"kcm-system"},"core":{"kcm":{"config":{"cert-manager":{"enabled":true},"velero":{"enabled":true}}}},"providers":[{"name":"cluster-api-provider-azure"}]}}`
	if string(raw) != want {
		t.Errorf("Region for a ClusterDeployment:\n got %s\nwant %s", raw, want)
	}
	// The CRD's own types read it back.
	var rg kcmv1.Region
	if err := json.Unmarshal(raw, &rg); err != nil {
		t.Fatal(err)
	}

	u = DesiredRegion(cfg, ext, nil, "")
	raw, _ = json.Marshal(u.Object["spec"])
	want = `{"core":{"kcm":{"config":{"cert-manager":{"enabled":false},"velero":{"enabled":true}}}},"kubeConfig":{"key":"value","name":"external-westeu"}}`
	if string(raw) != want {
		t.Errorf("Region spec for an external cluster:\n got %s\nwant %s", raw, want)
	}
	if _, ok := u.GetLabels()[LabelDeployment]; ok {
		t.Error("no deployment id given, yet labelled with one")
	}
}

// The values k0rdentctl gives a regional ClusterDeployment are checked
// against the Azure template's own values schema from the kcm module.
func TestClusterValuesAgainstTheAzureTemplateSchema(t *testing.T) {
	crds, err := testenv.KCMCRDDir(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSuffix(filepath.ToSlash(crds), "/templates/provider/kcm/templates/crds")
	schema, err := os.ReadFile(filepath.Join(filepath.FromSlash(root), "templates", "cluster", "azure-standalone-cp", "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, testConfig)
	rc := cfg.Software.K0rdent.Regional.Clusters[0]
	values := ClusterValues(rc, *rc.ClusterDeployment, "00000000-0000-0000-0000-000000000001", IdentityRef{Name: "azure-cluster-identity", Namespace: "kcm-system"})
	if err := ValidateValues("azure-standalone-cp-1-0-17", schema, values); err != nil {
		t.Fatalf("the generated values break the template's schema: %v", err)
	}
	if values["workersNumber"] != 2 || values["location"] != "eastus" {
		t.Errorf("values %v", values)
	}

	spec := *rc.ClusterDeployment
	spec.Values = map[string]any{"controlPlane": map[string]any{"rootVolumeSize": "big"}, "worker": "tiny"}
	values = ClusterValues(rc, spec, "", IdentityRef{Name: "x", Namespace: "kcm-system"})
	err = ValidateValues("azure-standalone-cp-1-0-17", schema, values)
	var ve *ValuesError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValuesError, got %v", err)
	}
	for _, want := range []string{"/controlPlane/rootVolumeSize", "/worker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// Merged, not replaced: the vmSize given by k0rdentctl stays.
	if cp := values["controlPlane"].(map[string]any); cp["vmSize"] != "Standard_D4s_v5" {
		t.Errorf("controlPlane %v: cluster_deployment.values replaced the generated vmSize", cp)
	}
}

func TestImageTagAndVersions(t *testing.T) {
	for img, want := range map[string]string{
		"quay.io/jetstack/cert-manager-controller:v1.19.1":       "v1.19.1",
		"velero/velero:v1.17.0@sha256:0123":                      "v1.17.0",
		"registry:5000/capz/cluster-api-azure-controller":        "",
		"localhost:5000/cluster-api-azure-controller:v1.21.0":    "v1.21.0",
		"registry.k8s.io/cluster-api/cluster-api-controller@sha": "",
	} {
		if got := ImageTag(img); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", img, got, want)
		}
	}
	got := versionFrom([]string{"mcr.microsoft.com/k8s/azureserviceoperator:v2.11.0", "registry.k8s.io/cluster-api-azure/cluster-api-azure-controller:v1.21.0"}, "cluster-api-azure-controller")
	if got != "v1.21.0" {
		t.Errorf("CAPZ version %q, want the controller's, not ASO's", got)
	}
	if ComponentShortName(config.ProviderAzure) != "capz" || ComponentShortName(ComponentCertManager) != "cert-manager" || ComponentShortName("cluster-api-provider-foo") != "foo" {
		t.Error("short names")
	}
}

func TestObserveRegion(t *testing.T) {
	rg := &kcmv1.Region{}
	rg.Generation = 2
	rg.Status.ObservedGeneration = 1
	rg.Status.Conditions = []metav1.Condition{{Type: kcmv1.ReadyCondition, Status: metav1.ConditionTrue, Reason: kcmv1.AllComponentsHealthyReason, ObservedGeneration: 1}}
	rg.Status.Components = map[string]kcmv1.ComponentStatus{"capi": {Success: true}, "kcm-regional": {Error: "velero installing"}}
	st := ObserveRegion(rg)
	if st.Done() {
		t.Error("a Region Ready for an older generation is not done")
	}
	if s := st.Summary(); !strings.Contains(s, "has not seen the latest spec") || !strings.Contains(s, "1/2 components healthy") || !strings.Contains(s, "kcm-regional: velero installing") {
		t.Errorf("summary %q", s)
	}
	rg.Status.ObservedGeneration = 2
	rg.Status.Conditions[0].ObservedGeneration = 2
	if !ObserveRegion(rg).Done() {
		t.Error("Ready for its generation: want done")
	}
	if ObserveRegion(nil).Done() {
		t.Error("a missing Region is not done")
	}
}

func TestRegionDiff(t *testing.T) {
	cfg := parse(t, testConfig)
	_, runs, err := build(&Env{Config: cfg, DeploymentID: "k0rdent-abcdefgh"}, []string{"regional-useast"})
	if err != nil {
		t.Fatal(err)
	}
	p := &regionPhase{step: runs[0].step(StepRegion, nil)}
	rg := &kcmv1.Region{}
	rg.Labels = Labels("regional-useast", "k0rdent-zzzzzzzz")
	rg.Spec.ClusterDeployment = &kcmv1.ClusterDeploymentRef{Namespace: "kcm-system", Name: "regional-cluster-useast"}
	rg.Spec.Core = &kcmv1.Core{KCM: kcmv1.Component{Config: &apiextv1.JSON{Raw: []byte(`{"cert-manager":{"enabled":true},"velero":{"enabled":true},"telemetry":{"mode":"local"}}`)}}}
	rg.Spec.Providers = []kcmv1.Provider{{Name: "b"}, {Name: "a"}}
	if diff, imm := p.regionDiff(rg, []string{"a", "b"}); diff != "" || imm {
		t.Errorf("same Region (other keys, other order, another deployment's label): diff %q", diff)
	}
	if diff, _ := p.regionDiff(rg, []string{"a"}); !strings.Contains(diff, "providers are [b, a], not [a]") {
		t.Errorf("diff %q", diff)
	}
	rg.Spec.Core.KCM.Config.Raw = []byte(`{"velero":{"enabled":false}}`)
	if diff, _ := p.regionDiff(rg, []string{"a", "b"}); !strings.Contains(diff, "cert-manager.enabled is not true") || !strings.Contains(diff, "velero.enabled is not true") {
		t.Errorf("diff %q", diff)
	}
	rg.Spec.ClusterDeployment.Name = "other"
	if diff, imm := p.regionDiff(rg, []string{"a", "b"}); !imm || !strings.Contains(diff, "ClusterDeployment kcm-system/other, not ClusterDeployment kcm-system/regional-cluster-useast") {
		t.Errorf("another reference: diff %q immutable %t", diff, imm)
	}
}

func TestProbeReportsWhyAKubeconfigFails(t *testing.T) {
	ctx := t.Context()
	if _, _, err := Probe(ctx, []byte("this: is: not: yaml: ["), 0); !isProbe(err, ProbeInvalid) {
		t.Errorf("garbage: %v", err)
	}
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kc := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://` + addr + `", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	_, _, err = Probe(ctx, []byte(kc), 0)
	if !isProbe(err, ProbeUnreachable) || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "abc") {
		t.Errorf("closed port: %v", err)
	}
}

func isProbe(err error, kind string) bool {
	var pe *ProbeError
	return errors.As(err, &pe) && pe.Kind == kind
}

func TestErrorCarriesTheFix(t *testing.T) {
	err := error(&Error{Region: "r", Step: StepCluster, Summary: "unreachable", Err: errors.New("dial tcp: refused"), Fix: fixThen("check it", "r")})
	wrapped := &phase.Error{Phase: "region/r/cluster", Err: err}
	e := AsError(wrapped)
	if e == nil || e.Message() != "unreachable: dial tcp: refused" || e.Fix != "check it, then: k0rdentctl region deploy r" {
		t.Fatalf("%#v", e)
	}
	if !strings.HasSuffix(err.Error(), "; fix: check it, then: k0rdentctl region deploy r") {
		t.Errorf("Error() = %q", err)
	}
}

// Without a management cluster every region fails at its preflight, alone,
// and the report says so region by region (Deploy and Summarize agree).
func TestDeployWithoutManagementFailsAtPreflight(t *testing.T) {
	cfg := parse(t, testConfig)
	env := &Env{Config: cfg}
	rep, err := (&Deploy{Env: env}).Run(t.Context())
	if err == nil || rep == nil {
		t.Fatalf("Deploy: %v, %v", rep, err)
	}
	phases, _ := Phases(env, nil)
	sum := Summarize(env, phases, rep.Result)
	for _, r := range []*Report{rep, sum} {
		if len(r.Regions) != 2 || r.Counts[ReportFailed] != 2 || len(r.Failed()) != 2 {
			t.Fatalf("report %+v", r)
		}
		for _, rg := range r.Regions {
			if rg.FailedStep != StepPreflight || !strings.Contains(rg.Error, "no management cluster") || len(rg.Steps) != len(Steps()) {
				t.Errorf("%s: failed at %q: %s (%d steps)", rg.Name, rg.FailedStep, rg.Error, len(rg.Steps))
			}
		}
	}
	if rep.Parallel != 2 {
		t.Errorf("parallel %d, want regional.parallel 2", rep.Parallel)
	}
}
