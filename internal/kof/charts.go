package kof

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
	"helm.sh/helm/v3/pkg/registry"

	"github.com/k0rdentctl/k0rdentctl/internal/helmrelease"
)

// Source is where a chart comes from: Repo is an oci:// repository (the
// chart is Repo/Name:Version) or a local folder holding Name/ or
// Name-Version.tgz.
type Source struct {
	Repo, Name, Version string
	// Field names the setting of Repo, for errors.
	Field    string
	Registry helmrelease.RegistryOptions
}

// Ref is where the chart is taken from.
func (s Source) Ref() string {
	if registry.IsOCI(s.Repo) {
		return strings.TrimRight(s.Repo, "/") + "/" + s.Name + ":" + s.Version
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
	if registry.IsOCI(s.Repo) {
		ch, ref, err = helmrelease.PullOCI(strings.TrimRight(s.Repo, "/")+"/"+s.Name, s.Version, s.Registry, "chart "+s.Name, "kof.version", s.Field)
		if err != nil {
			return nil, "", err
		}
	} else {
		ch, ref, err = s.loadLocal()
		if err != nil {
			return nil, "", err
		}
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
		return nil, "", fmt.Errorf("chart %s %s: neither %s nor %s exists; %s is a local folder: put the chart there, or set %s to an oci:// repository",
			s.Name, s.Version, dir, tgz, s.Field, s.Field)
	}
	if err != nil {
		return nil, "", fmt.Errorf("loading chart %s: %w", tgz, err)
	}
	return ch, tgz, nil
}
