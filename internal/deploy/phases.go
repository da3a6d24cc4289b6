package deploy

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/mgmt"
	"github.com/k0rdentctl/k0rdentctl/internal/k0rdent"
	"github.com/k0rdentctl/k0rdentctl/internal/kof"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// Unavailable names a part of the configuration that a run will not act
// on, with the reason and what would act on it, so that plan and deploy say
// so instead of silently leaving it out. Blocking entries stop deploy before
// anything is touched (the run cannot do what the configuration asks);
// the others are printed as notes.
type Unavailable struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
	// Action is what would act on it: a flag, a command, or a step to do by
	// hand where this build has none.
	Action   string `json:"action,omitempty"`
	Blocking bool   `json:"blocking"`
}

// Options choose the optional parts of a deployment.
type Options struct {
	// WithRegional adds the k0rdent regional clusters (--with-regional).
	WithRegional bool
	// WithChildren adds the configured child clusters (--with-children).
	WithChildren bool
	// WithKOF adds the KOF install on the management cluster (--with-kof).
	WithKOF bool
}

// Check lists every configured part that a run with these options will not
// act on, and why, from the configuration alone (no network, nothing
// written). It is the one place that knows what this build leaves out:
// when a part is built, its entry goes.
func Check(env *Env, opts Options) []Unavailable {
	cfg := env.Config
	missing := []Unavailable{}
	switch {
	case opts.WithRegional && !cfg.RegionalEnabled():
		missing = append(missing, Unavailable{Field: "software.k0rdent.regional.enabled", Blocking: true,
			Reason: "--with-regional asks for regional clusters but they are disabled",
			Action: "set software.k0rdent.regional.enabled: true, or leave out --with-regional"})
	case !opts.WithRegional && cfg.RegionalEnabled() && len(cfg.Software.K0rdent.Regional.Clusters) > 0:
		missing = append(missing, Unavailable{Field: "software.k0rdent.regional.clusters",
			Reason: fmt.Sprintf("%d regional cluster(s) are configured, and this run leaves them out", len(cfg.Software.K0rdent.Regional.Clusters)),
			Action: "add --with-regional, or run k0rdentctl region deploy after this run"})
	}
	switch {
	case opts.WithKOF && !cfg.KOF.Enabled:
		missing = append(missing, Unavailable{Field: "kof.enabled", Blocking: true,
			Reason: "--with-kof asks for KOF but kof.enabled is false",
			Action: "set kof.enabled: true, or leave out --with-kof"})
	case !opts.WithKOF && cfg.KOF.Enabled:
		missing = append(missing, Unavailable{Field: "kof",
			Reason: "KOF is enabled, and this run leaves it out",
			Action: "add --with-kof, or run k0rdentctl kof install after this run"})
	}
	if opts.WithKOF && cfg.KOF.Enabled {
		if err := kof.CheckRegional(cfg); err != nil {
			missing = append(missing, Unavailable{Field: "kof.istio.enabled", Blocking: true,
				Reason: "the KOF regional cluster would never get its storage: " + err.Error(),
				Action: "set kof.istio.enabled: true, or leave out --with-kof and run k0rdentctl kof install alone"})
		}
	}
	switch n := len(cfg.ChildClusters); {
	case opts.WithChildren && n == 0:
		missing = append(missing, Unavailable{Field: "child_clusters", Blocking: true,
			Reason: "--with-children asks for child clusters but child_clusters is empty",
			Action: "list them in child_clusters, or leave out --with-children"})
	case !opts.WithChildren && n > 0:
		missing = append(missing, Unavailable{Field: "child_clusters",
			Reason: fmt.Sprintf("%d child cluster(s) are configured, and this run leaves them out", n),
			Action: "add --with-children, or create each with k0rdentctl child create NAME"})
	}
	return missing
}

// Blocking returns the entries of list that stop a run.
func Blocking(list []Unavailable) []Unavailable {
	var out []Unavailable
	for _, u := range list {
		if u.Blocking {
			out = append(out, u)
		}
	}
	return out
}

// Phases returns the phases of `k0rdentctl deploy` for the configuration,
// and what the configuration asks for that this build cannot do (Check).
//
// The phases record what they do in env.Session: a run builds them after
// the session is open (plan builds them without one, and nothing is
// recorded).
func Phases(env *Env, opts Options) ([]phase.Phase, []Unavailable, error) {
	cfg := env.Config
	missing := Check(env, opts)
	var phases []phase.Phase
	pre := &preflight{env: env}
	azureMode := env.BuildsManagement()
	if azureMode {
		az := env.Azure
		if az == nil {
			// Planning: the phases describe themselves from the configuration.
			az = &mgmt.Env{Config: cfg, BaseDir: filepath.Dir(env.ConfigPath), SecretsDir: filepath.Join(env.StateDir, "secrets")}
		}
		phases = append(phases, mgmt.Phases(az)...)
		phases = append(phases, mgmt.ClusterPhases(az, env.ManagementKubeconfig())...)
		pre.after = []string{mgmt.PhasePodNetwork}
	}
	phases = append(phases, pre)
	phases = append(phases, K0rdentPhases(env, false, PreflightName)...)
	phases = append(phases, &credentialsPhase{env: env})
	kofAfter := []string{}
	if azureMode {
		phases = append(phases, &diskCSIPhase{env: env})
		kofAfter = append(kofAfter, DiskCSIName)
	}
	if opts.WithRegional {
		if cfg.RegionalEnabled() {
			rphases, err := regional.Phases(env.Regional(), nil)
			if err != nil {
				return nil, nil, err
			}
			phases = append(phases, rphases...)
		}
	}
	if opts.WithKOF && cfg.KOF.Enabled {
		phases = append(phases, &kofPhase{env: env, after: kofAfter}, &kofRegionalPhase{env: env, withRegional: opts.WithRegional && cfg.RegionalEnabled()})
	}
	if opts.WithChildren {
		for _, cc := range cfg.ChildClusters {
			phases = append(phases, &childPhase{env: env, cc: cc, withRegional: opts.WithRegional && cfg.RegionalEnabled()})
		}
	}
	return phases, missing, nil
}

// Regional is the environment of the regional phases, after k0rdent-ready.
func (e *Env) Regional() *regional.Env {
	return &regional.Env{
		Config:     e.Config,
		ConfigPath: e.ConfigPath,
		Management: e.Management,
		Session:    e.Session,
		Files:      kubeconfigFiles(e.StateDir),
		After:      []string{k0rdent.PhaseReady, CredentialsName},
		Now:        e.Now,
	}
}

// kubeconfigFiles says where kubeconfigs go, as state.FileStore does,
// without creating anything (plan changes nothing).
type kubeconfigFiles string

func (d kubeconfigFiles) KubeconfigPath(cluster string) string {
	return state.KubeconfigPath(string(d), cluster)
}

// K0rdentPhases are the phases that install or upgrade k0rdent and wait for
// it: k0rdent-install then k0rdent-ready, after the named phases.
func K0rdentPhases(env *Env, upgradeOnly bool, after ...string) []phase.Phase {
	k := env.Config.Software.K0rdent
	connect := env.Management.Clients
	install := &k0rdent.InstallPhase{
		Connect: connect,
		Install: k0rdent.Install{
			ChartSource: k0rdent.ChartSource{Chart: chartRef(env), Version: k.Version},
			Namespace:   k.Namespace,
			Values:      k.Values,
			Force:       env.Force,
			UpgradeOnly: upgradeOnly,
			Timeout:     env.Config.Timeouts.K0rdentInstall.Std(),
		},
		After: after,
		OnResult: func(r *k0rdent.Result) error {
			return env.record(context.Background(), "the k0rdent install", func(rec *state.Record) { rec.K0rdent = r.Record(rec.K0rdent, env.now()) })
		},
	}
	ready := &k0rdent.ReadyPhase{
		Connect:   connect,
		Namespace: k.Namespace,
		Timeout:   env.Config.Timeouts.K0rdentInstall.Std(),
		OnResult: func(r *k0rdent.StatusReport) error {
			return env.record(context.Background(), "k0rdent's status", func(rec *state.Record) { rec.K0rdent = r.Record(rec.K0rdent, env.now()) })
		},
	}
	return []phase.Phase{install, ready}
}

// chartRef is software.k0rdent.chart, a local path resolved against the
// configuration's folder.
func chartRef(env *Env) string {
	c := env.Config.Software.K0rdent.Chart
	if c == "" || isRemote(c) {
		return c
	}
	return resolve(env, c)
}
