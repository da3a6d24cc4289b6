package config

import (
	"testing"
)

// FuzzParse: no input makes decoding, defaulting, validation, hashing or
// rendering panic; and a configuration that parses without errors renders to
// YAML that parses back to the same configuration and hash.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 30s ./internal/config
func FuzzParse(f *testing.F) {
	for _, tp := range Templates() {
		data, err := TemplateContent(tp.Name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "~", "[]", "a: b: c", baseYAML,
		withRegional("- {name: r, location: westeu, cluster_deployment_ref: a, kubeconfig_secret: b}\n"),
		"x-a: &a {count: 2}\nchild_clusters: [{name: a, workers: {<<: *a}}]\n",
		"a: &a [*a]\n",
		"software: {k0rdent: {values: {1: {2: .nan}}}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ds := Parse(data)
		_ = ds.Error()
		h := Hash(data)
		if c == nil {
			return
		}
		out, err := Marshal(c)
		if err != nil {
			// Only free-form values YAML cannot render could do this.
			return
		}
		if ds.HasErrors() {
			return
		}
		c2, ds2 := Parse(out)
		if ds2.HasErrors() {
			t.Fatalf("rendered configuration does not parse:\n%s\n--- rendered:\n%s\n--- input:\n%q", ds2.Error(), out, data)
		}
		if h2 := Hash(out); h2 != h {
			t.Fatalf("hash changed through Marshal:\n%s\n--- input:\n%q", out, data)
		}
		_ = c2
	})
}
