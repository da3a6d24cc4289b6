package config

import (
	"embed"
	"fmt"
	"strings"
)

// files holds the embedded templates and examples (read-only).
//
//go:embed templates/*.yaml examples/*.yaml
var files embed.FS

// Template describes one embedded configuration: a template to start from
// (`config init --template NAME`) or an example of a feature (Example true).
type Template struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description"`
	Example     bool   `json:"example" yaml:"example"`
}

// Templates lists the embedded templates, then the examples.
func Templates() []Template {
	return []Template{
		{Name: "existing", Description: "k0rdent on a cluster you already have (mode existing), regional clusters ready to enable: what this build deploys end to end."},
		{Name: "minimal", Description: "The least a file needs: a name and a location; everything else is defaulted (1 controller, 1 worker)."},
		{Name: "small", Description: "A small management cluster: 1 controller and 2 workers, no zones; a cheap start."},
		{Name: "production", Description: "HA management cluster: 3 controllers and 3 workers spread over availability zones 1-3, with a regional section ready to enable."},
		{Name: "production-spot", Description: "The production layout on Spot VMs with a price cap: cheaper, but Azure can evict VMs at any time."},
		{Name: "single-node", Description: "One VM running both controller and workloads; the cheapest way to try k0rdent."},
		{Name: "large", Description: "5 controllers, 6 larger workers, and three k0rdent regional clusters deployed 3 at a time."},
		{Name: "development", Description: "A short-lived development cluster on cheap Arm64 Spot VMs with short timeouts."},
		{Name: "single-region", Example: true, Description: "One k0rdent regional cluster created by k0rdent (a ClusterDeployment), with a child cluster placed in it."},
		{Name: "multi-region", Example: true, Description: "Regional clusters in three Azure regions, each a ClusterDeployment, with children spread over them."},
		{Name: "external-regional", Example: true, Description: "An existing management cluster (mode existing) with existing clusters brought in as regions through kubeconfig Secrets."},
		{Name: "regional-with-kof", Example: true, Description: "k0rdent regional clusters together with KOF: the KOF regional cluster placed in a k0rdent region."},
	}
}

// TemplateContent returns the file of the template or example name. Its first
// line is SchemaComment.
func TemplateContent(name string) ([]byte, error) {
	for _, t := range Templates() {
		if t.Name != name {
			continue
		}
		dir := "templates"
		if t.Example {
			dir = "examples"
		}
		return files.ReadFile(dir + "/" + name + ".yaml")
	}
	var names []string
	for _, t := range Templates() {
		names = append(names, t.Name)
	}
	msg := fmt.Sprintf("no template or example named %q", name)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return nil, fmt.Errorf("%s (valid names: %s)", msg, strings.Join(names, ", "))
}

// AzureNote is the first line after SchemaComment of every template whose
// management.mode is azure: what deploy builds and what this machine needs
// for it. TemplateNote says the same to config init.
const AzureNote = "# management.mode azure: deploy builds the management cluster on Azure VMs (WireGuard, k0s). This machine needs an Azure identity (az login, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET), k0sctl 0.28+ and wireguard-tools; see the README."

// TemplateNote is what config init says about template name: what this
// machine needs to deploy it (mode azure), or "" when it needs nothing
// beyond a cluster.
func TemplateNote(name string) string {
	b, err := TemplateContent(name)
	if err != nil || !strings.Contains(string(b), AzureNote) {
		return ""
	}
	return "this template builds the management cluster on Azure VMs (management.mode azure): deploy needs an Azure identity (az login, or AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET), k0sctl 0.28 or newer and wireguard-tools on this machine. With a cluster you already have, start from: k0rdentctl config init --template existing"
}

// ParseTemplate parses a configuration template (see Parse): the
// configuration `config init --template name` would write.
func ParseTemplate(name string) (*Config, Diagnostics, error) {
	data, err := TemplateContent(name)
	if err != nil {
		return nil, nil, err
	}
	cfg, diags := Parse(data)
	return cfg, diags, nil
}
