package regional

import (
	"context"
	"os"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// ClientsProvider reaches the management cluster; deploy.Management
// implements it (connecting on first use, so that plan never needs it).
type ClientsProvider interface {
	Clients(ctx context.Context) (*kube.Clients, error)
}

// KubeconfigFiles says where a cluster's kubeconfig file goes;
// *state.FileStore implements it.
type KubeconfigFiles interface {
	KubeconfigPath(cluster string) string
}

// Defaults of Env's optional fields.
const (
	// DefaultConnectTimeout bounds the proof that a regional cluster answers
	// an authenticated request.
	DefaultConnectTimeout = 30 * time.Second
	// DefaultInterval is how often waits look again.
	DefaultInterval = kube.DefaultInterval
	// DefaultReconcileGrace is how long a Region may go without k0rdent's
	// first reconcile (no finalizer, no status) before the wait says why.
	DefaultReconcileGrace = time.Minute
)

// Env is what the regional phases share. Only Config is needed to list and
// plan phases (DryRun); running them needs Management, and Session and Files
// to record what they did.
type Env struct {
	// Config is the validated configuration (defaults applied).
	Config *config.Config
	// ConfigPath is where Config was read from: kubeconfig_file paths are
	// relative to its folder.
	ConfigPath string
	// Management reaches the management cluster.
	Management ClientsProvider
	// Session is the deployment record, nil in plan (nothing is recorded).
	Session *state.Session
	// Files says where regional kubeconfig files go (*state.FileStore).
	Files KubeconfigFiles
	// DeploymentID labels what is created; empty means Session.ID().
	DeploymentID string
	// After names phases that every region's first phase requires, e.g. the
	// k0rdent install phases when regions are deployed by
	// `deploy --with-regional`. Empty for `region deploy`.
	After []string

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Getenv reads the environment (AZURE_SUBSCRIPTION_ID); nil means
	// os.Getenv.
	Getenv func(string) string
	// Interval is how often waits look again; 0 means DefaultInterval.
	Interval time.Duration
	// ConnectTimeout bounds the authenticated request that proves a regional
	// cluster answers; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ReconcileGrace is how long the region step waits for k0rdent's first
	// reconcile of a Region whose reference is valid; 0 means
	// DefaultReconcileGrace.
	ReconcileGrace time.Duration
	// ClientOptions are used when building regional cluster clients.
	ClientOptions []kube.Option
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) getenv(key string) string {
	if e.Getenv != nil {
		return e.Getenv(key)
	}
	return os.Getenv(key)
}

func (e *Env) interval() time.Duration {
	if e.Interval > 0 {
		return e.Interval
	}
	return DefaultInterval
}

func (e *Env) connectTimeout() time.Duration {
	if e.ConnectTimeout > 0 {
		return e.ConnectTimeout
	}
	return DefaultConnectTimeout
}

func (e *Env) reconcileGrace() time.Duration {
	if e.ReconcileGrace > 0 {
		return e.ReconcileGrace
	}
	return DefaultReconcileGrace
}

func (e *Env) deploymentID() string {
	if e.DeploymentID != "" {
		return e.DeploymentID
	}
	if e.Session != nil {
		return e.Session.ID()
	}
	return ""
}

// namespace is k0rdent's system namespace (kcm-system).
func (e *Env) namespace() string {
	if ns := e.Config.Software.K0rdent.Namespace; ns != "" {
		return ns
	}
	return config.DefaultNamespace
}

// credentialNamespace is the namespace of the management Credential, its
// identity and the per-region Credentials.
func (e *Env) credentialNamespace() string {
	if ns := e.Config.Software.K0rdent.Credential.Namespace; ns != "" {
		return ns
	}
	return e.namespace()
}

func (e *Env) clusterTimeout() time.Duration {
	if d := e.Config.Timeouts.RegionalCluster.Std(); d > 0 {
		return d
	}
	return config.DefaultTimeoutRegionalCluster
}

func (e *Env) regionTimeout() time.Duration {
	if d := e.Config.Timeouts.RegionReady.Std(); d > 0 {
		return d
	}
	return config.DefaultTimeoutRegionReady
}

func (e *Env) management(ctx context.Context) (*kube.Clients, error) {
	if e.Management == nil {
		return nil, errNoManagement
	}
	return e.Management.Clients(ctx)
}

// Parallel is how many regions deploy at the same time: override (the
// --parallel flag) when positive, else software.k0rdent.regional.parallel,
// else config.DefaultRegionalParallel. Each region is one chain of phases, so
// it is also the engine's Parallel for a run of regional phases only.
func Parallel(cfg *config.Config, override int) int {
	switch {
	case override > 0:
		return override
	case cfg != nil && cfg.Software.K0rdent.Regional.Parallel > 0:
		return cfg.Software.K0rdent.Regional.Parallel
	default:
		return config.DefaultRegionalParallel
	}
}
