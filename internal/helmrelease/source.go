package helmrelease

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
)

// Source is where a chart comes from: Repo is an oci:// repository (the
// chart is Repo/Name:Version), an https:// (or http://) Helm repository
// (its index.yaml names the chart's archive), or a local folder holding
// Name/ or Name-Version.tgz.
type Source struct {
	Repo, Name, Version string
	// Field names the setting of Repo, and VersionField the setting of
	// Version, for errors.
	Field, VersionField string
	Registry            RegistryOptions
}

// isHTTP: Repo is a Helm repository served over HTTP(S).
func (s Source) isHTTP() bool { return isHTTP(s.Repo) }

func isHTTP(r string) bool {
	return strings.HasPrefix(r, "https://") || strings.HasPrefix(r, "http://")
}

// IsRemote: r is an oci:// or http(s):// repository, not a local folder.
func IsRemote(r string) bool { return registry.IsOCI(r) || isHTTP(r) }

// ResolveRepo is a chart source setting as Source takes it: a repository
// as written, a local folder relative to the configuration's folder.
func ResolveRepo(r, baseDir string) string {
	if IsRemote(r) {
		return r
	}
	return config.ResolvePath(r, baseDir)
}

// Ref is where the chart is taken from.
func (s Source) Ref() string {
	switch {
	case registry.IsOCI(s.Repo):
		return strings.TrimRight(s.Repo, "/") + "/" + s.Name + ":" + s.Version
	case s.isHTTP():
		return strings.TrimRight(s.Repo, "/") + " " + s.Name + " " + s.Version
	}
	return filepath.Join(s.Repo, s.Name)
}

// Load pulls or reads the chart and checks that it is the chart and
// version asked for.
func (s Source) Load(ctx context.Context) (*chart.Chart, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var ch *chart.Chart
	var ref string
	var err error
	switch {
	case registry.IsOCI(s.Repo):
		ch, ref, err = PullOCI(strings.TrimRight(s.Repo, "/")+"/"+s.Name, s.Version, s.Registry, "chart "+s.Name, s.VersionField, s.Field)
	case s.isHTTP():
		ch, ref, err = s.pullHTTP(ctx)
	default:
		ch, ref, err = s.loadLocal()
	}
	if err != nil {
		return nil, "", err
	}
	if ch.Metadata == nil || ch.Metadata.Name != s.Name {
		return nil, "", fmt.Errorf("%s is not the %s chart", ref, s.Name)
	}
	if strings.TrimPrefix(ch.Metadata.Version, "v") != strings.TrimPrefix(s.Version, "v") {
		return nil, "", fmt.Errorf("chart %s is version %s, but %s was asked for: set the version or use the chart of %s", ref, ch.Metadata.Version, s.Version, s.Version)
	}
	return ch, ref, nil
}

func (s Source) loadLocal() (*chart.Chart, string, error) {
	dir := filepath.Join(s.Repo, s.Name)
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		ch, err := loader.LoadDir(dir)
		if err != nil {
			return nil, "", fmt.Errorf("loading chart %s: %w", dir, err)
		}
		return ch, dir, nil
	}
	tgz := filepath.Join(s.Repo, s.Name+"-"+strings.TrimPrefix(s.Version, "v")+".tgz")
	ch, err := loader.LoadFile(tgz)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("chart %s %s: neither %s nor %s exists; %s is a local folder: put the chart there, or set %s to an oci:// or https:// repository",
			s.Name, s.Version, dir, tgz, s.Field, s.Field)
	}
	if err != nil {
		return nil, "", fmt.Errorf("loading chart %s: %w", tgz, err)
	}
	return ch, tgz, nil
}

// pullHTTP finds the chart's archive in the repository's index.yaml and
// downloads it, as `helm pull --repo` does (no repository cache kept).
func (s Source) pullHTTP(ctx context.Context) (*chart.Chart, string, error) {
	if s.Version == "" {
		return nil, "", fmt.Errorf("chart %s from %s: no version given; set %s", s.Name, s.Repo, s.VersionField)
	}
	getters := getter.All(cli.New())
	u, err := repo.FindChartInRepoURL(s.Repo, s.Name, s.Version, "", "", "", getters)
	if err != nil {
		return nil, "", fmt.Errorf("finding chart %s %s in the Helm repository %s: %w; check the version (%s) and that this machine reaches the repository; air-gapped: set %s to a local folder", s.Name, s.Version, s.Repo, err, s.VersionField, s.Field)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	g, err := getters.ByScheme(strings.SplitN(u, "://", 2)[0])
	if err != nil {
		return nil, "", err
	}
	data, err := g.Get(u)
	if err != nil {
		return nil, "", fmt.Errorf("downloading chart %s %s from %s: %w", s.Name, s.Version, u, err)
	}
	ch, err := loader.LoadArchive(data)
	if err != nil {
		return nil, "", fmt.Errorf("reading chart %s downloaded from %s: %w", s.Name, u, err)
	}
	return ch, u, nil
}
