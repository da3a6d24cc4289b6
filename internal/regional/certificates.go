package regional

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// KCMControllerDeployment is the kcm controller's Deployment when the chart
// is installed as release "kcm".
const KCMControllerDeployment = "kcm-controller-manager"

// RegistryCertFlag is the kcm controller's flag naming the registry
// certificate Secret that k0rdent copies into regions.
const RegistryCertFlag = "--registry-cert-secret-name"

// RegistryCertSecretName returns the registry certificate Secret the kcm
// controller runs with (its Deployment's --registry-cert-secret-name), ""
// when it runs without one, and the Deployment it read. The Deployment is
// kcm-controller-manager, else the one in namespace whose container runs
// with kcm's --create-management flag; found is false when there is none.
func RegistryCertSecretName(ctx context.Context, c client.Client, namespace string) (name, deployment string, found bool, err error) {
	dep := &appsv1.Deployment{}
	err = c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: KCMControllerDeployment}, dep)
	switch {
	case apierrors.IsNotFound(err):
		list := &appsv1.DeploymentList{}
		if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return "", "", false, fmt.Errorf("listing the Deployments in %s: %w", namespace, err)
		}
		dep = nil
		for i := range list.Items {
			if hasArg(&list.Items[i], "--create-management") {
				dep = &list.Items[i]
				break
			}
		}
		if dep == nil {
			return "", "", false, nil
		}
	case err != nil:
		return "", "", false, fmt.Errorf("reading Deployment %s/%s: %w", namespace, KCMControllerDeployment, err)
	}
	for _, ctr := range dep.Spec.Template.Spec.Containers {
		args := append(slices.Clone(ctr.Command), ctr.Args...)
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, RegistryCertFlag+"="); ok {
				return v, dep.Name, true, nil
			}
			if a == RegistryCertFlag && i+1 < len(args) {
				return args[i+1], dep.Name, true, nil
			}
		}
	}
	return "", dep.Name, true, nil
}

func hasArg(dep *appsv1.Deployment, prefix string) bool {
	for _, ctr := range dep.Spec.Template.Spec.Containers {
		for _, a := range append(slices.Clone(ctr.Command), ctr.Args...) {
			if strings.HasPrefix(a, prefix) {
				return true
			}
		}
	}
	return false
}

// CertificateCheck compares the registry certificate Secret of a regional
// cluster with the management cluster's.
type CertificateCheck struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Present: the Secret exists in the regional cluster.
	Present bool `json:"present"`
	// Identical: its data equals the management cluster's.
	Identical bool `json:"identical"`
}

// Ref names the Secret.
func (c CertificateCheck) Ref() string { return "Secret " + c.Namespace + "/" + c.Name }

// CheckCertificate compares Secret namespace/name in the regional cluster
// with the management cluster's. The management cluster's Secret must exist.
func CheckCertificate(ctx context.Context, mgmt, regional client.Client, namespace, name string) (CertificateCheck, error) {
	chk := CertificateCheck{Namespace: namespace, Name: name}
	orig := &corev1.Secret{}
	if err := mgmt.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, orig); err != nil {
		return chk, fmt.Errorf("reading %s on the management cluster: %w", chk.Ref(), err)
	}
	cp := &corev1.Secret{}
	err := regional.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cp)
	switch {
	case apierrors.IsNotFound(err):
		return chk, nil
	case err != nil:
		return chk, fmt.Errorf("reading %s in the regional cluster: %w", chk.Ref(), err)
	}
	chk.Present = true
	chk.Identical = maps.EqualFunc(orig.Data, cp.Data, func(a, b []byte) bool { return string(a) == string(b) })
	return chk, nil
}

// certificatesPhase checks that the registry certificate Secret the kcm
// controller propagates arrived in the regional cluster with the management
// cluster's content. k0rdent 1.5.0 copies it only when it is missing and
// never updates it, so a difference is reported with the way to fix it.
type certificatesPhase struct{ step }

func (p *certificatesPhase) Title() string {
	return fmt.Sprintf("Check the registry certificate in regional cluster %s", p.r.rc.Name)
}

func (p *certificatesPhase) DryRun(context.Context) ([]string, error) {
	return []string{
		fmt.Sprintf("when the kcm controller runs with %s, check that this Secret arrived in %s of the regional cluster with the management cluster's content", RegistryCertFlag, p.r.env.namespace()),
	}, nil
}

// ShouldRun: only when the kcm controller propagates a certificate.
func (p *certificatesPhase) ShouldRun(ctx context.Context) (bool, string, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return false, "", err
	}
	ns := p.r.env.namespace()
	name, dep, found, err := RegistryCertSecretName(ctx, mc.Client, ns)
	switch {
	case err != nil:
		return false, "", err
	case !found:
		return false, fmt.Sprintf("no kcm controller Deployment in %s (looked for %s): no registry certificate to check", ns, KCMControllerDeployment), nil
	case name == "":
		return false, fmt.Sprintf("the kcm controller (Deployment %s/%s) runs without %s: no registry certificate to propagate", ns, dep, RegistryCertFlag), nil
	}
	return true, "", nil
}

func (p *certificatesPhase) secretName(ctx context.Context, c client.Client) (string, error) {
	name, _, _, err := RegistryCertSecretName(ctx, c, p.r.env.namespace())
	if err == nil && name == "" {
		err = errors.New("the kcm controller no longer runs with " + RegistryCertFlag)
	}
	return name, err
}

func (p *certificatesPhase) Run(ctx context.Context, prog phase.Progress) error {
	return p.run(ctx, func() error {
		mc, err := p.r.env.management(ctx)
		if err != nil {
			return phase.Permanent(err)
		}
		ns, region := p.r.env.namespace(), p.r.rc.Name
		name, err := p.secretName(ctx, mc.Client)
		if err != nil {
			return err
		}
		orig := &corev1.Secret{}
		if err := mc.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, orig); err != nil {
			if apierrors.IsNotFound(err) {
				return phase.Permanent(p.fail("registry certificate missing",
					fmt.Errorf("Secret %s/%s, named by the kcm controller's %s, does not exist on the management cluster", ns, name, RegistryCertFlag),
					fixThen("create it (key ca.crt) or remove the flag (kcm chart value controller.registryCertSecret)", region)))
			}
			return err
		}
		check := func(ctx context.Context) (bool, string, error) {
			rcl, err := p.r.regional(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return false, "", ctx.Err()
				}
				return false, "cannot reach the regional cluster: " + err.Error(), nil
			}
			chk, err := CheckCertificate(ctx, mc.Client, rcl.Client, ns, name)
			switch {
			case err != nil:
				if ctx.Err() != nil {
					return false, "", ctx.Err()
				}
				return false, "cannot compare the certificate: " + err.Error(), nil
			case !chk.Present:
				return false, fmt.Sprintf("%s has not arrived in regional cluster %s yet", chk.Ref(), region), nil
			case !chk.Identical:
				return false, "", phase.Permanent(p.fail("registry certificate differs",
					fmt.Errorf("%s in regional cluster %s does not match the management cluster's; k0rdent 1.5.0 copies it only when it is missing and never updates it", chk.Ref(), region),
					fixThen("write the current certificate into the region: k0rdentctl region rotate-certificates "+region, region)))
			}
			return true, chk.Ref() + " matches", nil
		}
		err = kube.WaitFor(ctx, fmt.Sprintf("Secret %s/%s to reach region %s", ns, name, region), p.r.env.regionTimeout(), p.r.env.interval(), check, func(s string) { prog.Printf("%s", s) })
		if err != nil {
			var wt *kube.WaitTimeoutError
			if errors.As(err, &wt) {
				return p.fail("registry certificate not propagated", err,
					fixThen(fmt.Sprintf("see Region %s's events and the kcm controller's log in %s", region, ns), region))
			}
			return err
		}
		if err := p.r.update(ctx, func(c *state.RegionalCluster) { c.CertificatesPropagated = true }); err != nil {
			return err
		}
		return p.r.event(ctx, p.name, EventCertificatesPropagated, "registry certificate Secret %s/%s is in regional cluster %s with the management cluster's content", ns, name, region)
	})
}

func (p *certificatesPhase) Verify(ctx context.Context) (bool, string, error) {
	mc, err := p.r.env.management(ctx)
	if err != nil {
		return false, "", err
	}
	name, err := p.secretName(ctx, mc.Client)
	if err != nil {
		return false, err.Error(), nil
	}
	rcl, err := p.r.regional(ctx)
	if err != nil {
		return false, "cannot reach the regional cluster: " + err.Error(), nil
	}
	chk, err := CheckCertificate(ctx, mc.Client, rcl.Client, p.r.env.namespace(), name)
	switch {
	case err != nil:
		return false, "", err
	case !chk.Present:
		return false, chk.Ref() + " is missing in the regional cluster", nil
	case !chk.Identical:
		return false, chk.Ref() + " in the regional cluster differs from the management cluster's", nil
	}
	return true, "", nil
}
