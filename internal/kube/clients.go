package kube

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// UserAgent is the User-Agent of k0rdentctl's requests.
const UserAgent = "k0rdentctl"

// Clients reaches one Kubernetes cluster: a rest.Config (requests retried
// by client-go only, see MaxAttemptsPerRequest), a controller-runtime client whose scheme knows k0rdent's API, and
// what the Helm SDK needs (RESTClientGetter).
type Clients struct {
	// Source says where the credentials came from: the kubeconfig path, or
	// "kubeconfig data" for FromKubeconfig. It is used in messages.
	Source string
	// Context is the kubeconfig context in use ("" for FromRESTConfig).
	Context string
	// Server is the API server's URL.
	Server string
	// Config is the rest.Config of the cluster.
	Config *rest.Config
	// Scheme is the scheme of Client (NewScheme unless WithScheme was given).
	Scheme *runtime.Scheme
	// Client is a controller-runtime client on Config.
	Client client.Client

	// raw is the kubeconfig, for Helm's RawKubeConfigLoader; nil for
	// FromRESTConfig.
	raw *clientcmdapi.Config

	discoveryOnce sync.Once
	discovery     discovery.CachedDiscoveryInterface
	discoveryErr  error
}

// Option changes how Connect, FromKubeconfig and FromRESTConfig build clients.
type Option func(*options)

type options struct {
	context string
	scheme  *runtime.Scheme
	qps     float32
	burst   int
}

// WithContext selects a context of the kubeconfig instead of its
// current-context.
func WithContext(name string) Option { return func(o *options) { o.context = name } }

// WithScheme gives the client another scheme than NewScheme's.
func WithScheme(s *runtime.Scheme) Option { return func(o *options) { o.scheme = s } }

// WithRateLimit sets the client-side rate limit (default 50 requests a
// second, bursts of 100: Helm installs many objects at once).
func WithRateLimit(qps float32, burst int) Option {
	return func(o *options) { o.qps, o.burst = qps, burst }
}

// Connect builds clients from the kubeconfig file at path, and only from it:
// KUBECONFIG and ~/.kube/config are never read. It does not contact the API
// server (see Ping); ctx only stops it early.
func Connect(ctx context.Context, kubeconfigPath string, opts ...Option) (*Clients, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(kubeconfigPath) == "" {
		return nil, errors.New("no kubeconfig given: set management.kubeconfig in the configuration or pass --kubeconfig (KUBECONFIG is not read, so that your current context is never used by accident)")
	}
	data, err := os.ReadFile(kubeconfigPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("kubeconfig %s does not exist: for a cluster k0rdentctl bootstrapped, run `k0rdentctl deploy` (it writes the file); for an existing cluster, set management.kubeconfig or --kubeconfig to its kubeconfig file", kubeconfigPath)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("cannot read kubeconfig %s: %w; make it readable by you (mode 0600)", kubeconfigPath, err)
	case err != nil:
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfigPath, err)
	}
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s is not a valid kubeconfig: %w; check the file, or write it again (for a cluster k0rdentctl bootstrapped: k0rdentctl deploy)", kubeconfigPath, err)
	}
	// Certificate and key files named relative to the kubeconfig are found
	// beside it, as kubectl does.
	for _, c := range raw.Clusters {
		c.LocationOfOrigin = kubeconfigPath
	}
	for _, a := range raw.AuthInfos {
		a.LocationOfOrigin = kubeconfigPath
	}
	if err := clientcmd.ResolveLocalPaths(raw); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: resolving the files it names: %w", kubeconfigPath, err)
	}
	return fromRaw(raw, kubeconfigPath, opts)
}

// FromKubeconfig builds clients from kubeconfig content (for example a
// regional cluster's kubeconfig read from a Secret). Files it names are
// resolved relative to the working directory.
func FromKubeconfig(data []byte, opts ...Option) (*Clients, error) {
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig data is not a valid kubeconfig: %w", err)
	}
	return fromRaw(raw, "kubeconfig data", opts)
}

// FromRESTConfig builds clients from a rest.Config (tests, in-cluster use).
// cfg is copied, not changed.
func FromRESTConfig(cfg *rest.Config, opts ...Option) (*Clients, error) {
	if cfg == nil {
		return nil, errors.New("building Kubernetes clients: no rest.Config given")
	}
	o := collect(opts)
	c := &Clients{Source: "rest config", Server: cfg.Host, Config: rest.CopyConfig(cfg)}
	if err := c.finish(o); err != nil {
		return nil, err
	}
	return c, nil
}

func collect(opts []Option) options {
	o := options{qps: 50, burst: 100}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func fromRaw(raw *clientcmdapi.Config, source string, opts []Option) (*Clients, error) {
	o := collect(opts)
	contextName := o.context
	if contextName == "" {
		contextName = raw.CurrentContext
	}
	if contextName == "" {
		if len(raw.Contexts) != 1 {
			return nil, fmt.Errorf("kubeconfig %s has no current-context and %d contexts (%s): set current-context in the file, or choose one with management.context in the configuration", source, len(raw.Contexts), contextNames(raw))
		}
		for name := range raw.Contexts {
			contextName = name
		}
	}
	if _, ok := raw.Contexts[contextName]; !ok {
		return nil, fmt.Errorf("kubeconfig %s has no context %q (it has: %s)", source, contextName, contextNames(raw))
	}
	cc := clientcmd.NewNonInteractiveClientConfig(*raw, contextName, &clientcmd.ConfigOverrides{}, nil)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s, context %q: %w", source, contextName, err)
	}
	c := &Clients{Source: source, Context: contextName, Server: cfg.Host, Config: cfg, raw: raw}
	if err := c.finish(o); err != nil {
		return nil, err
	}
	return c, nil
}

func contextNames(raw *clientcmdapi.Config) string {
	names := make([]string, 0, len(raw.Contexts))
	for name := range raw.Contexts {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// finish installs the transport and the client.
func (c *Clients) finish(o options) error {
	c.Config.UserAgent = UserAgent
	if o.qps > 0 {
		c.Config.QPS = o.qps
	}
	if o.burst > 0 {
		c.Config.Burst = o.burst
	}
	c.Scheme = o.scheme
	if c.Scheme == nil {
		c.Scheme = NewScheme()
	}
	cl, err := client.New(c.Config, client.Options{Scheme: c.Scheme})
	if err != nil {
		return fmt.Errorf("creating a Kubernetes client for %s (%s): %w", c.Server, c.Source, err)
	}
	c.Client = cl
	return nil
}

// Where names the cluster in messages: "https://10.0.0.4:6443 (kubeconfig
// state/kubeconfigs/mgmt.kubeconfig)".
func (c *Clients) Where() string {
	if c.Source == "" {
		return c.Server
	}
	if strings.HasPrefix(c.Source, "kubeconfig") || strings.HasPrefix(c.Source, "rest") {
		return fmt.Sprintf("%s (%s)", c.Server, c.Source)
	}
	return fmt.Sprintf("%s (kubeconfig %s)", c.Server, c.Source)
}

// Discovery returns a discovery client that caches in memory.
func (c *Clients) Discovery() (discovery.CachedDiscoveryInterface, error) {
	c.discoveryOnce.Do(func() {
		dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
		if err != nil {
			c.discoveryErr = fmt.Errorf("creating a discovery client for %s: %w", c.Where(), err)
			return
		}
		c.discovery = memory.NewMemCacheClient(dc)
	})
	return c.discovery, c.discoveryErr
}

// Ping asks the API server for its version, to tell early and clearly
// whether the cluster can be reached with these credentials.
func (c *Clients) Ping(ctx context.Context) (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return "", fmt.Errorf("creating a discovery client for %s: %w", c.Where(), err)
	}
	body, err := dc.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("cannot reach the Kubernetes API server %s: %w; check that the cluster is running and reachable from here, and that the kubeconfig's credentials are valid", c.Where(), err)
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := jsonUnmarshal(body, &v); err != nil {
		return "", fmt.Errorf("reading the version of the API server %s: %w", c.Where(), err)
	}
	return v.GitVersion, nil
}

// Served reports whether the API server serves the kind in group/version, as
// discovery says now (not cached).
func (c *Clients) Served(ctx context.Context, groupVersion, kind string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	dc, err := c.Discovery()
	if err != nil {
		return false, err
	}
	dc.Invalidate()
	list, err := dc.ServerResourcesForGroupVersion(groupVersion)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("asking %s which %s resources it serves: %w", c.Where(), groupVersion, err)
	}
	for _, r := range list.APIResources {
		if r.Kind == kind && !strings.Contains(r.Name, "/") {
			return true, nil
		}
	}
	return false, nil
}

// RESTClientGetter returns what the Helm SDK (action.Configuration.Init) needs
// to reach this cluster, with namespace as the default namespace.
func (c *Clients) RESTClientGetter(namespace string) genericclioptions.RESTClientGetter {
	return &restClientGetter{clients: c, namespace: namespace}
}

type restClientGetter struct {
	clients   *Clients
	namespace string

	once   sync.Once
	mapper meta.RESTMapper
	err    error
}

func (g *restClientGetter) ToRESTConfig() (*rest.Config, error) {
	return rest.CopyConfig(g.clients.Config), nil
}

func (g *restClientGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.clients.Discovery()
}

func (g *restClientGetter) ToRESTMapper() (meta.RESTMapper, error) {
	g.once.Do(func() {
		dc, err := g.clients.Discovery()
		if err != nil {
			g.err = err
			return
		}
		deferred := restmapper.NewDeferredDiscoveryRESTMapper(dc)
		g.mapper = restmapper.NewShortcutExpander(deferred, dc, nil)
	})
	return g.mapper, g.err
}

func (g *restClientGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	overrides := &clientcmd.ConfigOverrides{Context: clientcmdapi.Context{Namespace: g.namespace}}
	if g.clients.raw != nil {
		return clientcmd.NewNonInteractiveClientConfig(*g.clients.raw, g.clients.Context, overrides, nil)
	}
	// Built from a rest.Config: describe that one cluster.
	cfg := g.clients.Config
	raw := clientcmdapi.NewConfig()
	raw.Clusters["cluster"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
		CertificateAuthority:     cfg.CAFile,
		InsecureSkipTLSVerify:    cfg.Insecure,
		TLSServerName:            cfg.ServerName,
	}
	raw.AuthInfos["user"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientCertificate:     cfg.CertFile,
		ClientKeyData:         cfg.KeyData,
		ClientKey:             cfg.KeyFile,
		Token:                 cfg.BearerToken,
		TokenFile:             cfg.BearerTokenFile,
		Username:              cfg.Username,
		Password:              cfg.Password,
	}
	raw.Contexts["context"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "user", Namespace: g.namespace}
	raw.CurrentContext = "context"
	return clientcmd.NewNonInteractiveClientConfig(*raw, "context", overrides, nil)
}
