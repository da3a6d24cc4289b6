// Package deploy assembles the phases of `k0rdentctl deploy` from a
// validated configuration: which steps exist, in which order, and what each
// needs. The steps themselves live in the domain packages.
package deploy

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/kube"
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
		return filepath.Join(e.StateDir, "kubeconfigs", e.Config.Metadata.Name+".kubeconfig")
	}
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
