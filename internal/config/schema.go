package config

import (
	"bytes"
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// SchemaFileName is the name `config init` gives the JSON Schema it writes
// beside the configuration file; the first line of every generated file points
// editors at it.
const SchemaFileName = "k0rdent.schema.json"

// SchemaComment is the first line of every generated configuration file.
const SchemaComment = "# yaml-language-server: $schema=./" + SchemaFileName

// Schema returns the JSON Schema (draft 2020-12) of the configuration file,
// generated from the Go types: every key with its description, enums for the
// closed sets of values, the known Azure locations for location fields, and
// additionalProperties false so editors flag misspelt keys as Decode does.
// Cross-field rules (exactly one of cluster_deployment_ref or
// kubeconfig_secret, CIDR overlaps, ...) are checked by Validate only.
func Schema() ([]byte, error) {
	r := &jsonschema.Reflector{
		RequiredFromJSONSchemaTags: true,
		FieldNameTag:               "yaml",
	}
	s := r.Reflect(&Config{})
	s.ID = "https://github.com/k0rdentctl/k0rdentctl/" + SchemaFileName
	s.Title = "k0rdentctl configuration"
	s.Description = "One file that describes a k0rdent 1.5 deployment on Azure: management cluster, k0rdent, regional management clusters, child clusters and KOF."

	locations := make([]any, 0, len(KnownLocations()))
	for _, l := range KnownLocations() {
		locations = append(locations, l)
	}
	for name, def := range s.Definitions {
		if def.Properties == nil {
			continue
		}
		if p, ok := def.Properties.Get("location"); ok && p.Type == "string" {
			p.Enum = locations
		}
		if name == "RegionalCluster" {
			// Exactly one reference; editors show the rule, Validate words it.
			def.OneOf = []*jsonschema.Schema{
				{Required: []string{"cluster_deployment_ref"}, Not: &jsonschema.Schema{Required: []string{"kubeconfig_secret"}}},
				{Required: []string{"kubeconfig_secret"}, Not: &jsonschema.Schema{Required: []string{"cluster_deployment_ref"}}},
			}
			def.Required = append(def.Required, "name", "location")
		}
		if name == "Config" {
			// Top-level x- keys are ignored: a home for YAML anchors.
			def.PatternProperties = map[string]*jsonschema.Schema{"^x-": {}}
		}
		if name == "ChildCluster" {
			def.Required = append(def.Required, "name")
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
