// Package deploy assembles the phases of `k0rdentctl deploy` from a
// validated configuration: which steps exist, in which order, and what each
// needs. The steps themselves live in the domain packages.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/mgmt"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Env is what the phases of a deployment share.
type Env struct {
	// ConfigPath is where the configuration was read from; relative paths in
	// it are relative to its folder.
	ConfigPath string
	Config     *config.Config
	// Raw is the configuration file's content, for its hash.
	Raw []byte
	// KubeconfigOverride is --kubeconfig.
	KubeconfigOverride string
	// StateDir is --state-dir.
	StateDir string
	// Management connects to the management cluster on first use.
	Management *Management
	// Session is the open deployment record; nil when planning.
	Session *state.Session
	// Force lets guarded steps go on (a k0rdent downgrade).
	Force bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Azure makes the management cluster on Azure VMs (mode azure
	// without --kubeconfig); nil otherwise.
	Azure *mgmt.Env
	// Entra manages the service principal the deployment creates
	// (software.k0rdent.credential.create_principal); nil: not available.
	Entra func(deploymentID string) (*credentials.Entra, error)
}

// deploymentID is the open record's id, "" when planning.
func (e *Env) deploymentID() string {
	if e.Session == nil {
		return ""
	}
	return e.Session.ID()
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// record changes the deployment record when there is one (not when
// planning). A record that cannot be written is an error that stops the run.
func (e *Env) record(ctx context.Context, what string, fn func(*state.Record)) error {
	if e.Session == nil {
		return nil
	}
	// Saved even when ctx is cancelled: what was done must be on record.
	if err := e.Session.Update(context.WithoutCancel(ctx), func(r *state.Record) error { fn(r); return nil }); err != nil {
		return fmt.Errorf("recording %s in the deployment record %s: %w; stopping so that the record stays true", what, e.Session.Location(), err)
	}
	return nil
}

// NewEnv builds the environment of a run. It does not touch the network.
func NewEnv(configPath string, cfg *config.Config, raw []byte, kubeconfigOverride, stateDir string) *Env {
	e := &Env{ConfigPath: configPath, Config: cfg, Raw: raw, KubeconfigOverride: kubeconfigOverride, StateDir: stateDir}
	e.Management = &Management{Path: e.ManagementKubeconfig(), Context: cfg.Management.Context}
	return e
}

// ManagementKubeconfig is the kubeconfig of the management cluster:
// --kubeconfig, else management.kubeconfig (mode existing), else the one the
// bootstrap writes into the state folder (mode azure).
func (e *Env) ManagementKubeconfig() string {
	switch {
	case e.KubeconfigOverride != "":
		return e.KubeconfigOverride
	case e.Config.ExistingManagement():
		return config.ResolvePath(e.Config.Management.Kubeconfig, filepath.Dir(e.ConfigPath))
	default:
		return state.KubeconfigPath(e.StateDir, e.Config.Metadata.Name)
	}
}

// BuildsManagement reports whether the run builds the management cluster
// (management.mode azure, no --kubeconfig): Azure VMs, WireGuard and k0s
// before k0rdent.
func (e *Env) BuildsManagement() bool {
	return !e.Config.ExistingManagement() && e.KubeconfigOverride == ""
}

// CheckKubeconfig says, before anything is touched, whether the management
// cluster's kubeconfig file exists: a usage problem (exit 2), named by where
// the path came from.
func (e *Env) CheckKubeconfig() error {
	path := e.ManagementKubeconfig()
	from := "management.kubeconfig in " + e.ConfigPath
	switch {
	case e.KubeconfigOverride != "":
		from = "--kubeconfig"
	case !e.Config.ExistingManagement():
		from = "the kubeconfig the bootstrap writes"
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %s does not exist; give the path of the management cluster's kubeconfig file", from, path)
		}
		return fmt.Errorf("%s: %w", from, err)
	}
	return nil
}

// Management is the management cluster, connected to on first use so that
// plan never needs it.
type Management struct {
	Path    string
	Context string

	mu      sync.Mutex
	clients *kube.Clients
}

// Clients connects (once) and returns the clients.
func (m *Management) Clients(ctx context.Context) (*kube.Clients, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clients != nil {
		return m.clients, nil
	}
	var opts []kube.Option
	if m.Context != "" {
		opts = append(opts, kube.WithContext(m.Context))
	}
	c, err := kube.Connect(ctx, m.Path, opts...)
	if err != nil {
		return nil, fmt.Errorf("management cluster: %w", err)
	}
	m.clients = c
	return c, nil
}

// Reachable connects (once) and proves that the management cluster answers
// an authenticated request: what every command that works on the cluster
// checks first, so that an unreachable cluster or rejected credentials get
// the same explanation everywhere (not a Helm or client error from deep in
// an operation). It returns the clients, the Kubernetes version and the user
// the API server sees.
func (m *Management) Reachable(ctx context.Context) (*kube.Clients, string, string, error) {
	c, err := m.Clients(ctx)
	if err != nil {
		return nil, "", "", err
	}
	v, err := c.Ping(ctx)
	if err != nil {
		return nil, "", "", fmt.Errorf("management cluster: %w", err)
	}
	// /version is readable anonymously: only an authenticated request proves
	// that the kubeconfig's credentials work.
	user, err := c.WhoAmI(ctx)
	if err != nil {
		return nil, "", "", fmt.Errorf("management cluster: %w", err)
	}
	return c, v, user, nil
}

func isRemote(ref string) bool {
	return strings.HasPrefix(ref, "oci://") || strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://")
}

func resolve(env *Env, p string) string {
	return config.ResolvePath(p, filepath.Dir(env.ConfigPath))
}
