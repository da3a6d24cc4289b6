// Package diskcsi installs the Azure disk CSI driver on the management
// cluster that k0rdentctl built on Azure VMs, so that persistent volumes
// work there (KOF's storage needs them): the cloud provider configuration
// Secret the driver reads, the driver's Helm chart (with k0s's kubelet
// folder), and a default StorageClass managed-csi.
package diskcsi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"helm.sh/helm/v3/pkg/release"

	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

const (
	// Release is the Helm release, named as the chart.
	Release = "azuredisk-csi-driver"
	// Namespace holds the release and the cloud provider Secret.
	Namespace = "kube-system"
	// StorageClass is the StorageClass made for the driver.
	StorageClass = "managed-csi"
	// Provisioner is the driver's name.
	Provisioner = "disk.csi.azure.com"
	// KubeletDir is where k0s keeps the kubelet's files (not
	// /var/lib/kubelet): the driver's node plugin mounts volumes there.
	KubeletDir = "/var/lib/k0s/kubelet"

	defaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"
)

// Install installs or upgrades the driver.
type Install struct {
	Kube  *kube.Clients
	Chart helmrelease.Source
	// Secret is kube-system/azure-cloud-provider
	// (credentials.ManagementCloudSecret).
	Secret *corev1.Secret
	// DiskSKU is the StorageClass's skuName.
	DiskSKU string
	// Tags go on every disk the driver makes for a volume (the deployment's
	// tag: reset finds them by it).
	Tags map[string]string
	// Interval between readiness checks; 0: 1s.
	Interval time.Duration
	Progress func(string)
}

// Result is what Install did.
type Result struct {
	Chart        helmrelease.StepResult `json:"chart"`
	StorageClass string                 `json:"storage_class"`
	// Default: managed-csi is the default StorageClass (another default
	// is left alone, and managed-csi then is not).
	Default bool `json:"default"`
	// OtherDefault names the StorageClass that stays the default.
	OtherDefault string `json:"other_default,omitempty"`
}

func (in *Install) say(format string, args ...any) {
	if in.Progress != nil {
		in.Progress(fmt.Sprintf(format, args...))
	}
}

// Values are the chart values: the cloud provider Secret by name, and
// k0s's kubelet folder.
func Values() map[string]any {
	secretRef := map[string]any{"cloudConfigSecretName": "azure-cloud-provider", "cloudConfigSecretNamespace": Namespace}
	return map[string]any{
		"linux":      map[string]any{"kubelet": KubeletDir},
		"controller": secretRef,
		"node":       secretRef,
	}
}

// Run applies the Secret, installs the chart and waits for it, then makes
// the StorageClass.
func (in *Install) Run(ctx context.Context) (*Result, error) {
	if err := kube.Apply(ctx, in.Kube.Client, in.Secret.DeepCopy()); err != nil {
		return nil, err
	}
	in.say("Secret %s/%s (the driver's cloud provider configuration)", in.Secret.Namespace, in.Secret.Name)
	e := &helmrelease.Ensurer{Kube: in.Kube, Interval: in.Interval, Progress: in.Progress}
	step, err := e.Ensure(ctx, helmrelease.Step{Release: Release, Namespace: Namespace, Source: in.Chart, Values: Values()})
	res := &Result{StorageClass: StorageClass}
	if step != nil {
		res.Chart = *step
	}
	if err != nil {
		return res, err
	}
	res.OtherDefault, err = otherDefault(ctx, in.Kube.Client)
	if err != nil {
		return res, err
	}
	res.Default = res.OtherDefault == ""
	if err := in.storageClass(ctx, res.Default); err != nil {
		return res, err
	}
	if res.Default {
		in.say("StorageClass %s (%s), the default", StorageClass, in.DiskSKU)
	} else {
		in.say("StorageClass %s (%s); %s stays the default StorageClass", StorageClass, in.DiskSKU, res.OtherDefault)
	}
	return res, nil
}

// otherDefault is a default StorageClass other than managed-csi ("" for
// none).
func otherDefault(ctx context.Context, c client.Client) (string, error) {
	var list storagev1.StorageClassList
	if err := c.List(ctx, &list); err != nil {
		return "", fmt.Errorf("listing StorageClasses: %w", err)
	}
	for _, sc := range list.Items {
		if sc.Name != StorageClass && sc.Annotations[defaultClassAnnotation] == "true" {
			return sc.Name, nil
		}
	}
	return "", nil
}

func (in *Install) storageClass(ctx context.Context, isDefault bool) error {
	var old storagev1.StorageClass
	switch err := in.Kube.Client.Get(ctx, client.ObjectKey{Name: StorageClass}, &old); {
	case err == nil && old.Provisioner != Provisioner:
		return fmt.Errorf("StorageClass %s exists with provisioner %s, not %s: it is not the one k0rdentctl makes; rename or delete it, or set software.azure_disk_csi.enabled: false", StorageClass, old.Provisioner, Provisioner)
	case err == nil && !maps.Equal(old.Parameters, in.parameters()):
		// A StorageClass's parameters cannot change: make it again.
		in.say("StorageClass %s had parameters %v: making it again with %v (volumes already made keep theirs)", StorageClass, old.Parameters, in.parameters())
		if err := in.Kube.Client.Delete(ctx, &old); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting StorageClass %s: %w", StorageClass, err)
		}
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("reading StorageClass %s: %w", StorageClass, err)
	}
	bind := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := corev1.PersistentVolumeReclaimDelete
	expand := true
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: StorageClass, Labels: map[string]string{"app.kubernetes.io/managed-by": "k0rdentctl"}},
		Provisioner:          Provisioner,
		Parameters:           in.parameters(),
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    &bind,
		AllowVolumeExpansion: &expand,
	}
	if isDefault {
		sc.Annotations = map[string]string{defaultClassAnnotation: "true"}
	}
	return kube.Apply(ctx, in.Kube.Client, sc)
}

// parameters are the StorageClass's: the disk kind, and the tags as the
// driver takes them (key=value,key=value).
func (in *Install) parameters() map[string]string {
	p := map[string]string{"skuName": in.DiskSKU}
	if len(in.Tags) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(in.Tags)) {
			kv = append(kv, k+"="+in.Tags[k])
		}
		p["tags"] = strings.Join(kv, ",")
	}
	return p
}

// Check reports whether the driver is installed and ready, with its
// StorageClass, and what is missing when it is not.
func Check(ctx context.Context, kc *kube.Clients) (bool, string, error) {
	cfg, err := helmrelease.Config(kc, Namespace, nil)
	if err != nil {
		return false, "", err
	}
	rel, err := helmrelease.Last(cfg, Release)
	if err != nil {
		return false, "", err
	}
	if rel == nil || rel.Info == nil || rel.Info.Status != release.StatusDeployed {
		return false, "Helm release " + Release + " is not deployed", nil
	}
	objs, err := helmrelease.Objects(rel, rel.Chart)
	if err != nil {
		return false, "", err
	}
	if waiting, err := helmrelease.Readiness(ctx, kc.Client, objs); err != nil || waiting != "" {
		return false, waiting, err
	}
	var sc storagev1.StorageClass
	if err := kc.Client.Get(ctx, client.ObjectKey{Name: StorageClass}, &sc); err != nil {
		return false, "StorageClass " + StorageClass + ": " + err.Error(), nil
	}
	return true, "", nil
}
