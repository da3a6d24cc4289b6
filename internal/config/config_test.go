package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestTemplatesValidate(t *testing.T) {
	wantTemplates := []string{"existing", "minimal", "small", "production", "production-spot", "single-node", "large", "development"}
	wantExamples := []string{"single-region", "multi-region", "external-regional", "regional-with-kof"}
	var gotTemplates, gotExamples []string
	for _, tp := range Templates() {
		if tp.Example {
			gotExamples = append(gotExamples, tp.Name)
		} else {
			if len(gotExamples) > 0 {
				t.Errorf("template %s listed after examples", tp.Name)
			}
			gotTemplates = append(gotTemplates, tp.Name)
		}
		t.Run(tp.Name, func(t *testing.T) {
			if tp.Description == "" {
				t.Error("no description")
			}
			data, err := TemplateContent(tp.Name)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := bytes.Cut(data, []byte("\n"))
			if string(first) != SchemaComment {
				t.Errorf("first line %q, want %q", first, SchemaComment)
			}
			if n := bytes.Count(data, []byte("\n#")); n < 5 {
				t.Errorf("only %d comment lines: templates teach the file", n)
			}
			c, ds := Parse(data)
			if ds.HasErrors() {
				t.Fatalf("errors:\n%s", ds.Errors().Error())
			}
			if !tp.Example && len(ds) > 0 {
				t.Errorf("a template should validate without warnings:\n%s", ds.Error())
			}
			for _, w := range ds.Warnings() {
				t.Logf("warning: %s", w)
			}
			if c.Metadata.Name == "" {
				t.Error("no metadata.name")
			}
		})
	}
	if !slices.Equal(gotTemplates, wantTemplates) || !slices.Equal(gotExamples, wantExamples) {
		t.Fatalf("templates %v examples %v", gotTemplates, wantExamples)
	}
}

func TestExamplesShowTheirFeature(t *testing.T) {
	load := func(name string) *Config {
		data, err := TemplateContent(name)
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, string(data))
	}
	if c := load("single-region"); !c.RegionalEnabled() || len(c.Software.K0rdent.Regional.Clusters) != 1 {
		t.Error("single-region: want one regional cluster")
	}
	if c := load("multi-region"); len(c.Software.K0rdent.Regional.Clusters) < 3 {
		t.Error("multi-region: want three regions")
	}
	c := load("external-regional")
	if !c.ExistingManagement() {
		t.Error("external-regional: want management mode existing")
	}
	for _, r := range c.Software.K0rdent.Regional.Clusters {
		if r.Type() != RegionalTypeExternal {
			t.Errorf("external-regional: %s is %s", r.Name, r.Type())
		}
	}
	c = load("regional-with-kof")
	if !c.RegionalEnabled() || !c.KOFEnabled() || c.KOF.Regional.Region == "" {
		t.Error("regional-with-kof: want k0rdent regional and KOF regional placed in a region")
	}
	if c := load("development"); c.Azure.Priority != PrioritySpot || !strings.Contains(c.VMSizing.Controller, "p") {
		t.Error("development: want Arm64 Spot")
	}
}

func TestTemplateContentUnknown(t *testing.T) {
	_, err := TemplateContent("prodution")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`no template or example named "prodution"`, `did you mean "production"?`, "existing, minimal, small, production", "regional-with-kof"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing %q", err, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, withRegional(`
- name: r1
  location: eastus
  cluster_deployment_ref: r1-cd
- name: r2
  location: westeurope
  kubeconfig_secret: r2-kubeconfig
`)+"child_clusters:\n  - {name: app, region: r1}\n  - {name: tools}\n")
	k := c.Software.K0rdent
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", c.Management.Mode, ModeAzure},
		{"version", k.Version, "1.5.0"},
		{"chart", k.Chart, "oci://ghcr.io/k0rdent/kcm/charts/kcm"},
		{"namespace", k.Namespace, "kcm-system"},
		{"parallel", k.Regional.Parallel, 4},
		{"credential", k.Credential.Name, DefaultCredentialName},
		{"credential namespace", k.Credential.Namespace, "kcm-system"},
		{"identity", k.Credential.IdentityName, DefaultIdentityName},
		{"image", c.Azure.Image, DefaultImage},
		{"priority", c.Azure.Priority, PriorityRegular},
		{"no eviction policy without Spot", c.Azure.EvictionPolicy, ""},
		{"no max price without Spot", c.Azure.MaxPrice == nil, true},
		{"vnet", c.Network.VNetCIDR, "10.0.0.0/16"},
		{"subnet", c.Network.SubnetCIDR, "10.0.1.0/24"},
		{"wireguard", c.Network.WireGuardNetwork, "192.168.100.0/24"},
		{"wireguard port", c.Network.WireGuardPort, 51820},
		{"controller size", c.VMSizing.Controller, DefaultVMSize},
		{"controllers", c.Cluster.Controllers.Replicas(), 1},
		{"workers", c.Cluster.Workers.Replicas(), 1},
		{"ssh user", c.SSH.User, "k0rdent"},
		{"k0s", c.Software.K0s.Version, DefaultK0sVersion},
		{"credential propagation", k.Regional.Clusters[0].PropagatesCredentials(), true},
		{"cert-manager", k.Regional.Clusters[0].Components.CertManagerEnabled(), true},
		{"velero", k.Regional.Clusters[1].Components.VeleroEnabled(), true},
		{"capi providers", k.Regional.Clusters[1].Components.Providers(), ProviderSelection{All: true}},
		{"cd namespace", k.Regional.Clusters[0].ClusterDeployment.Namespace, "kcm-system"},
		{"cd credential", k.Regional.Clusters[0].ClusterDeployment.Credential, DefaultCredentialName},
		{"cd control plane", k.Regional.Clusters[0].ClusterDeployment.ControlPlane, NodePool{Count: 1, VMSize: DefaultVMSize}},
		{"cd workers", k.Regional.Clusters[0].ClusterDeployment.Workers, NodePool{Count: 1, VMSize: DefaultVMSize}},
		{"no cluster_deployment for an external cluster", k.Regional.Clusters[1].ClusterDeployment == nil, true},
		{"type cd", k.Regional.Clusters[0].Type(), RegionalTypeDeployment},
		{"type external", k.Regional.Clusters[1].Type(), RegionalTypeExternal},
		{"child namespace", c.ChildClusters[0].Namespace, "kcm-system"},
		{"child location", c.ChildClusters[0].Location, "eastus"},
		{"child credential in a region", c.ChildClusters[0].Credential, "azure-cluster-credential-r1"},
		{"child credential on management", c.ChildClusters[1].Credential, "azure-cluster-credential"},
		{"child workers", c.ChildClusters[1].Workers, NodePool{Count: 1, VMSize: DefaultVMSize}},
		{"timeout", c.Timeouts.RegionalCluster.Std(), 45 * time.Minute},
		{"state", c.State.Backend, StateBackendLocal},
		{"kof off", c.KOF.Version, ""},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestRegionalDisabledByDefault(t *testing.T) {
	c := mustParse(t, baseYAML)
	if c.RegionalEnabled() || c.Software.K0rdent.Regional.Enabled {
		t.Fatal("regional enabled by default")
	}
	var nilCfg *Config
	if nilCfg.RegionalEnabled() {
		t.Fatal("nil config regional")
	}
}

func TestDefaultsKeepExplicitValues(t *testing.T) {
	c := mustParse(t, baseYAML+`  priority: Spot
cluster:
  workers: {count: 0}
software:
  k0rdent:
    regional:
      enabled: true
      clusters:
        - name: r1
          location: eastus
          kubeconfig_secret: r1
          credential_propagation: false
          components: {cert_manager: false, capi_providers: false}
kof:
  enabled: true
  istio: {enabled: false}
  regional: {domain: kof.example.com, admin_email: a@example.com}
`)
	r := c.Software.K0rdent.Regional.Clusters[0]
	if c.Cluster.Workers.Replicas() != 0 {
		t.Error("workers count 0 overwritten")
	}
	if r.PropagatesCredentials() || r.Components.CertManagerEnabled() || r.Components.Providers().Enabled() || !r.Components.VeleroEnabled() {
		t.Errorf("explicit false overwritten: %+v", r)
	}
	if c.Azure.EvictionPolicy != EvictDeallocate || c.Azure.MaxPrice == nil || *c.Azure.MaxPrice != -1 {
		t.Errorf("Spot defaults: %q %v", c.Azure.EvictionPolicy, c.Azure.MaxPrice)
	}
	if c.KOF.Istio.IsEnabled() || c.KOF.Istio.Namespace != "" {
		t.Errorf("istio: %+v", c.KOF.Istio)
	}
	if c.KOF.Version != DefaultKOFVersion || c.KOF.Regional.Name != DefaultKOFRegionalName || c.KOF.Regional.Location != "eastus" || c.KOF.Regional.Workers.Count != 2 {
		t.Errorf("kof defaults: %+v", c.KOF)
	}
}

func TestApplyDefaultsIdempotent(t *testing.T) {
	for _, tp := range Templates() {
		data, _ := TemplateContent(tp.Name)
		once, _ := Parse(data)
		twice, _ := Parse(data)
		twice.ApplyDefaults()
		if !reflect.DeepEqual(once, twice) {
			t.Errorf("%s: ApplyDefaults is not idempotent", tp.Name)
		}
	}
	var nilCfg *Config
	nilCfg.ApplyDefaults() // no panic
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, tp := range Templates() {
		t.Run(tp.Name, func(t *testing.T) {
			data, _ := TemplateContent(tp.Name)
			c, _ := Parse(data)
			out, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, ds := Parse(out)
			if ds.HasErrors() {
				t.Fatalf("Marshal output does not parse:\n%s\n%s", ds.Error(), out)
			}
			if !reflect.DeepEqual(c, c2) {
				t.Errorf("round trip changed the configuration:\n%s", out)
			}
			if Hash(data) != Hash(out) {
				t.Error("round trip changed the hash")
			}
		})
	}
	// Marshal shows the effective configuration, also of an undefaulted one,
	// without changing its argument.
	c, _ := Decode([]byte(baseYAML))
	out, err := Marshal(c)
	if err != nil || !strings.Contains(string(out), "chart: oci://ghcr.io/k0rdent/kcm/charts/kcm") {
		t.Fatalf("Marshal: %v\n%s", err, out)
	}
	if c.Software.K0rdent.Chart != "" {
		t.Error("Marshal changed its argument")
	}
}

func TestHash(t *testing.T) {
	a := `# comment
metadata:
  name: test
azure:
  location: eastus
  tags: {b: "2", a: "1"}
software:
  k0rdent:
    regional:
      enabled: true
      clusters:
        - {name: r1, location: eastus, kubeconfig_secret: s1}
`
	// Same content: keys reordered, other comments and formatting, and a
	// default written out.
	b := `azure:   {tags: {a: "1", b: "2"}, location: eastus}
software:
  k0rdent:
    version: "1.5.0"          # the default, written explicitly
    regional:
      clusters:
        - kubeconfig_secret: s1
          location: eastus
          name: r1
          credential_propagation: true
      enabled: true
metadata: {name: test}
`
	ha, hb := Hash([]byte(a)), Hash([]byte(b))
	if ha != hb {
		t.Fatalf("hash differs across key order, comments and explicit defaults:\n%s\n%s", ha, hb)
	}
	if len(ha) != 64 {
		t.Fatalf("not a sha256 hex: %q", ha)
	}
	if Hash([]byte(a)) != ha {
		t.Fatal("hash not stable")
	}
	for _, changed := range []string{
		strings.Replace(a, "location: eastus, kubeconfig_secret", "location: westus, kubeconfig_secret", 1),
		strings.Replace(a, `a: "1"`, `a: "3"`, 1),
		strings.Replace(a, "enabled: true", "enabled: false", 1),
	} {
		if Hash([]byte(changed)) == ha {
			t.Errorf("hash unchanged by a change:\n%s", changed)
		}
	}
	broken := []byte("metadata: [\n")
	if Hash(broken) != Hash(broken) || Hash(broken) == Hash(nil) {
		t.Error("hash of invalid YAML not stable or not distinct")
	}
	c := mustParse(t, a)
	if HashConfig(c) != ha {
		t.Error("HashConfig differs from Hash")
	}
}

func TestSchema(t *testing.T) {
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	for _, want := range []string{
		`"$schema": "https://json-schema.org/draft/2020-12/schema"`,
		`"cluster_deployment_ref"`, `"kubeconfig_secret"`, `"kubeconfig_file"`, `"credential_propagation"`,
		`"capi_providers"`, `"cert_manager"`, `"velero"`, `"parallel"`, `"westeurope"`, `"swedencentral"`,
		`"wireguard_network"`, `"eviction_policy"`, `"azure_blob"`, `"admin_email"`, `"child_clusters"`,
		`"additionalProperties": false`, `"Spot"`, `"existing"`,
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("schema lacks %s", want)
		}
	}
	defs := doc["$defs"].(map[string]any)
	// capi_providers is oneOf boolean / array of names.
	ps := defs["ProviderSelection"].(map[string]any)
	oneOf, _ := ps["oneOf"].([]any)
	if len(oneOf) != 2 || oneOf[0].(map[string]any)["type"] != "boolean" || oneOf[1].(map[string]any)["type"] != "array" {
		t.Errorf("ProviderSelection schema: %v", ps)
	}
	if defs["Duration"].(map[string]any)["type"] != "string" {
		t.Errorf("Duration schema: %v", defs["Duration"])
	}
	// Every key of every struct type is in the schema, and nothing more.
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || seen[rt] || rt == reflect.TypeFor[ProviderSelection]() {
			return
		}
		seen[rt] = true
		def, ok := defs[rt.Name()].(map[string]any)
		if !ok {
			t.Errorf("no schema for %s", rt.Name())
			return
		}
		props := def["properties"].(map[string]any)
		if def["additionalProperties"] != false {
			t.Errorf("%s allows additional properties", rt.Name())
		}
		var keys []string
		for i := range rt.NumField() {
			f := rt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			keys = append(keys, name)
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("schema of %s lacks %s", rt.Name(), name)
			} else if p["description"] == nil && p["$ref"] == nil {
				t.Errorf("%s.%s has no description", rt.Name(), name)
			}
			walk(f.Type)
		}
		if len(props) != len(keys) {
			t.Errorf("%s: schema has %d properties, type has %d", rt.Name(), len(props), len(keys))
		}
	}
	walk(reflect.TypeFor[Config]())
}

func TestProviderSelection(t *testing.T) {
	for _, tc := range []struct {
		yaml    string
		want    ProviderSelection
		enabled bool
	}{
		{"true", ProviderSelection{All: true}, true},
		{"false", ProviderSelection{}, false},
		{"[cluster-api-provider-azure, projectsveltos]", ProviderSelection{Names: []string{ProviderAzure, ProviderSveltos}}, true},
	} {
		var p ProviderSelection
		if err := yaml.Unmarshal([]byte(tc.yaml), &p); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, tc.want) || p.Enabled() != tc.enabled {
			t.Errorf("%s: %+v", tc.yaml, p)
		}
		y, _ := yaml.Marshal(p)
		var back ProviderSelection
		if err := yaml.Unmarshal(y, &back); err != nil || !reflect.DeepEqual(back, p) {
			t.Errorf("YAML round trip of %s: %s", tc.yaml, y)
		}
		j, _ := json.Marshal(p)
		var jback ProviderSelection
		if err := json.Unmarshal(j, &jback); err != nil || !reflect.DeepEqual(jback, p) {
			t.Errorf("JSON round trip of %s: %s", tc.yaml, j)
		}
	}
	var p ProviderSelection
	for _, bad := range []string{`"yes please"`, "{a: 1}", "[1, [2]]", "3"} {
		if err := yaml.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"a":1}`), &p); err == nil {
		t.Error("JSON object accepted")
	}
	if !(ProviderSelection{All: true}).Includes(ProviderAzure) || (ProviderSelection{Names: []string{ProviderSveltos}}).Includes(ProviderAzure) {
		t.Error("Includes")
	}
}

func TestUnknownProviderWarns(t *testing.T) {
	_, ds := Parse([]byte(withRegional(`
- {name: r1, location: eastus, kubeconfig_secret: r1, components: {capi_providers: [cluster-api-provider-azur]}}
`)))
	if ds.HasErrors() {
		t.Fatal(ds.Errors().Error())
	}
	if _, ok := findDiag(ds.Warnings(), "software.k0rdent.regional.clusters[0].components.capi_providers[0]", `did you mean "cluster-api-provider-azure"?`); !ok {
		t.Fatal(ds.Error())
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]string{"30m": "30m", "1h": "1h", "90m": "1h30m", "45s": "45s", "1h0m30s": "1h0m30s", "1.5h": "1h30m"} {
		d, err := parseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("%s: %s %v, want %s", in, d, err, want)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"2h"`), &d); err != nil || d.Std() != 2*time.Hour {
		t.Error(err)
	}
	if err := json.Unmarshal([]byte(`5`), &d); err == nil {
		t.Error("number accepted")
	}
	if b, _ := json.Marshal(Duration(20 * time.Minute)); string(b) != `"20m"` {
		t.Errorf("%s", b)
	}
}

func TestLocations(t *testing.T) {
	locs := KnownLocations()
	if len(locs) < 60 {
		t.Fatalf("only %d locations; want the full public-cloud list", len(locs))
	}
	if !slices.IsSorted(locs) || len(slices.Compact(slices.Clone(locs))) != len(locs) {
		t.Fatal("locations not sorted and unique")
	}
	for _, l := range []string{"eastus", "eastus2", "westeurope", "northeurope", "swedencentral", "italynorth", "polandcentral",
		"spaincentral", "mexicocentral", "newzealandnorth", "israelcentral", "qatarcentral", "southafricanorth", "australiacentral2",
		"jioindiawest", "westus3", "brazilsoutheast", "germanywestcentral", "uaenorth", "koreacentral", "chilecentral", "malaysiawest"} {
		if !IsLocation(l) {
			t.Errorf("%s missing", l)
		}
	}
	for _, l := range []string{"westeu", "WestEurope", "west europe", "", "usgovvirginia", "chinaeast2"} {
		if IsLocation(l) {
			t.Errorf("%q accepted", l)
		}
	}
	for in, want := range map[string]string{
		"westeu":        "westeurope",
		"West Europe":   "westeurope",
		"west-europe":   "westeurope",
		"WESTEUROPE":    "westeurope",
		"weu":           "westeurope",
		"northeu":       "northeurope",
		"norteurope":    "northeurope",
		"swedencentrl":  "swedencentral",
		"swedencentral": "swedencentral",
		"eastus-2":      "eastus2",
		"east":          "eastus",
		"uksouht":       "uksouth",
		"germanywest":   "germanywestcentral",
		"wsteurope":     "westeurope",
		"us-east-1":     "eastus",
		"japan east":    "japaneast",
		"xyzzy":         "",
		"":              "",
	} {
		if got := SuggestLocation(in); got != want {
			t.Errorf("SuggestLocation(%q) = %q, want %q", in, got, want)
		}
	}
	if LocationDisplayName("westeurope") != "West Europe" {
		t.Error("display name")
	}
}

func TestAccessors(t *testing.T) {
	c := mustParse(t, withRegional("- {name: r1, location: eastus, kubeconfig_secret: r1}\n"))
	if r, ok := c.RegionalCluster("r1"); !ok || r.Location != "eastus" {
		t.Error("RegionalCluster")
	}
	if _, ok := c.RegionalCluster("nope"); ok {
		t.Error("found a missing region")
	}
	if got := c.RegionalCredentialName("r1"); got != "azure-cluster-credential-r1" {
		t.Error(got)
	}
	if c.ExistingManagement() || c.KOFEnabled() {
		t.Error("mode/kof")
	}
}
