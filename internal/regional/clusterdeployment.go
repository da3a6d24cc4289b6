package regional

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// EnvSubscriptionID is read when azure.subscription_id is empty.
const EnvSubscriptionID = "AZURE_SUBSCRIPTION_ID"

func (p *clusterPhase) cdKey() client.ObjectKey {
	return client.ObjectKey{Namespace: p.r.cdNamespace(), Name: p.r.rc.ClusterDeploymentRef}
}

func (p *clusterPhase) cdSpec() config.ClusterDeploymentSpec {
	if p.r.rc.ClusterDeployment != nil {
		return *p.r.rc.ClusterDeployment
	}
	return config.ClusterDeploymentSpec{}
}

func (p *clusterPhase) dryRunClusterDeployment() []string {
	key, spec, rc := p.cdKey(), p.cdSpec(), p.r.rc
	tmpl := spec.Template
	if tmpl == "" {
		tmpl = fmt.Sprintf("the newest valid %s* ClusterTemplate in %s", AzureTemplatePrefix, key.Namespace)
	}
	cred := spec.Credential
	if cred == "" {
		cred = p.r.env.Config.RegionalCredentialName("")
	}
	sub := p.r.env.Config.Azure.SubscriptionID
	if sub == "" {
		sub = "from " + EnvSubscriptionID
	}
	return []string{
		fmt.Sprintf("adopt ClusterDeployment %s if it exists, otherwise create it:", key),
		fmt.Sprintf("  template %s, credential %s, location %s, subscription %s", tmpl, cred, rc.Location, sub),
		fmt.Sprintf("  control plane %d x %s, workers %d x %s; values checked against the template's values schema first",
			spec.ControlPlane.Count, spec.ControlPlane.VMSize, spec.Workers.Count, spec.Workers.VMSize),
		fmt.Sprintf("wait up to %s until it is Ready and Secret %s/%s holds its kubeconfig, then prove the cluster answers an authenticated request",
			p.r.env.clusterTimeout(), key.Namespace, KubeconfigSecretName(key.Name)),
	}
}

// ours says whether this deployment created an object (Owned).
func (r *regionRun) ours(labels map[string]string) bool {
	owned, _ := Owned(labels, r.env.deploymentID())
	return owned
}

func (p *clusterPhase) runClusterDeployment(ctx context.Context, prog phase.Progress) ([]byte, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return nil, phase.Permanent(err)
	}
	key := p.cdKey()
	cd := &kcmv1.ClusterDeployment{}
	err = mc.Client.Get(ctx, key, cd)
	var owned bool
	switch {
	case apierrors.IsNotFound(err):
		cd, err = p.createClusterDeployment(ctx, prog, mc)
		if err != nil {
			return nil, err
		}
		owned = p.r.ours(cd.Labels)
	case err != nil:
		return nil, fmt.Errorf("reading ClusterDeployment %s on the management cluster: %w", key, err)
	default:
		prev := p.r.snapshot()
		owned = (prev != nil && prev.ClusterDeploymentOwned) || p.r.ours(cd.Labels)
		verb := "adopted"
		if owned {
			verb = "found the ClusterDeployment this deployment created,"
		}
		prog.Printf("%s ClusterDeployment %s (template %s)", verb, key, cd.Spec.Template)
		if !owned && !p.recorded(key) {
			if err := p.r.event(ctx, p.name, EventClusterDeploymentAdopt, "adopted existing ClusterDeployment %s (template %s) as regional cluster %s; k0rdentctl will not delete it", key, cd.Spec.Template, p.r.rc.Name); err != nil {
				return nil, err
			}
		}
		if err := p.r.resource(ctx, p.name, state.Resource{Kind: kcmv1.ClusterDeploymentKind, Namespace: key.Namespace, Name: key.Name, Location: p.r.rc.Location, Adopted: !owned}); err != nil {
			return nil, err
		}
	}
	if err := p.r.update(ctx, func(c *state.RegionalCluster) { c.ClusterDeploymentOwned = owned }); err != nil {
		return nil, err
	}
	data, err := p.waitClusterDeployment(ctx, prog, mc)
	if err != nil {
		return nil, err
	}
	where, err := p.prove(ctx, prog, data, KubeconfigSource(p.r.env.Config, p.r.rc))
	if err != nil {
		return nil, err
	}
	return data, p.r.event(ctx, p.name, EventClusterReady, "ClusterDeployment %s is Ready; its cluster answers at %s", key, where)
}

// recorded says whether the record already lists the object as a resource
// of this region.
func (p *clusterPhase) recorded(key client.ObjectKey) bool {
	if p.r.env.Session == nil {
		return false
	}
	for _, res := range p.r.env.Session.Snapshot().Resources {
		if res.Kind == kcmv1.ClusterDeploymentKind && res.Namespace == key.Namespace && res.Name == key.Name {
			return true
		}
	}
	return false
}

// createClusterDeployment creates the regional cluster's ClusterDeployment
// from the Azure standalone template, after checking its values against the
// template's values schema.
func (p *clusterPhase) createClusterDeployment(ctx context.Context, prog phase.Progress, mc *kube.Clients) (*kcmv1.ClusterDeployment, error) {
	key, spec, region := p.cdKey(), p.cdSpec(), p.r.rc.Name
	where := fmt.Sprintf("software.k0rdent.regional.clusters (%s).cluster_deployment", region)

	prog.Printf("choosing the ClusterTemplate for ClusterDeployment %s", key)
	tmpl, err := ChooseTemplate(ctx, mc.Client, key.Namespace, spec.Template)
	if err != nil {
		return nil, phase.Permanent(p.fail("no usable ClusterTemplate", err,
			fixThen(fmt.Sprintf("check the ClusterTemplates in %s (k0rdentctl k0rdent status) or set %s.template", key.Namespace, where), region)))
	}

	credName := spec.Credential
	if credName == "" {
		credName = p.r.env.Config.RegionalCredentialName("")
	}
	cred := &kcmv1.Credential{}
	if err := mc.Client.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: credName}, cred); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, phase.Permanent(p.fail("Credential missing", fmt.Errorf("Credential %s/%s, which the ClusterDeployment would use, does not exist", key.Namespace, credName),
				fixThen("create it ("+CreateCredentialHint+"), or set "+where+".credential", region)))
		}
		return nil, fmt.Errorf("reading Credential %s/%s: %w", key.Namespace, credName, err)
	}

	sub := p.r.env.Config.Azure.SubscriptionID
	if sub == "" {
		sub = p.r.env.getenv(EnvSubscriptionID)
	}
	if sub == "" {
		return nil, phase.Permanent(p.fail("no Azure subscription", errors.New("azure.subscription_id is empty and "+EnvSubscriptionID+" is not set"),
			fixThen("set azure.subscription_id in the configuration or export "+EnvSubscriptionID, region)))
	}

	values := ClusterValues(p.r.rc, spec, sub, identityOf(cred, p.r.env))
	prog.Printf("checking the values against the values schema of ClusterTemplate %s", tmpl.Name)
	checked, err := ValidateTemplateValues(ctx, mc.Client, tmpl, values)
	if err != nil {
		var ve *ValuesError
		if errors.As(err, &ve) {
			return nil, phase.Permanent(p.fail("values rejected by the template's schema", err,
				fixThen("correct "+where+" (sizes, counts, values)", region)))
		}
		return nil, err
	}
	if checked {
		if err := p.r.event(ctx, p.name, EventValuesValidated, "values for ClusterDeployment %s match the values schema of ClusterTemplate %s", key, tmpl.Name); err != nil {
			return nil, err
		}
	} else {
		p.r.warn(fmt.Sprintf("ClusterTemplate %s has no values schema (no status.schemaConfigMapName): the values were not checked before creating ClusterDeployment %s", tmpl.Name, key))
	}

	raw, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encoding the values of ClusterDeployment %s: %w", key, err)
	}
	cd := &kcmv1.ClusterDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace, Labels: Labels(region, p.r.env.deploymentID())},
		Spec: kcmv1.ClusterDeploymentSpec{
			Template:             tmpl.Name,
			Credential:           credName,
			Config:               &apiextv1.JSON{Raw: raw},
			PropagateCredentials: true,
		},
	}
	prog.Printf("creating ClusterDeployment %s from ClusterTemplate %s", key, tmpl.Name)
	if err := mc.Client.Create(ctx, cd); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Made meanwhile by someone else: use what is there.
			got := &kcmv1.ClusterDeployment{}
			if gerr := mc.Client.Get(ctx, key, got); gerr != nil {
				return nil, fmt.Errorf("reading ClusterDeployment %s: %w", key, gerr)
			}
			return got, nil
		}
		return nil, p.fail("ClusterDeployment not created", fmt.Errorf("creating ClusterDeployment %s: %w", key, err), fixThen("check the error above", region))
	}
	err = p.r.event(ctx, p.name, EventClusterDeploymentCreate, "created ClusterDeployment %s from ClusterTemplate %s (credential %s, location %s, control plane %d x %s, workers %d x %s)",
		key, tmpl.Name, credName, p.r.rc.Location, spec.ControlPlane.Count, spec.ControlPlane.VMSize, spec.Workers.Count, spec.Workers.VMSize)
	if err != nil {
		return nil, err
	}
	if err := p.r.resource(ctx, p.name, state.Resource{Kind: kcmv1.ClusterDeploymentKind, Namespace: key.Namespace, Name: key.Name, Location: p.r.rc.Location}); err != nil {
		return nil, err
	}
	return cd, nil
}

// identityOf is the ClusterIdentity a Credential references (the configured
// AzureClusterIdentity when it references none).
func identityOf(cred *kcmv1.Credential, env *Env) IdentityRef {
	if cred != nil && cred.Spec.IdentityRef != nil {
		return IdentityRef{Name: cred.Spec.IdentityRef.Name, Namespace: cred.Spec.IdentityRef.Namespace}
	}
	name := env.Config.Software.K0rdent.Credential.IdentityName
	if name == "" {
		name = config.DefaultIdentityName
	}
	return IdentityRef{Name: name, Namespace: env.credentialNamespace()}
}

// waitClusterDeployment waits until the ClusterDeployment is Ready and its
// kubeconfig Secret exists, and returns the kubeconfig.
func (p *clusterPhase) waitClusterDeployment(ctx context.Context, prog phase.Progress, mc *kube.Clients) ([]byte, error) {
	key, region := p.cdKey(), p.r.rc.Name
	ref := KubeconfigSource(p.r.env.Config, p.r.rc)
	var data []byte
	check := func(ctx context.Context) (bool, string, error) {
		s, err := observeClusterDeployment(ctx, mc.Client, key)
		if err != nil {
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, "cannot read ClusterDeployment: " + err.Error(), nil
		}
		if !s.exists {
			return false, s.observed, p.fail("ClusterDeployment gone", errors.New(s.observed+" any more"), fixThen("find out who deleted it", region))
		}
		if !s.ready {
			return false, s.observed, nil
		}
		d, err := ReadKubeconfig(ctx, mc.Client, ref)
		if err != nil {
			if errors.Is(err, errNoKubeconfig) {
				return false, s.observed + "; waiting for its kubeconfig: " + err.Error(), nil
			}
			return false, "", err
		}
		data = d
		return true, s.observed, nil
	}
	err := kube.WaitFor(ctx, fmt.Sprintf("ClusterDeployment %s to be Ready", key), p.r.env.clusterTimeout(), p.r.env.interval(), check, func(s string) { prog.Printf("%s", s) })
	if err != nil {
		var wt *kube.WaitTimeoutError
		if errors.As(err, &wt) {
			return nil, p.fail("ClusterDeployment not ready", err,
				fixThen(fmt.Sprintf("see its conditions (kubectl -n %s describe clusterdeployment %s) and the cluster's Azure resources; raise timeouts.regional_cluster if it is only slow", key.Namespace, key.Name), region))
		}
		return nil, err
	}
	return data, nil
}

// verifyClusterDeployment reports what is no longer in place ("" when all
// is) and the kubeconfig.
func (p *clusterPhase) verifyClusterDeployment(ctx context.Context) ([]byte, string, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return nil, "", err
	}
	s, err := observeClusterDeployment(ctx, mc.Client, p.cdKey())
	if err != nil {
		return nil, "", fmt.Errorf("reading ClusterDeployment %s: %w", p.cdKey(), err)
	}
	if !s.ready {
		return nil, s.observed, nil
	}
	ref := KubeconfigSource(p.r.env.Config, p.r.rc)
	data, err := ReadKubeconfig(ctx, mc.Client, ref)
	if err != nil {
		if errors.Is(err, errNoKubeconfig) {
			return nil, err.Error(), nil
		}
		return nil, "", err
	}
	if _, _, err := Probe(ctx, data, p.r.env.connectTimeout(), p.r.env.ClientOptions...); err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, err.Error(), nil
	}
	return data, "", nil
}
