package regional

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Component keys in the state record (the seed's snake_case names); CAPI
// providers are recorded under their k0rdent names.
const (
	ComponentCertManager = "cert_manager"
	ComponentVelero      = "velero"
	ComponentClusterAPI  = "cluster_api"
)

// Labels the components' Deployments carry in a regional cluster.
const (
	labelAppName      = "app.kubernetes.io/name"
	labelAppComponent = "app.kubernetes.io/component"
	// LabelCAPIProvider is clusterctl's label on every object of a CAPI
	// provider ("infrastructure-azure", "cluster-api", ...).
	LabelCAPIProvider = "cluster.x-k8s.io/provider"
	// LabelFluxHelmRelease is set by Flux on everything a HelmRelease
	// installs: "<region>-<chart>".
	LabelFluxHelmRelease = "helm.toolkit.fluxcd.io/name"
)

// Component is a regional component k0rdentctl checks: the Deployments that
// run it in the regional cluster and the image whose tag is its version.
type Component struct {
	// Key is its name in the state record's components map.
	Key string
	// Short is its name in one-line output: cert-manager, velero, capz...
	Short string
	// match selects its Deployments.
	match func(region string, d *appsv1.Deployment) bool
	// image is part of the image name whose tag is the version.
	image string
}

func labelIs(key, value string) func(string, *appsv1.Deployment) bool {
	return func(_ string, d *appsv1.Deployment) bool { return d.Labels[key] == value }
}

func labelIn(key string, values ...string) func(string, *appsv1.Deployment) bool {
	return func(_ string, d *appsv1.Deployment) bool { return slices.Contains(values, d.Labels[key]) }
}

// providerInfo says how a CAPI provider of k0rdent's release runs:
// clusterctl's provider labels of its Deployments, a short name and its
// controller image.
func providerInfo(name string) (labels []string, short, image string, ok bool) {
	switch name {
	case config.ProviderAzure:
		return []string{"infrastructure-azure"}, "capz", "cluster-api-azure-controller", true
	case config.ProviderK0smotron:
		return []string{"bootstrap-k0sproject-k0smotron", "control-plane-k0sproject-k0smotron", "infrastructure-k0sproject-k0smotron"}, "k0smotron", "k0smotron", true
	case "cluster-api-provider-aws":
		return []string{"infrastructure-aws"}, "capa", "cluster-api-aws-controller", true
	case "cluster-api-provider-gcp":
		return []string{"infrastructure-gcp"}, "capg", "cluster-api-gcp-controller", true
	case "cluster-api-provider-vsphere":
		return []string{"infrastructure-vsphere"}, "capv", "cluster-api-vsphere-controller", true
	case "cluster-api-provider-openstack":
		return []string{"infrastructure-openstack"}, "capo", "capi-openstack-controller", true
	case "cluster-api-provider-docker":
		return []string{"infrastructure-docker"}, "capd", "capd-manager", true
	case "cluster-api-provider-ipam":
		return []string{"ipam-in-cluster"}, "ipam", "cluster-api-ipam-in-cluster-controller", true
	case "cluster-api-provider-infoblox":
		return []string{"ipam-infoblox"}, "infoblox", "cluster-api-ipam-provider-infoblox", true
	}
	return nil, "", "", false
}

// ProviderComponent is how a CAPI provider of a region is recognised. A
// provider installed by a plain Helm chart (projectsveltos) is recognised by
// Flux's label "<region>-<provider>"; one installed through the CAPI operator
// by clusterctl's provider label.
func ProviderComponent(name string) Component {
	if name == config.ProviderSveltos {
		return Component{Key: name, Short: "sveltos", image: "addon-controller",
			match: func(region string, d *appsv1.Deployment) bool {
				return d.Labels[LabelFluxHelmRelease] == region+"-"+name
			}}
	}
	if labels, short, image, ok := providerInfo(name); ok {
		return Component{Key: name, Short: short, image: image, match: labelIn(LabelCAPIProvider, labels...)}
	}
	infra := "infrastructure-" + strings.TrimPrefix(name, "cluster-api-provider-")
	return Component{Key: name, Short: strings.TrimPrefix(name, "cluster-api-provider-"),
		match: func(region string, d *appsv1.Deployment) bool {
			return d.Labels[LabelCAPIProvider] == infra || d.Labels[LabelFluxHelmRelease] == region+"-"+name
		}}
}

// WantedComponents are the components a regional cluster should run: the
// enabled ones of the kcm-regional chart (cert-manager, Velero), core Cluster
// API, and the providers of its Region.
func WantedComponents(rc config.RegionalCluster, providers []string) []Component {
	var out []Component
	if rc.Components.CertManagerEnabled() {
		out = append(out, Component{Key: ComponentCertManager, Short: "cert-manager", image: "cert-manager-controller",
			match: func(_ string, d *appsv1.Deployment) bool {
				return d.Labels[labelAppName] == "cert-manager" && d.Labels[labelAppComponent] == "controller"
			}})
	}
	if rc.Components.VeleroEnabled() {
		out = append(out, Component{Key: ComponentVelero, Short: "velero", image: "velero/velero", match: labelIs(labelAppName, "velero")})
	}
	out = append(out, Component{Key: ComponentClusterAPI, Short: "capi", image: "cluster-api-controller", match: labelIs(LabelCAPIProvider, "cluster-api")})
	for _, p := range providers {
		out = append(out, ProviderComponent(p))
	}
	return out
}

// ComponentStatus is one component as seen in the regional cluster.
type ComponentStatus struct {
	Key   string `json:"name"`
	Short string `json:"short"`
	// Deployments are the Deployments found for it, "namespace/name".
	Deployments []string `json:"deployments,omitempty"`
	// Available: found, and every one of its Deployments is available for
	// its latest spec.
	Available bool `json:"available"`
	// Version is the tag of its controller image, "" when not found.
	Version string `json:"version,omitempty"`
	// Problem says why it is not available.
	Problem string `json:"problem,omitempty"`
}

// CheckComponents finds the components in a regional cluster's Deployments
// (one list call) and says whether each is available and which version runs.
func CheckComponents(ctx context.Context, c client.Client, region string, wanted []Component) ([]ComponentStatus, error) {
	list := &appsv1.DeploymentList{}
	if err := c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing the Deployments of regional cluster %s: %w", region, err)
	}
	out := make([]ComponentStatus, 0, len(wanted))
	for _, w := range wanted {
		st := ComponentStatus{Key: w.Key, Short: w.Short, Available: true}
		var images []string
		for i := range list.Items {
			d := &list.Items[i]
			if !w.match(region, d) {
				continue
			}
			st.Deployments = append(st.Deployments, d.Namespace+"/"+d.Name)
			for _, ctr := range d.Spec.Template.Spec.Containers {
				images = append(images, ctr.Image)
			}
			if ok, why := deploymentAvailable(d); !ok && st.Problem == "" {
				st.Available, st.Problem = false, fmt.Sprintf("Deployment %s/%s %s", d.Namespace, d.Name, why)
			}
		}
		if len(st.Deployments) == 0 {
			st.Available, st.Problem = false, "not installed (no Deployment found)"
		}
		st.Version = versionFrom(images, w.image)
		out = append(out, st)
	}
	return out, nil
}

// deploymentAvailable: the controller saw its latest spec, it is Available,
// and all its replicas are available.
func deploymentAvailable(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if want == 0 {
		return false, "is scaled to 0"
	}
	if d.Status.ObservedGeneration < d.Generation {
		return false, "has not been rolled out for its latest spec yet"
	}
	available := false
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			available = true
		}
	}
	if !available || d.Status.AvailableReplicas < want {
		return false, fmt.Sprintf("is not available (%d/%d replicas)", d.Status.AvailableReplicas, want)
	}
	return true, ""
}

// versionFrom is the tag of the first image whose name contains hint (the
// first image when none does): "quay.io/jetstack/cert-manager-controller:v1.19.1"
// gives "v1.19.1". A digest is ignored.
func versionFrom(images []string, hint string) string {
	pick := ""
	for _, img := range images {
		if hint != "" && strings.Contains(img, hint) {
			pick = img
			break
		}
	}
	if pick == "" && len(images) > 0 {
		pick = images[0]
	}
	return ImageTag(pick)
}

// ImageTag is the tag of an image reference, "" when it has none.
func ImageTag(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndexByte(image, '/')
	colon := strings.LastIndexByte(image, ':')
	if colon <= slash {
		return ""
	}
	return image[colon+1:]
}

// componentsPhase checks, in the regional cluster, that every component the
// region asked for runs and is available, records the versions seen there,
// and marks the region deployed.
type componentsPhase struct{ step }

func (p *componentsPhase) Title() string {
	return fmt.Sprintf("Verify the components running in regional cluster %s", p.r.rc.Name)
}

func (p *componentsPhase) DryRun(context.Context) ([]string, error) {
	rc := p.r.rc
	var names []string
	for _, c := range WantedComponents(rc, nil) {
		names = append(names, c.Short)
	}
	sel := rc.Components.Providers()
	switch {
	case sel.IsList():
		names = append(names, sel.Names...)
	case sel.All:
		names = append(names, "the Region's providers")
	}
	return []string{
		fmt.Sprintf("check that %s run and are available in the regional cluster, and record the versions of their images", strings.Join(names, ", ")),
		"mark the regional cluster deployed",
	}, nil
}

// regionProviders are the providers the Region asks for.
func (p *componentsPhase) regionProviders(ctx context.Context, c client.Client) ([]string, error) {
	rg := &kcmv1.Region{}
	if err := c.Get(ctx, client.ObjectKey{Name: p.r.rc.Name}, rg); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, p.fail("Region missing", fmt.Errorf("Region %s does not exist", p.r.rc.Name), fixThen("create it again", p.r.rc.Name))
		}
		return nil, fmt.Errorf("reading Region %s: %w", p.r.rc.Name, err)
	}
	var names []string
	for _, pr := range rg.Spec.Providers {
		names = append(names, pr.Name)
	}
	return names, nil
}

func (p *componentsPhase) observe(ctx context.Context) ([]ComponentStatus, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return nil, err
	}
	providers, err := p.regionProviders(ctx, mc.Client)
	if err != nil {
		return nil, err
	}
	rcl, err := p.r.regional(ctx)
	if err != nil {
		return nil, err
	}
	return CheckComponents(ctx, rcl.Client, p.r.rc.Name, WantedComponents(p.r.rc, providers))
}

func summarize(sts []ComponentStatus) (bool, string) {
	ok := 0
	var bad []string
	for _, s := range sts {
		if s.Available {
			ok++
			continue
		}
		bad = append(bad, s.Short+": "+s.Problem)
	}
	return ok == len(sts), strings.Join(append([]string{fmt.Sprintf("%d/%d components available", ok, len(sts))}, bad...), " · ")
}

// Versions are the observed versions by state key.
func Versions(sts []ComponentStatus) map[string]string {
	m := make(map[string]string, len(sts))
	for _, s := range sts {
		v := s.Version
		if v == "" {
			v = "unknown"
		}
		m[s.Key] = v
	}
	return m
}

// VersionLine is "cert-manager v1.19.1 velero v1.17.0 capz v1.21.0".
func VersionLine(sts []ComponentStatus) string {
	parts := make([]string, 0, len(sts))
	for _, s := range sts {
		v := s.Version
		if v == "" {
			v = "?"
		}
		parts = append(parts, s.Short+" "+v)
	}
	return strings.Join(parts, " ")
}

func (p *componentsPhase) Run(ctx context.Context, prog phase.Progress) error {
	return p.run(ctx, func() error {
		region := p.r.rc.Name
		var last []ComponentStatus
		check := func(ctx context.Context) (bool, string, error) {
			sts, err := p.observe(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return false, "", ctx.Err()
				}
				if e := AsError(err); e != nil {
					return false, "", e
				}
				return false, "cannot check the components: " + err.Error(), nil
			}
			last = sts
			done, summary := summarize(sts)
			return done, summary, nil
		}
		err := kube.WaitFor(ctx, fmt.Sprintf("the components of regional cluster %s to be available", region), p.r.env.regionTimeout(), p.r.env.interval(), check, func(s string) { prog.Printf("%s", s) })
		if err != nil {
			var wt *kube.WaitTimeoutError
			if errors.As(err, &wt) {
				return p.fail("components not available", err,
					fixThen(fmt.Sprintf("check the Deployments in the regional cluster (k0rdentctl region kubeconfig %s) and Region %s's components", region, region), region))
			}
			return err
		}
		versions := Versions(last)
		line := VersionLine(last)
		if err := p.r.event(ctx, p.name, EventComponentsInstalled, "components available in regional cluster %s: %s", region, line); err != nil {
			return err
		}
		if err := p.r.update(ctx, func(c *state.RegionalCluster) {
			c.Components = versions
			c.Status = state.RegionalDeployed
			c.Deployed = true
			c.LastError = ""
		}); err != nil {
			return err
		}
		return p.r.event(ctx, p.name, EventDeployed, "regional cluster %s is deployed (%s)", region, p.r.source())
	})
}

// Verify: the region was marked deployed (it is not when an earlier step of
// the chain ran again), and every component is still available with the
// versions recorded.
func (p *componentsPhase) Verify(ctx context.Context) (bool, string, error) {
	if snap := p.r.snapshot(); snap != nil && snap.Status != state.RegionalDeployed {
		return false, fmt.Sprintf("regional cluster %s is %s, not deployed: an earlier step ran again", p.r.rc.Name, snap.Status), nil
	}
	sts, err := p.observe(ctx)
	if err != nil {
		if e := AsError(err); e != nil {
			return false, e.Message(), nil
		}
		return false, "", err
	}
	if done, summary := summarize(sts); !done {
		return false, summary, nil
	}
	if snap := p.r.snapshot(); snap != nil && !maps.Equal(snap.Components, Versions(sts)) {
		return false, "the component versions changed since they were recorded", nil
	}
	return true, "", nil
}
