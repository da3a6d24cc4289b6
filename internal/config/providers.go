package config

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
)

// CAPI provider names of k0rdent 1.5.0's Release (the names a Region's
// spec.providers and the Management's spec.providers use).
const (
	ProviderAzure     = "cluster-api-provider-azure"
	ProviderK0smotron = "cluster-api-provider-k0sproject-k0smotron"
	ProviderSveltos   = "projectsveltos"
)

// KnownProviders returns the CAPI provider names of k0rdent 1.5.0's Release.
func KnownProviders() []string {
	return []string{
		"cluster-api-provider-aws",
		ProviderAzure,
		"cluster-api-provider-docker",
		"cluster-api-provider-gcp",
		"cluster-api-provider-infoblox",
		"cluster-api-provider-ipam",
		ProviderK0smotron,
		"cluster-api-provider-openstack",
		"cluster-api-provider-vsphere",
		ProviderSveltos,
	}
}

// AzureProviders returns the providers a region needs to run Azure child
// clusters from k0rdent's Azure standalone template.
func AzureProviders() []string {
	return []string{ProviderAzure, ProviderK0smotron, ProviderSveltos}
}

// ProviderSelection is components.capi_providers: either a boolean (All: true
// for every provider of the release, false for none) or a list of provider
// names (Names).
type ProviderSelection struct {
	All   bool
	Names []string
}

// Enabled reports whether any provider is selected.
func (p ProviderSelection) Enabled() bool { return p.All || len(p.Names) > 0 }

// IsList reports whether the selection is a list of names.
func (p ProviderSelection) IsList() bool { return len(p.Names) > 0 }

// Includes reports whether provider name is selected.
func (p ProviderSelection) Includes(name string) bool {
	return p.All || slices.Contains(p.Names, name)
}

// String renders the selection as it is written in the file.
func (p ProviderSelection) String() string {
	if len(p.Names) > 0 {
		return fmt.Sprint(p.Names)
	}
	return fmt.Sprint(p.All)
}

// UnmarshalYAML accepts a boolean or a list of names.
func (p *ProviderSelection) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			return fmt.Errorf("expected true, false or a list of provider names, got %q", n.Value)
		}
		*p = ProviderSelection{All: b}
		return nil
	case yaml.SequenceNode:
		names := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
				return fmt.Errorf("expected a list of provider names (strings), got %s in the list", nodeKindName(item))
			}
			names = append(names, item.Value)
		}
		*p = ProviderSelection{Names: names}
		return nil
	default:
		return fmt.Errorf("expected true, false or a list of provider names, got %s", nodeKindName(n))
	}
}

// MarshalYAML writes a boolean or a list.
func (p ProviderSelection) MarshalYAML() (any, error) {
	if len(p.Names) > 0 {
		return p.Names, nil
	}
	return p.All, nil
}

// UnmarshalJSON accepts a boolean or an array of names.
func (p *ProviderSelection) UnmarshalJSON(b []byte) error {
	var all bool
	if err := json.Unmarshal(b, &all); err == nil {
		*p = ProviderSelection{All: all}
		return nil
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return fmt.Errorf("capi_providers: expected true, false or an array of provider names")
	}
	*p = ProviderSelection{Names: names}
	return nil
}

// MarshalJSON writes a boolean or an array.
func (p ProviderSelection) MarshalJSON() ([]byte, error) {
	if len(p.Names) > 0 {
		return json.Marshal(p.Names)
	}
	return json.Marshal(p.All)
}

// JSONSchema describes the selection as oneOf boolean / array of names.
func (ProviderSelection) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		OneOf: []*jsonschema.Schema{
			{Type: "boolean", Description: "true: every CAPI provider of the k0rdent release; false: none."},
			{
				Type:        "array",
				Description: "Only these CAPI providers.",
				Items:       &jsonschema.Schema{Type: "string", Examples: []any{ProviderAzure, ProviderK0smotron, ProviderSveltos}},
				MinItems:    ptr(uint64(1)),
				UniqueItems: true,
			},
		},
	}
}
