package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDecodeStrictUnknownKeys(t *testing.T) {
	yml := `metadata:
  name: test
azure:
  location: eastus
  subscripton_id: 00000000-0000-0000-0000-000000000000
software:
  k0rdent:
    regional:
      enabled: true
      clusters:
        - name: r1
          location: eastus
          clusterDeploymentRef: cd1
          components:
            cert-manager: true
kof_regional: {}
`
	_, ds := Decode([]byte(yml))
	want := []struct {
		path, msg string
		line      int
	}{
		{"azure.subscripton_id", `unknown key "subscripton_id"; did you mean "subscription_id"?`, 5},
		{"software.k0rdent.regional.clusters[0].clusterDeploymentRef", `unknown key "clusterDeploymentRef"; did you mean "cluster_deployment_ref"?`, 13},
		{"software.k0rdent.regional.clusters[0].components.cert-manager", `unknown key "cert-manager"; did you mean "cert_manager"?`, 15},
		{"kof_regional", `unknown key "kof_regional"`, 16},
	}
	for _, w := range want {
		d, ok := findDiag(ds, w.path, w.msg)
		if !ok {
			t.Errorf("missing %s %q in:\n%s", w.path, w.msg, ds.Error())
			continue
		}
		if d.Line != w.line || d.Severity != SeverityError {
			t.Errorf("%s: line %d severity %s, want line %d error", w.path, d.Line, d.Severity, w.line)
		}
		if !strings.HasPrefix(d.Hint, "valid keys here: ") {
			t.Errorf("%s: hint %q does not list the valid keys", w.path, d.Hint)
		}
	}
	if len(ds) != len(want) {
		t.Errorf("got %d diagnostics, want %d:\n%s", len(ds), len(want), ds.Error())
	}
	// The rendered form carries path, line and suggestion, as the CLI prints it.
	if s := ds[0].String(); !strings.Contains(s, "azure.subscripton_id (line 5): unknown key") {
		t.Errorf("String() = %q", s)
	}
}

func TestDecodeKeepsGoodFieldsAndDoesNotDefault(t *testing.T) {
	c, ds := Decode([]byte("metadata: {name: a, nme: b}\nazure: {location: eastus}\n"))
	if len(ds) != 1 || c == nil || c.Metadata.Name != "a" || c.Azure.Location != "eastus" {
		t.Fatalf("c=%+v ds=%s", c, ds.Error())
	}
	if c.Management.Mode != "" || c.Software.K0rdent.Version != "" {
		t.Errorf("Decode applied defaults: %+v", c)
	}
}

func TestDecodeKeepsRestOfAStructWithAnUnknownKey(t *testing.T) {
	c, ds := Decode([]byte(withRegional(`
- name: r1
  location: eastus
  cluster_deployment_ref: cd
  cluster_deployment:
    namespce: team-a
    workers: {count: 3}
`)))
	if _, ok := findDiag(ds, "software.k0rdent.regional.clusters[0].cluster_deployment.namespce", `did you mean "namespace"?`); !ok || len(ds) != 1 {
		t.Fatal(ds.Error())
	}
	cd := c.Software.K0rdent.Regional.Clusters[0].ClusterDeployment
	if cd == nil || cd.Workers.Count != 3 {
		t.Fatalf("cluster_deployment lost: %+v", cd)
	}
}

func TestDecodeTypeErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, path, msg string }{
		{"kof: {enabled: maybe}", "kof.enabled", `expected true or false, got "maybe"`},
		{"cluster: {controllers: {zones: one}}", "cluster.controllers.zones", "expected a list, got \"one\""},
		{"cluster: {controllers: {zones: [a]}}", "cluster.controllers.zones[0]", `expected a whole number, got "a"`},
		{"azure: [eastus]", "azure", "expected a mapping of keys to values, got a list"},
		{"azure: {tags: {a: {b: c}}}", "azure.tags.a", "expected a string, got a mapping"},
		{"metadata: {name: [a]}", "metadata.name", "expected a string, got a list"},
		{"azure: {max_price: cheap}", "azure.max_price", `expected a number, got "cheap"`},
		{"software: {k0rdent: {values: [1]}}", "software.k0rdent.values", "expected a mapping of keys to values, got a list"},
		{"timeouts: {kof_install: {a: 1}}", "timeouts.kof_install", "expected a duration such as 30m, got a mapping"},
		{"child_clusters: {name: a}", "child_clusters", "expected a list, got a mapping"},
		{"[1, 2]", "", "expected a mapping of keys to values, got a list"},
		{"just text", "", `expected a mapping of keys to values, got "just text"`},
		{"metadata: {<<: [a]}", "metadata", "a merge key (<<) needs a mapping or a list of mappings"},
	} {
		_, ds := Decode([]byte(tc.yaml))
		if _, ok := findDiag(ds, tc.path, tc.msg); !ok {
			t.Errorf("%s: want %s %q, got:\n%s", tc.yaml, tc.path, tc.msg, ds.Error())
		}
	}
}

func TestDecodeScalarsAsText(t *testing.T) {
	c, ds := Decode([]byte("metadata: {name: 123, owner: true}\nsoftware: {k0rdent: {version: 1.5.0}}\n"))
	if ds.HasErrors() || c.Metadata.Name != "123" || c.Metadata.Owner != "true" || c.Software.K0rdent.Version != "1.5.0" {
		t.Fatalf("%+v %s", c.Metadata, ds.Error())
	}
}

func TestDecodeSyntaxErrorHasLine(t *testing.T) {
	c, ds := Decode([]byte("metadata:\n  name: a\nazure: location: x\n"))
	if c != nil || len(ds) != 1 || ds[0].Line != 3 || !strings.HasPrefix(ds[0].Message, "invalid YAML: ") {
		t.Fatalf("c=%v ds=%#v", c, ds)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		c, ds := Decode([]byte(in))
		if c == nil || len(ds) != 0 {
			t.Errorf("%q: c=%v ds=%s", in, c, ds.Error())
		}
	}
	// Parse of an empty file: defaults, and the two things a file must say.
	_, ds := Parse(nil)
	if len(ds.Errors()) != 2 {
		t.Fatalf("want metadata.name and azure.location errors, got:\n%s", ds.Error())
	}
}

func TestDecodeAliases(t *testing.T) {
	yml := withRegional(`
- name: r1
  location: eastus
  kubeconfig_secret: r1
  components: &c {cert_manager: false, velero: true, capi_providers: [cluster-api-provider-azure]}
- name: r2
  location: westus
  kubeconfig_secret: r2
  components: *c
`)
	c := mustParse(t, yml)
	r2 := c.Software.K0rdent.Regional.Clusters[1].Components
	if r2.CertManagerEnabled() || !r2.VeleroEnabled() || !r2.Providers().Includes(ProviderAzure) || r2.Providers().Includes(ProviderSveltos) {
		t.Fatalf("alias not decoded: %+v", r2)
	}
}

func TestDecodeMergeKeys(t *testing.T) {
	yml := `x-pool: &pool {count: 3, vm_size: Standard_D4s_v5}
x-tags: &tags {team: platform, env: dev}
metadata: {name: test}
azure:
  location: eastus
  tags:
    <<: *tags
    env: prod
child_clusters:
  - name: a
    workers:
      <<: *pool
      count: 5
`
	c, ds := Decode([]byte(yml))
	// Top-level x- keys are ignored: they hold the anchors.
	if len(ds) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	w := c.ChildClusters[0].Workers
	if w.Count != 5 || w.VMSize != "Standard_D4s_v5" {
		t.Errorf("workers = %+v", w)
	}
	if c.Azure.Tags["team"] != "platform" || c.Azure.Tags["env"] != "prod" {
		t.Errorf("tags = %v", c.Azure.Tags)
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	// Each level doubles: 2^30 nodes if expanded naively.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x]\n")
	for i := 1; i <= 30; i++ {
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [*a" + itoa(i-1) + ", *a" + itoa(i-1) + "]\n")
	}
	b.WriteString("child_clusters: *a30\n")
	_, ds := Decode([]byte(b.String()))
	if !ds.HasErrors() {
		t.Fatal("no error")
	}
}

func TestDecodeCyclicMerge(t *testing.T) {
	for _, in := range []string{
		"metadata: &a {<<: [*a, *a]}\n",
		"azure: {tags: &t {<<: [*t, *t, *t]}}\n",
		"child_clusters: &c [*c, *c]\n",
	} {
		done := make(chan Diagnostics, 1)
		go func() { _, ds := Parse([]byte(in)); done <- ds }()
		select {
		case ds := <-done:
			if !ds.HasErrors() {
				t.Errorf("%q: no error", in)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: decoding does not finish", in)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k0rdent.yaml")
	if err := os.WriteFile(path, []byte(baseYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	c, data, ds, err := Load(path)
	if err != nil || ds.HasErrors() || c == nil || string(data) != baseYAML {
		t.Fatalf("Load: %v %v %s", c, err, ds.Error())
	}
	if _, _, _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("want an I/O error naming the file, got %v", err)
	}
}

func TestDiagnosticsMethods(t *testing.T) {
	ds := Diagnostics{
		{Path: "a", Severity: SeverityWarning, Message: "w"},
		{Path: "b", Line: 3, Severity: SeverityError, Message: "e", Hint: "h"},
	}
	if !ds.HasErrors() || len(ds.Errors()) != 1 || len(ds.Warnings()) != 1 {
		t.Fatal("filters")
	}
	if ds.Warnings().HasErrors() {
		t.Fatal("warnings have errors")
	}
	if got, want := ds.Error(), "a: warning: w\nb (line 3): e (h)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	var err error = ds
	if err.Error() == "" {
		t.Fatal("not an error")
	}
}

func TestCheckFilesAndResolvePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mgmt.kubeconfig"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, `metadata: {name: t}
management: {mode: existing, kubeconfig: mgmt.kubeconfig}
software:
  k0rdent:
    regional:
      enabled: true
      clusters:
        - {name: r1, location: eastus, kubeconfig_secret: r1, kubeconfig_file: ./missing.kubeconfig}
`)
	ds := CheckFiles(c, dir)
	if len(ds) != 1 || ds[0].Path != "software.k0rdent.regional.clusters[0].kubeconfig_file" || !strings.Contains(ds[0].Message, "missing.kubeconfig cannot be read") {
		t.Fatalf("CheckFiles: %s", ds.Error())
	}
	if got := ResolvePath("a/b", "/base"); got != "/base/a/b" {
		t.Error(got)
	}
	if got := ResolvePath("/abs", "/base"); got != "/abs" {
		t.Error(got)
	}
	home, _ := os.UserHomeDir()
	if got := ResolvePath("~/k", "/base"); got != filepath.Join(home, "k") {
		t.Error(got)
	}
	if ResolvePath("", "/base") != "" {
		t.Error("empty path")
	}
}
