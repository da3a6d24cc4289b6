package regional

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// IdentitySecretKey is the key of the service principal's client secret in
// the Secret an AzureClusterIdentity references (CAPZ's "clientSecret").
const IdentitySecretKey = "clientSecret"

// Event types of rotations. Their messages name objects, never content.
const (
	EventCredentialsRotated          = "credentials_rotated"
	EventCredentialRotationVerified  = "credential_rotation_verified"
	EventCredentialRotationFailed    = "credential_rotation_failed"
	EventCertificatesRotated         = "certificates_rotated"
	EventCertificateRotationVerified = "certificate_rotation_verified"
	EventCertificateRotationFailed   = "certificate_rotation_failed"
)

// Per-region outcomes of a rotation.
const (
	RotationVerified = "verified" // the region holds the new content
	RotationFailed   = "failed"
	RotationSkipped  = "skipped"
)

// RotateOptions tune RotateCredentials and RotateCertificates.
type RotateOptions struct {
	// Names are the regions to rotate; empty: all.
	Names []string
	// Timeout bounds the wait for each region; 0 means the configuration's
	// timeouts.region_ready.
	Timeout time.Duration
	// Parallel bounds how many regions are handled at once; 0: all.
	Parallel int
	// Progress receives what is being done and waited for; nil for nothing.
	Progress func(string)
}

func (o RotateOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// RotationReport is what a rotation did, region by region; its JSON keys
// are those of `region rotate-credentials -o json` and
// `region rotate-certificates -o json`. It never holds secret content, nor
// a hash of it.
type RotationReport struct {
	// Kind is "credentials" or "certificates".
	Kind string `json:"kind"`
	// Secret is the Secret on the management cluster, "namespace/name".
	Secret string `json:"secret,omitempty"`
	// Changed: the management cluster's Secret was updated (false: it held
	// this content already; credentials only).
	Changed bool `json:"changed"`
	// NotConfigured says why there was nothing to rotate (certificates: the
	// kcm controller runs without a registry certificate).
	NotConfigured string           `json:"not_configured,omitempty"`
	Regions       []RegionRotation `json:"regions"`
	// Counts are the regions by outcome.
	Counts          map[string]int `json:"counts"`
	DurationSeconds float64        `json:"duration_seconds"`
	// RecordError says why the results could not be recorded.
	RecordError string `json:"record_error,omitempty"`
}

// RegionRotation is one region's outcome.
type RegionRotation struct {
	Name string `json:"name"`
	// Status is verified, failed or skipped.
	Status string `json:"status"`
	// Target is where the region holds the content: "Secret ns/name".
	Target string `json:"target,omitempty"`
	// Action is what was done there: "re-copied by k0rdent" (credentials),
	// "created", "updated" or "unchanged" (certificates).
	Action string `json:"action,omitempty"`
	// Matches: the content there equals the management cluster's (compared
	// by SHA-256).
	Matches         bool    `json:"matches"`
	Reason          string  `json:"reason,omitempty"`
	Error           string  `json:"error,omitempty"`
	Fix             string  `json:"fix,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// Failed names the regions whose rotation failed.
func (r *RotationReport) Failed() []string {
	var out []string
	for _, rg := range r.Regions {
		if rg.Status == RotationFailed {
			out = append(out, rg.Name)
		}
	}
	return out
}

func (r *RotationReport) count() {
	r.Counts = map[string]int{}
	for _, rg := range r.Regions {
		r.Counts[rg.Status]++
	}
}

// digest is the SHA-256 of secret content; only compared, never shown.
func digest(b []byte) [32]byte { return sha256.Sum256(b) }

// dataDigest hashes a Secret's data, keys sorted.
func dataDigest(data map[string][]byte) [32]byte {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s=%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// ManagementIdentity is the Azure cluster identity of the management
// Credential and the Secret holding its client secret.
type ManagementIdentity struct {
	Credential client.ObjectKey
	// Identity is the ClusterIdentity the Credential references.
	Identity *corev1.ObjectReference
	// Secret is the identity's client-secret Secret on the management
	// cluster.
	Secret client.ObjectKey
}

// FindManagementIdentity reads the management Credential, its
// AzureClusterIdentity and the Secret that identity references
// (spec.clientSecret).
func FindManagementIdentity(ctx context.Context, env *Env, c client.Client) (*ManagementIdentity, error) {
	key := client.ObjectKey{Namespace: env.credentialNamespace(), Name: env.Config.RegionalCredentialName("")}
	cred := &kcmv1.Credential{}
	if err := c.Get(ctx, key, cred); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("the management Credential %s does not exist: there is no identity to rotate; create it first: %s", key, CreateCredentialHint)
		}
		return nil, fmt.Errorf("reading Credential %s on the management cluster: %w", key, err)
	}
	ref := cred.Spec.IdentityRef
	if ref == nil || ref.Name == "" {
		return nil, fmt.Errorf("Credential %s has no spec.identityRef; recreate it: %s", key, CreateCredentialHint)
	}
	idNS := ref.Namespace
	if idNS == "" {
		idNS = key.Namespace
	}
	id := &unstructured.Unstructured{}
	id.SetAPIVersion(ref.APIVersion)
	id.SetKind(ref.Kind)
	if err := c.Get(ctx, client.ObjectKey{Namespace: idNS, Name: ref.Name}, id); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%s %s/%s, the identity of Credential %s, does not exist; recreate it: %s", ref.Kind, idNS, ref.Name, key, CreateCredentialHint)
		}
		return nil, fmt.Errorf("reading %s %s/%s on the management cluster: %w", ref.Kind, idNS, ref.Name, err)
	}
	name, _, _ := unstructured.NestedString(id.Object, "spec", "clientSecret", "name")
	ns, _, _ := unstructured.NestedString(id.Object, "spec", "clientSecret", "namespace")
	if name == "" {
		return nil, fmt.Errorf("%s %s/%s has no spec.clientSecret.name: it does not use a client secret (a workload or managed identity has nothing to rotate here)", ref.Kind, idNS, ref.Name)
	}
	if ns == "" {
		ns = idNS
	}
	return &ManagementIdentity{Credential: key, Identity: ref, Secret: client.ObjectKey{Namespace: ns, Name: name}}, nil
}

// RotateCredentials puts a new client secret in place (`region
// rotate-credentials`): see Run.
type RotateCredentials struct {
	Env *Env
	// Secret is the new client secret; it is never logged, recorded or
	// returned.
	Secret []byte
	RotateOptions
}

// Run puts a new client secret into the Secret of the
// management Credential's AzureClusterIdentity, makes k0rdent copy it again
// into every region (k0rdent 1.5.0 reconciles a Credential on any update of
// the object, so each per-region Credential is annotated), and verifies that
// every region holds the new content in its Credential's namespace. Running
// ClusterDeployments are not touched. secret is never logged, recorded or
// returned; only whether the copies match it.
//
// The error is for what stops the whole rotation (the management identity
// cannot be found or updated); a region that does not get the new secret is
// reported in the RotationReport (see Failed).
func (op *RotateCredentials) Run(ctx context.Context) (*RotationReport, error) {
	env, secret, opts := op.Env, op.Secret, op.RotateOptions
	secret = bytes.TrimSpace(secret)
	if len(secret) == 0 {
		return nil, errors.New("the new client secret is empty; give it in a file (--secret-file) or on standard input")
	}
	start := env.now()
	mc, err := env.management(ctx)
	if err != nil {
		return nil, err
	}
	mi, err := FindManagementIdentity(ctx, env, mc.Client)
	if err != nil {
		return nil, err
	}
	rep := &RotationReport{Kind: "credentials", Secret: mi.Secret.String(), Regions: []RegionRotation{}}

	// Which regions: their per-region Credentials with the same identity.
	v, err := observe(ctx, env, mc)
	if err != nil {
		return nil, err
	}
	type target struct {
		name string
		cred *kcmv1.Credential
		skip string
	}
	var targets []target
	seen := map[string]bool{}
	for i := range v.creds {
		cred := &v.creds[i]
		if cred.Spec.Region == "" || !sameIdentity(cred.Spec.IdentityRef, mi.Identity) || seen[cred.Spec.Region] {
			continue
		}
		if len(opts.Names) > 0 && !containsString(opts.Names, cred.Spec.Region) {
			continue
		}
		seen[cred.Spec.Region] = true
		targets = append(targets, target{name: cred.Spec.Region, cred: cred})
	}
	for _, n := range v.names() {
		if seen[n] || (len(opts.Names) > 0 && !containsString(opts.Names, n)) {
			continue
		}
		rc, configured := v.configured(n)
		r := v.record(n)
		switch {
		case configured && !rc.PropagatesCredentials():
			targets = append(targets, target{name: n, skip: "credential_propagation is false for this regional cluster"})
		case configured || (r != nil && r.Status != state.RegionalRemoved):
			targets = append(targets, target{name: n, skip: "no Credential targets it yet"})
		}
	}
	for _, n := range opts.Names {
		if !seen[n] && !slicesContainsFunc(targets, func(t target) bool { return t.name == n }) {
			return nil, &UnknownRegionError{Names: []string{n}, Where: "with a Credential of the management identity", Known: v.names()}
		}
	}
	sort.SliceStable(targets, func(i, j int) bool { return targets[i].name < targets[j].name })

	// The management cluster's Secret.
	sec := &corev1.Secret{}
	if err := mc.Client.Get(ctx, mi.Secret, sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("Secret %s, the client secret of %s %s, does not exist on the management cluster; create it: %s", mi.Secret, mi.Identity.Kind, mi.Identity.Name, CreateCredentialHint)
		}
		return nil, fmt.Errorf("reading Secret %s on the management cluster: %w", mi.Secret, err)
	}
	want := digest(secret)
	if cur, ok := sec.Data[IdentitySecretKey]; !ok || digest(cur) != want {
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[IdentitySecretKey] = secret
		delete(sec.StringData, IdentitySecretKey)
		if err := mc.Client.Update(ctx, sec); err != nil {
			return nil, fmt.Errorf("updating Secret %s on the management cluster: %w; nothing was changed, run the command again", mi.Secret, err)
		}
		rep.Changed = true
		opts.progress("updated the client secret in Secret %s on the management cluster", mi.Secret)
	} else {
		opts.progress("Secret %s already holds this client secret; checking the regions", mi.Secret)
	}
	what := "updated"
	if !rep.Changed {
		what = "left unchanged (it already held the new one)"
	}
	if err := addEvent(env, state.Event{Type: EventCredentialsRotated, Message: fmt.Sprintf("client secret of %s %s/%s rotated: Secret %s %s on the management cluster; %d regions to refresh",
		mi.Identity.Kind, mi.Secret.Namespace, mi.Identity.Name, mi.Secret, what, countIf(len(targets), func(i int) bool { return targets[i].skip == "" }))}); err != nil {
		// The regions are not touched without a record of it.
		return nil, recordFailed(err)
	}

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = env.regionTimeout()
	}
	rep.Regions = make([]RegionRotation, len(targets))
	opsEach(len(targets), opts.Parallel, func(i int) {
		t := targets[i]
		if t.skip != "" {
			rep.Regions[i] = RegionRotation{Name: t.name, Status: RotationSkipped, Reason: t.skip}
			return
		}
		rep.Regions[i] = v.rotateCredentialIn(ctx, mc, t.name, t.cred, mi, want, timeout, opts)
	})
	if ctx.Err() != nil {
		return nil, fmt.Errorf("rotation interrupted: %w; the management Secret holds the new client secret, run the command again to refresh and check the regions", ctx.Err())
	}
	rep.count()
	rep.DurationSeconds = env.now().Sub(start).Seconds()
	if err := recordRotation(ctx, env, rep, EventCredentialRotationVerified, EventCredentialRotationFailed, func(c *state.RegionalCluster) { c.CredentialsPropagated = true }); err != nil {
		rep.RecordError = err.Error()
		return rep, recordFailed(err)
	}
	return rep, nil
}

func countIf(n int, f func(int) bool) int {
	c := 0
	for i := range n {
		if f(i) {
			c++
		}
	}
	return c
}

func slicesContainsFunc[T any](s []T, f func(T) bool) bool {
	for _, x := range s {
		if f(x) {
			return true
		}
	}
	return false
}

// regionalClients builds clients for a region from the kubeconfig the
// management cluster keeps for it.
func (v *observed) regionalClients(ctx context.Context, mc *kube.Clients, name string) (*kube.Clients, KubeconfigRef, error) {
	ref, ok := v.kubeconfigRef(name)
	if !ok {
		return nil, ref, fmt.Errorf("no kubeconfig is known for regional cluster %s", name)
	}
	data, err := ReadKubeconfig(ctx, mc.Client, ref)
	if err != nil {
		return nil, ref, err
	}
	c, err := kube.FromKubeconfig(data, v.env.ClientOptions...)
	if err != nil {
		return nil, ref, fmt.Errorf("the kubeconfig of regional cluster %s in %s: %w", name, ref, err)
	}
	c.Source = "kubeconfig of regional cluster " + name
	return c, ref, nil
}

// rotateCredentialIn asks k0rdent to copy the identity into one region
// again and waits until the copy of its Secret holds the new secret.
func (v *observed) rotateCredentialIn(ctx context.Context, mc *kube.Clients, name string, cred *kcmv1.Credential, mi *ManagementIdentity, want [32]byte, timeout time.Duration, opts RotateOptions) (out RegionRotation) {
	start := time.Now()
	target := client.ObjectKey{Namespace: cred.Namespace, Name: mi.Secret.Name}
	out = RegionRotation{Name: name, Target: "Secret " + target.String(), Action: "re-copied by k0rdent"}
	defer func() { out.DurationSeconds = time.Since(start).Seconds() }()
	fail := func(err error, fix string) RegionRotation {
		out.Status, out.Error, out.Fix = RotationFailed, err.Error(), fix
		return out
	}
	credKey := client.ObjectKey{Namespace: cred.Namespace, Name: cred.Name}
	if err := RequestCredentialReconcile(ctx, mc.Client, credKey, v.env.now()); err != nil {
		return fail(err, "run the command again")
	}
	opts.progress("%s: asked k0rdent to copy the identity again (Credential %s annotated)", name, credKey)
	rcl, ref, err := v.regionalClients(ctx, mc, name)
	if err != nil {
		return fail(err, fmt.Sprintf("check %s, then: k0rdentctl region rotate-credentials %s", ref, name))
	}
	check := func(ctx context.Context) (bool, string, error) {
		cp := &corev1.Secret{}
		err := rcl.Client.Get(ctx, target, cp)
		switch {
		case apierrors.IsNotFound(err):
			fresh := &kcmv1.Credential{}
			if err := mc.Client.Get(ctx, credKey, fresh); err != nil {
				return false, "cannot read Credential " + credKey.String() + ": " + err.Error(), nil
			}
			chk, err := CheckIdentityCopies(ctx, mc.Client, rcl.Client, v.env.namespace(), fresh)
			if err == nil && chk.ProviderInterface == "" {
				return false, "", &Error{Region: name, Summary: fmt.Sprintf("no ProviderInterface for %s in the regional cluster", mi.Identity.Kind),
					Err: fmt.Errorf("k0rdent 1.5.0 copies a Credential's identity into a region only when a ProviderInterface there describes its kind, and none in regional cluster %s does, so %s never arrives", name, out.Target),
					Fix: fmt.Sprintf("add cluster-api-provider-azure to the region's providers (components.capi_providers), run k0rdentctl region deploy %s, then rotate again", name)}
			}
			return false, fmt.Sprintf("waiting for %s in regional cluster %s", out.Target, name), nil
		case err != nil:
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, "cannot read " + out.Target + " in the regional cluster: " + err.Error(), nil
		}
		if digest(cp.Data[IdentitySecretKey]) == want {
			return true, out.Target + " holds the new client secret", nil
		}
		if cp.Labels[kcmv1.KCMManagedLabelKey] != kcmv1.KCMManagedLabelValue {
			return false, "", &Error{Region: name, Summary: "identity copy k0rdent will not update",
				Err: fmt.Errorf("%s in regional cluster %s holds another client secret and lacks the label %s=%s, so k0rdent never updates it", out.Target, name, kcmv1.KCMManagedLabelKey, kcmv1.KCMManagedLabelValue),
				Fix: fmt.Sprintf("delete %s in the regional cluster (k0rdent then copies it again), then: k0rdentctl region rotate-credentials %s", out.Target, name)}
		}
		return false, out.Target + " still holds the previous client secret", nil
	}
	err = kube.WaitFor(ctx, fmt.Sprintf("the new client secret to reach region %s", name), timeout, v.env.interval(), check, func(s string) { opts.progress("%s: %s", name, s) })
	if err != nil {
		if e := AsError(err); e != nil {
			return fail(errors.New(e.Message()), e.Fix)
		}
		return fail(err, fmt.Sprintf("see Credential %s's conditions and the kcm controller's log, then: k0rdentctl region rotate-credentials %s", credKey, name))
	}
	out.Status, out.Matches = RotationVerified, true
	return out
}

// RotateCertificates writes the registry certificate into the regions
// (`region rotate-certificates`): see Run.
type RotateCertificates struct {
	Env *Env
	RotateOptions
}

// Run writes the management cluster's current registry
// certificate Secret (the one the kcm controller runs with,
// --registry-cert-secret-name) into the system namespace of every regional
// cluster, through the regional kubeconfig, and verifies that each holds
// identical content. k0rdent 1.5.0 copies that Secret into a region only when
// it is missing there and never updates it, so a rotated certificate reaches
// existing regions only this way. When the kcm controller runs without a
// certificate, the report says so (NotConfigured) and nothing is done.
func (op *RotateCertificates) Run(ctx context.Context) (*RotationReport, error) {
	env, opts := op.Env, op.RotateOptions
	start := env.now()
	mc, err := env.management(ctx)
	if err != nil {
		return nil, err
	}
	ns := env.namespace()
	rep := &RotationReport{Kind: "certificates", Regions: []RegionRotation{}, Counts: map[string]int{}}
	name, dep, found, err := RegistryCertSecretName(ctx, mc.Client, ns)
	switch {
	case err != nil:
		return nil, err
	case !found:
		rep.NotConfigured = fmt.Sprintf("no kcm controller Deployment in %s (looked for %s): no registry certificate is configured, so there is nothing to rotate", ns, KCMControllerDeployment)
		return rep, nil
	case name == "":
		rep.NotConfigured = fmt.Sprintf("the kcm controller (Deployment %s/%s) runs without %s: no registry certificate is configured, so there is nothing to rotate", ns, dep, RegistryCertFlag)
		return rep, nil
	}
	key := client.ObjectKey{Namespace: ns, Name: name}
	rep.Secret = key.String()
	orig := &corev1.Secret{}
	if err := mc.Client.Get(ctx, key, orig); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("Secret %s, named by the kcm controller's %s, does not exist on the management cluster; create it with the current certificate (key ca.crt), then run the command again", key, RegistryCertFlag)
		}
		return nil, fmt.Errorf("reading Secret %s on the management cluster: %w", key, err)
	}
	v, err := observe(ctx, env, mc)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range v.names() {
		if len(opts.Names) == 0 || containsString(opts.Names, n) {
			names = append(names, n)
		}
	}
	for _, n := range opts.Names {
		if !containsString(names, n) {
			return nil, &UnknownRegionError{Names: []string{n}, Where: whereKnown, Known: v.names()}
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = env.regionTimeout()
	}
	rep.Regions = make([]RegionRotation, len(names))
	opsEach(len(names), opts.Parallel, func(i int) {
		n := names[i]
		rg := v.regions[n]
		switch {
		case rg == nil:
			reason := "no Region on the management cluster"
			if r := v.record(n); r != nil && r.Status == state.RegionalRemoved {
				reason = "removed"
			}
			rep.Regions[i] = RegionRotation{Name: n, Status: RotationSkipped, Reason: reason}
		case !rg.DeletionTimestamp.IsZero():
			rep.Regions[i] = RegionRotation{Name: n, Status: RotationSkipped, Reason: "its Region is being deleted"}
		default:
			cctx, cancel := context.WithTimeout(ctx, timeout)
			rep.Regions[i] = v.writeCertificate(cctx, mc, n, orig, opts)
			cancel()
		}
	})
	if ctx.Err() != nil {
		return nil, fmt.Errorf("rotation interrupted: %w; run the command again", ctx.Err())
	}
	rep.count()
	rep.DurationSeconds = env.now().Sub(start).Seconds()
	err = addEvent(env, state.Event{Type: EventCertificatesRotated, Message: fmt.Sprintf("registry certificate Secret %s written into %d regions (%d verified, %d failed, %d skipped)",
		key, len(names)-rep.Counts[RotationSkipped], rep.Counts[RotationVerified], rep.Counts[RotationFailed], rep.Counts[RotationSkipped])})
	if err == nil {
		err = recordRotation(ctx, env, rep, EventCertificateRotationVerified, EventCertificateRotationFailed, func(c *state.RegionalCluster) { c.CertificatesPropagated = true })
	}
	if err != nil {
		rep.RecordError = err.Error()
		return rep, recordFailed(err)
	}
	return rep, nil
}

// writeCertificate creates or updates the certificate Secret in one regional
// cluster and verifies it.
func (v *observed) writeCertificate(ctx context.Context, mc *kube.Clients, name string, orig *corev1.Secret, opts RotateOptions) (out RegionRotation) {
	start := time.Now()
	key := client.ObjectKey{Namespace: orig.Namespace, Name: orig.Name}
	out = RegionRotation{Name: name, Target: "Secret " + key.String()}
	defer func() { out.DurationSeconds = time.Since(start).Seconds() }()
	fail := func(err error, fix string) RegionRotation {
		out.Status, out.Error, out.Fix = RotationFailed, err.Error(), fix
		return out
	}
	again := "k0rdentctl region rotate-certificates " + name
	rcl, ref, err := v.regionalClients(ctx, mc, name)
	if err != nil {
		return fail(err, fmt.Sprintf("check %s, then: %s", ref, again))
	}
	labels := map[string]string{}
	for k, val := range orig.Labels {
		labels[k] = val
	}
	labels[LabelRegion] = name
	cur := &corev1.Secret{}
	err = rcl.Client.Get(ctx, key, cur)
	switch {
	case apierrors.IsNotFound(err):
		cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: labels}, Type: orig.Type, Data: orig.Data}
		if err := rcl.Client.Create(ctx, cp); err != nil {
			if apierrors.IsNotFound(err) {
				return fail(fmt.Errorf("namespace %s does not exist in regional cluster %s: k0rdent has not installed the region there", key.Namespace, name),
					"deploy the region first: k0rdentctl region deploy "+name)
			}
			return fail(fmt.Errorf("creating %s in regional cluster %s: %w", out.Target, name, err), again)
		}
		out.Action = "created"
	case err != nil:
		return fail(fmt.Errorf("reading %s in regional cluster %s: %w", out.Target, name, err), "check that the cluster is reachable (k0rdentctl region health "+name+"), then: "+again)
	case dataDigest(cur.Data) == dataDigest(orig.Data) && cur.Type == orig.Type:
		out.Action = "unchanged"
	case cur.Type != orig.Type:
		// The type of a Secret cannot change: replace it.
		if err := rcl.Client.Delete(ctx, cur); client.IgnoreNotFound(err) != nil {
			return fail(fmt.Errorf("replacing %s in regional cluster %s: %w", out.Target, name, err), again)
		}
		cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: labels}, Type: orig.Type, Data: orig.Data}
		if err := rcl.Client.Create(ctx, cp); err != nil {
			return fail(fmt.Errorf("replacing %s in regional cluster %s: %w", out.Target, name, err), again)
		}
		out.Action = "updated"
	default:
		for k, val := range labels {
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			cur.Labels[k] = val
		}
		cur.Data, cur.StringData = orig.Data, nil
		if err := rcl.Client.Update(ctx, cur); err != nil {
			return fail(fmt.Errorf("updating %s in regional cluster %s: %w", out.Target, name, err), again)
		}
		out.Action = "updated"
	}
	opts.progress("%s: %s %s", name, out.Action, out.Target)
	// Verify: read it back and compare.
	got := &corev1.Secret{}
	if err := rcl.Client.Get(ctx, key, got); err != nil {
		return fail(fmt.Errorf("reading %s back from regional cluster %s: %w", out.Target, name, err), again)
	}
	if dataDigest(got.Data) != dataDigest(orig.Data) {
		return fail(fmt.Errorf("%s in regional cluster %s does not match the management cluster's after writing it (something else changes it)", out.Target, name), again)
	}
	out.Status, out.Matches = RotationVerified, true
	return out
}

// addEvent records an event when there is a session.
func addEvent(env *Env, e state.Event) error {
	if env.Session == nil {
		return nil
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = env.now()
	}
	return env.Session.AddEvent(e)
}

// recordRotation adds an event per region and marks verified regions.
func recordRotation(ctx context.Context, env *Env, rep *RotationReport, okType, failType string, mark func(*state.RegionalCluster)) error {
	if env.Session == nil {
		return nil
	}
	at := env.now().UTC()
	return env.Session.Update(ctx, func(rec *state.Record) error {
		for _, rg := range rep.Regions {
			switch rg.Status {
			case RotationVerified:
				rec.Events = append(rec.Events, state.Event{Timestamp: at, Region: rg.Name, Type: okType,
					Message: fmt.Sprintf("%s in regional cluster %s matches the management cluster's (%s)", rg.Target, rg.Name, rg.Action)})
				if c := rec.Regional(rg.Name); c != nil {
					mark(c)
				}
			case RotationFailed:
				msg := fmt.Sprintf("%s rotation in regional cluster %s failed: %s", rep.Kind, rg.Name, rg.Error)
				if rg.Fix != "" {
					msg += "; fix: " + rg.Fix
				}
				rec.Events = append(rec.Events, state.Event{Timestamp: at, Region: rg.Name, Type: failType, Message: msg})
			}
		}
		return nil
	})
}

// Summary is one line about a rotation.
func (r *RotationReport) Summary() string {
	parts := []string{}
	for _, s := range []string{RotationVerified, RotationFailed, RotationSkipped} {
		if n := r.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "no regions"
	}
	return strings.Join(parts, ", ")
}
