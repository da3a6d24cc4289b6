package credentials

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// Every missing part of the principal is named at once, with where to set
// it; the configuration wins over the environment; a secret file is read
// relative to the configuration's folder.
func TestPrincipalFrom(t *testing.T) {
	cfg := &config.Config{}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	_, err := PrincipalFrom(cfg, t.TempDir(), getenv)
	var m *MissingError
	if !errors.As(err, &m) || len(m.Missing) != 3 {
		t.Fatalf("empty principal: %v", err)
	}
	for _, want := range []string{EnvClientID, EnvTenantID, EnvClientSecret, "client_secret_file", "credentials setup --create-principal"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sp.secret"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Software.K0rdent.Credential.ClientID = "cfg-client"
	cfg.Software.K0rdent.Credential.ClientSecretFile = "sp.secret"
	env = map[string]string{EnvClientID: "env-client", EnvTenantID: "env-tenant", EnvClientSecret: "from-env"}
	p, err := PrincipalFrom(cfg, dir, getenv)
	if err != nil || p.ClientID != "cfg-client" || p.TenantID != "env-tenant" || string(p.secret) != "from-file" {
		t.Fatalf("principal %+v secret %q: %v", p, p.secret, err)
	}
	if b, _ := json.Marshal(p); strings.Contains(string(b), "from-file") {
		t.Fatalf("the secret is in the principal's JSON: %s", b)
	}
}

// The resource template renders, with Sveltos's template functions, into
// the Secret the child's cloud provider reads, with the child's network and
// the identity's principal.
func TestCloudProviderTemplateRenders(t *testing.T) {
	cluster := map[string]any{"spec": map[string]any{
		"azureEnvironment": "AzurePublicCloud", "subscriptionID": "sub-1", "resourceGroup": "child-rg", "location": "westeurope",
		"networkSpec": map[string]any{
			"vnet": map[string]any{"name": "child-vnet", "resourceGroup": "child-rg"},
			"subnets": []any{
				map[string]any{"role": "control-plane", "name": "cp-subnet", "securityGroup": map[string]any{"name": "cp-nsg"}, "routeTable": map[string]any{"name": "cp-rt"}},
				map[string]any{"role": "node", "name": "node-subnet", "securityGroup": map[string]any{"name": "node-nsg"}, "routeTable": map[string]any{"name": "node-rt"}},
			},
		},
	}}
	resources := map[string]any{
		"InfrastructureProviderIdentity":       map[string]any{"spec": map[string]any{"clientID": "client-1", "tenantID": "tenant-1"}},
		"InfrastructureProviderIdentitySecret": map[string]any{"data": map[string]any{"clientSecret": base64.StdEncoding.EncodeToString([]byte("pw"))}},
	}
	funcs := sprig.TxtFuncMap()
	funcs["getResource"] = func(name string) any { return resources[name] }
	tmpl, err := template.New("t").Funcs(funcs).Parse(CloudProviderTemplate())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]any{"InfrastructureProvider": cluster}); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(strings.TrimPrefix(strings.TrimSpace(out.String()), "---\n"), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("want a Secret and a StorageClass, got %d documents:\n%s", len(docs), out.String())
	}
	var secret struct {
		Metadata struct{ Name, Namespace string }
		Data     map[string]string
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &secret); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	raw, err := base64.StdEncoding.DecodeString(secret.Data["cloud-config"])
	if err != nil {
		t.Fatal(err)
	}
	var cc map[string]any
	if err := json.Unmarshal(raw, &cc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"aadClientId": "client-1", "aadClientSecret": "pw", "tenantId": "tenant-1", "subscriptionId": "sub-1",
		"resourceGroup": "child-rg", "location": "westeurope", "vnetName": "child-vnet", "subnetName": "node-subnet",
		"securityGroupName": "node-nsg", "routeTableName": "node-rt", "cloud": "AzurePublicCloud"}
	for k, v := range want {
		if cc[k] != v {
			t.Errorf("cloud-config %s = %v, want %v", k, cc[k], v)
		}
	}
	if secret.Metadata.Name != "azure-cloud-provider" || secret.Metadata.Namespace != "kube-system" || !strings.Contains(docs[1], "kind: StorageClass") {
		t.Errorf("rendered:\n%s", out.String())
	}
}
