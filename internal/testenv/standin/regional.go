package standin

// The regional part of the stand-in: what k0rdent 1.5.0's Region, Credential
// and ClusterDeployment controllers do, as seen from the API, including what
// they fail to do. It is kcm with its admission webhook disabled (the kcm
// chart's default, --enable-webhook=false, until kcm turns the webhook on
// after cert-manager is installed; the API server then refuses what the
// controller below refuses or ignores):
//
//   - Region (region.go): reacts to spec generation changes only (plus its own
//     requeues). A Region whose cluster reference is invalid (kubeconfig
//     Secret missing or without the key, ClusterDeployment missing) gets no
//     status and no requeue: it stays untouched until its spec changes, even
//     when the Secret or ClusterDeployment appears later. A Region being
//     deleted while a ClusterDeployment uses one of its Credentials
//     (RegionDeletionAllowed) keeps its finalizer and status; the deletion is
//     retried with backoff. For a clusterDeployment-backed Region it reads the
//     ClusterDeployment's "<name>-kubeconfig" Secret in the ClusterDeployment's
//     namespace and copies it into the system namespace as
//     "<cd-namespace>.<secret>" when that namespace is another one. It copies
//     the registry certificate Secret (named by the kcm controller
//     Deployment's --registry-cert-secret-name) into the regional cluster's
//     system namespace, labelled with the region, only when it is missing
//     there: an existing copy is never updated. It installs the regional
//     components as Deployments with k0rdent 1.5.0's real images (not
//     available at first), reports them in status.components with
//     status.observedGeneration, and after the region's readiness delay marks
//     the Deployments available (no kubelet runs: the stand-in writes their
//     status), creates the ProviderInterface objects of the providers and
//     sets Ready=True AllComponentsHealthy.
//   - Credential (credential.go): reconciles on any update of the Credential
//     (no generation filter) and when its Region's Ready condition changes.
//     A Credential with spec.region copies its ClusterIdentity and the
//     identity's Secret into the Credential's namespace of the regional
//     cluster, only when a ProviderInterface there describes the identity's
//     kind (otherwise it skips the copy silently and, as kcm 1.5.0 does, stays
//     not ready because the identity is not found in the region). Existing
//     copies are updated only when labelled k0rdent.mirantis.com/managed=true.
//   - ClusterDeployment (clusterdeployment.go): once its template and
//     Credential are usable and the test has said which API server the
//     cluster is (SetClusterKubeconfig), it writes the "<name>-kubeconfig"
//     Secret (key "value") and sets Ready.
//
// Deletion is handled too (finalizers are removed after the controllers'
// clean-up), so that removal can be tested. Timing is scaled down for tests:
// error backoff starts at 50ms and stops growing at 2s (kcm's grows to
// minutes), and the Credential's 15-minute resync is not modelled.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	kcmv1 "github.com/K0rdent/kcm/api/v1beta1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k0rdentctl/k0rdentctl/internal/kube"
)

// RegionalOptions configure the regional controllers of the stand-in.
type RegionalOptions struct {
	// Management is a client of the management cluster whose scheme knows
	// the core, apps and k0rdent types (testenv.Cluster.Client).
	Management client.Client
	// SystemNamespace is k0rdent's namespace; default kcm-system.
	SystemNamespace string
	// ReadyDelay is how long a Region's components take to become
	// available after they are (re)installed, unless SetRegionReadyDelay
	// says otherwise for that region. Default 0: available on the next pass.
	ReadyDelay time.Duration
	// ClusterReadyDelay is how long a ClusterDeployment takes to become
	// Ready once the test gave its kubeconfig.
	ClusterReadyDelay time.Duration
	// Logf receives what the controllers do (t.Logf); nil for nothing.
	Logf func(format string, args ...any)
}

// Regional is the stand-in's Region, Credential and ClusterDeployment
// controllers, one Reconciler: run it in a Loop (with KCM for the
// Management and Release).
type Regional struct {
	opts RegionalOptions

	mu          sync.Mutex
	kick        func()
	readyDelay  map[string]time.Duration
	kubeconfigs map[types.NamespacedName][]byte
	regions     map[string]*regionTrack
	creds       map[types.NamespacedName]*credTrack
	cds         map[types.NamespacedName]*cdTrack
	clients     map[[32]byte]client.Client
	installs    map[string]int
	refusals    map[string]int
	credRuns    map[types.NamespacedName]int
	crds        []*apiextv1.CustomResourceDefinition
	chartCache  *regionalCharts
	logged      map[string]bool
}

// NewRegional returns the regional controllers.
func NewRegional(opts RegionalOptions) (*Regional, error) {
	if opts.Management == nil {
		return nil, errors.New("stand-in: no management cluster client given")
	}
	if opts.SystemNamespace == "" {
		opts.SystemNamespace = "kcm-system"
	}
	return &Regional{
		opts:        opts,
		readyDelay:  map[string]time.Duration{},
		kubeconfigs: map[types.NamespacedName][]byte{},
		regions:     map[string]*regionTrack{},
		creds:       map[types.NamespacedName]*credTrack{},
		cds:         map[types.NamespacedName]*cdTrack{},
		clients:     map[[32]byte]client.Client{},
		installs:    map[string]int{},
		refusals:    map[string]int{},
		credRuns:    map[types.NamespacedName]int{},
		logged:      map[string]bool{},
	}, nil
}

// Name implements Reconciler.
func (s *Regional) Name() string { return "regional" }

// SetKick implements Kickable.
func (s *Regional) SetKick(f func()) {
	s.mu.Lock()
	s.kick = f
	s.mu.Unlock()
}

func (s *Regional) changed() {
	s.mu.Lock()
	f := s.kick
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

// SetRegionReadyDelay sets how long region's components take to become
// available after each (re)install. It applies to an install under way too.
func (s *Regional) SetRegionReadyDelay(region string, d time.Duration) {
	s.mu.Lock()
	s.readyDelay[region] = d
	s.mu.Unlock()
	s.changed()
}

// SetClusterKubeconfig says which API server the cluster of
// ClusterDeployment namespace/name is: its kubeconfig goes into the
// ClusterDeployment's "<name>-kubeconfig" Secret when it becomes Ready.
func (s *Regional) SetClusterKubeconfig(namespace, name string, kubeconfig []byte) {
	s.mu.Lock()
	s.kubeconfigs[types.NamespacedName{Namespace: namespace, Name: name}] = kubeconfig
	s.mu.Unlock()
	s.changed()
}

// RegionInstalls is how many times the Region controller (re)installed
// region's components, that is, reconciled a new generation of it.
func (s *Regional) RegionInstalls(region string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.installs[region]
}

// RegionRejected reports whether the Region controller found region's
// cluster reference invalid, for its current generation, and so left it
// without status.
func (s *Regional) RegionRejected(region string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.regions[region]
	return ok && t.rejected != 0
}

// RegionDeletionsRefused is how many times the Region controller refused to
// delete region because ClusterDeployments use it.
func (s *Regional) RegionDeletionsRefused(region string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals[region]
}

// CredentialReconciles is how many times the Credential controller
// reconciled Credential namespace/name.
func (s *Regional) CredentialReconciles(namespace, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credRuns[types.NamespacedName{Namespace: namespace, Name: name}]
}

func (s *Regional) delayOf(region string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.readyDelay[region]; ok {
		return d
	}
	return s.opts.ReadyDelay
}

func (s *Regional) kubeconfigOf(key types.NamespacedName) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kc, ok := s.kubeconfigs[key]
	return kc, ok
}

func (s *Regional) logf(format string, args ...any) {
	if s.opts.Logf == nil {
		return
	}
	// Each message once: a failure retried with backoff is logged once.
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	seen := s.logged[msg]
	s.logged[msg] = true
	s.mu.Unlock()
	if !seen {
		s.opts.Logf("stand-in: %s", msg)
	}
}

// Reconcile implements Reconciler: one look at the world by each of the
// three controllers. What the controllers fail at is logged (and retried as
// kcm retries it); only failing to list the objects is returned.
func (s *Regional) Reconcile(ctx context.Context) error {
	m := s.opts.Management
	regions := &kcmv1.RegionList{}
	if err := m.List(ctx, regions); err != nil {
		if meta.IsNoMatchError(err) {
			return nil // CRDs not installed (yet)
		}
		return fmt.Errorf("listing Regions: %w", err)
	}
	ready := map[string]string{}
	for i := range regions.Items {
		rg := &regions.Items[i]
		s.reconcileRegion(ctx, rg)
		ready[rg.Name] = regionReadyStatus(rg)
	}
	cds := &kcmv1.ClusterDeploymentList{}
	if err := m.List(ctx, cds); err != nil {
		return fmt.Errorf("listing ClusterDeployments: %w", err)
	}
	for i := range cds.Items {
		s.reconcileClusterDeployment(ctx, &cds.Items[i])
	}
	creds := &kcmv1.CredentialList{}
	if err := m.List(ctx, creds); err != nil {
		return fmt.Errorf("listing Credentials: %w", err)
	}
	for i := range creds.Items {
		s.maybeReconcileCredential(ctx, &creds.Items[i], ready)
	}
	return nil
}

// regionalClient returns a client of the cluster a kubeconfig describes,
// kept by content.
func (s *Regional) regionalClient(kubeconfig []byte) (client.Client, error) {
	sum := sha256.Sum256(kubeconfig)
	s.mu.Lock()
	c, ok := s.clients[sum]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("invalid kubeconfig: %w", err)
	}
	cfg.Timeout = 5 * time.Second
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err = client.New(cfg, client.Options{Scheme: kube.NewScheme()})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.clients[sum] = c
	s.mu.Unlock()
	return c, nil
}

// regionalBackoff is the stand-in's requeue-after-error schedule.
type regionalBackoff struct {
	next  time.Time
	delay time.Duration
}

func (b *regionalBackoff) due(now time.Time) bool { return b.next.IsZero() || !now.Before(b.next) }

func (b *regionalBackoff) failed(now time.Time) {
	switch {
	case b.delay == 0:
		b.delay = 50 * time.Millisecond
	case b.delay < 2*time.Second:
		b.delay *= 2
	}
	b.next = now.Add(b.delay)
}

func (b *regionalBackoff) reset() { *b = regionalBackoff{} }
