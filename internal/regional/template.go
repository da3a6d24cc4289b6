package regional

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	"github.com/Masterminds/semver/v3"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// AzureTemplatePrefix starts the names of k0rdent's Azure standalone
// ClusterTemplates (azure-standalone-cp-1-0-17 in k0rdent 1.5.0).
const AzureTemplatePrefix = "azure-standalone-cp-"

// TemplateSchemaKey is the data key of a ClusterTemplate's values schema in
// the ConfigMap named by status.schemaConfigMapName.
const TemplateSchemaKey = "schema"

var templateVersionRE = regexp.MustCompile(`-(\d+)-(\d+)-(\d+)$`)

// templateVersion is a template's chart version: status.chartVersion, else
// the version its name ends with ("...-1-0-17" is 1.0.17).
func templateVersion(t *kcmv1.ClusterTemplate) *semver.Version {
	if v, err := semver.NewVersion(t.Status.ChartVersion); err == nil && t.Status.ChartVersion != "" {
		return v
	}
	if m := templateVersionRE.FindStringSubmatch(t.Name); m != nil {
		if v, err := semver.NewVersion(m[1] + "." + m[2] + "." + m[3]); err == nil {
			return v
		}
	}
	return semver.New(0, 0, 0, "", "")
}

// ChooseTemplate returns the ClusterTemplate a regional ClusterDeployment is
// created from: the configured one (which must exist and be valid), else the
// newest valid Azure standalone ClusterTemplate in namespace.
func ChooseTemplate(ctx context.Context, c client.Client, namespace, configured string) (*kcmv1.ClusterTemplate, error) {
	if configured != "" {
		t := &kcmv1.ClusterTemplate{}
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: configured}, t)
		switch {
		case apierrors.IsNotFound(err):
			valid, lerr := validAzureTemplates(ctx, c, namespace)
			if lerr != nil {
				return nil, lerr
			}
			return nil, fmt.Errorf("ClusterTemplate %s/%s does not exist (valid Azure standalone templates there: %s)", namespace, configured, namesOr(valid, "none"))
		case err != nil:
			return nil, fmt.Errorf("reading ClusterTemplate %s/%s: %w", namespace, configured, err)
		case !t.Status.Valid:
			why := t.Status.ValidationError
			if why == "" {
				why = "not validated yet"
			}
			return nil, fmt.Errorf("ClusterTemplate %s/%s is not valid: %s", namespace, configured, why)
		}
		return t, nil
	}
	valid, err := validAzureTemplates(ctx, c, namespace)
	if err != nil {
		return nil, err
	}
	if len(valid) == 0 {
		return nil, fmt.Errorf("there is no valid Azure standalone ClusterTemplate (%s*) in namespace %s; k0rdent installs them with its templates", AzureTemplatePrefix, namespace)
	}
	return &valid[0], nil
}

// validAzureTemplates lists the valid Azure standalone templates, newest
// first.
func validAzureTemplates(ctx context.Context, c client.Client, namespace string) ([]kcmv1.ClusterTemplate, error) {
	list := &kcmv1.ClusterTemplateList{}
	if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing the ClusterTemplates in %s: %w", namespace, err)
	}
	var out []kcmv1.ClusterTemplate
	for _, t := range list.Items {
		if strings.HasPrefix(t.Name, AzureTemplatePrefix) && t.Status.Valid {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		vi, vj := templateVersion(&out[i]), templateVersion(&out[j])
		if c := vi.Compare(vj); c != 0 {
			return c > 0
		}
		return out[i].Name > out[j].Name
	})
	return out, nil
}

func namesOr(ts []kcmv1.ClusterTemplate, none string) string {
	if len(ts) == 0 {
		return none
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// IdentityRef names a namespaced ClusterIdentity.
type IdentityRef struct {
	Name      string
	Namespace string
}

// ClusterValues are the ClusterDeployment values (spec.config) of a
// regional cluster made from k0rdent's Azure standalone template: location,
// subscription, cluster identity, node counts and sizes, with
// cluster_deployment.values merged over them.
func ClusterValues(rc config.RegionalCluster, spec config.ClusterDeploymentSpec, subscriptionID string, identity IdentityRef) map[string]any {
	v := map[string]any{
		"location":           rc.Location,
		"subscriptionID":     subscriptionID,
		"clusterIdentity":    map[string]any{"name": identity.Name, "namespace": identity.Namespace},
		"controlPlaneNumber": spec.ControlPlane.Count,
		"workersNumber":      spec.Workers.Count,
		"controlPlane":       map[string]any{"vmSize": spec.ControlPlane.VMSize},
		"worker":             map[string]any{"vmSize": spec.Workers.VMSize},
	}
	mergeValues(v, spec.Values)
	return v
}

// mergeValues merges src into dst, recursively for maps; src wins.
func mergeValues(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dm = maps.Clone(dm)
				mergeValues(dm, sm)
				dst[k] = dm
				continue
			}
		}
		dst[k] = sv
	}
}

// ValuesError lists where values break a template's values schema.
type ValuesError struct {
	Template string
	Problems []string
}

func (e *ValuesError) Error() string {
	return fmt.Sprintf("the values do not match the values schema of ClusterTemplate %s: %s", e.Template, strings.Join(e.Problems, "; "))
}

// TemplateSchema returns a ClusterTemplate's values schema: the data key
// "schema" of the ConfigMap named by status.schemaConfigMapName in the
// template's namespace. ok is false when the template has none.
func TemplateSchema(ctx context.Context, c client.Client, t *kcmv1.ClusterTemplate) (schema []byte, ok bool, err error) {
	name := t.Status.SchemaConfigMapName
	if name == "" {
		return nil, false, nil
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, fmt.Errorf("ClusterTemplate %s/%s names values schema ConfigMap %s, which does not exist", t.Namespace, t.Name, name)
		}
		return nil, false, fmt.Errorf("reading the values schema of ClusterTemplate %s/%s (ConfigMap %s): %w", t.Namespace, t.Name, name, err)
	}
	s, ok := cm.Data[TemplateSchemaKey]
	if !ok {
		return nil, false, fmt.Errorf("ConfigMap %s/%s (values schema of ClusterTemplate %s) has no key %q", t.Namespace, name, t.Name, TemplateSchemaKey)
	}
	return []byte(s), true, nil
}

// ValidateTemplateValues checks values against the template's values schema.
// checked is false when the template has no schema. Values that break it give
// a *ValuesError.
func ValidateTemplateValues(ctx context.Context, c client.Client, t *kcmv1.ClusterTemplate, values map[string]any) (checked bool, err error) {
	schema, ok, err := TemplateSchema(ctx, c, t)
	if err != nil || !ok {
		return false, err
	}
	return true, ValidateValues(t.Name, schema, values)
}

// ValidateValues checks values against a JSON Schema (a chart's
// values.schema.json). Values that break it give a *ValuesError listing each
// problem with its path.
func ValidateValues(template string, schema []byte, values map[string]any) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return fmt.Errorf("the values schema of ClusterTemplate %s is not JSON: %w", template, err)
	}
	const url = "values.schema.json"
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource(url, doc); err != nil {
		return fmt.Errorf("reading the values schema of ClusterTemplate %s: %w", template, err)
	}
	sch, err := comp.Compile(url)
	if err != nil {
		return fmt.Errorf("the values schema of ClusterTemplate %s is not a valid JSON Schema: %w", template, err)
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("encoding values: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("encoding values: %w", err)
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("checking values against the values schema of ClusterTemplate %s: %w", template, err)
	}
	p := message.NewPrinter(language.English)
	var problems []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			path := "/" + strings.Join(e.InstanceLocation, "/")
			problems = append(problems, fmt.Sprintf("%s: %s", path, e.ErrorKind.LocalizedString(p)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(problems)
	return &ValuesError{Template: template, Problems: problems}
}
