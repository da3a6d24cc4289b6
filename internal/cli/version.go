package cli

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

type versionInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	BuildDate      string `json:"build_date,omitempty"`
	GoVersion      string `json:"go_version"`
	Platform       string `json:"platform"`
	K0rdentVersion string `json:"k0rdent_version"`
}

// versionOptions are the options of `version`.
type versionOptions struct{ *Options }

func newVersionCommand(o *Options) *cobra.Command {
	vo := &versionOptions{Options: o}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the k0rdentctl version and the k0rdent version it deploys by default",
		RunE:  func(cmd *cobra.Command, _ []string) error { return vo.run() },
	}
}

func (o *versionOptions) run() error {
	v := versionInfo{
		Version:        orUnknown(o.Build.Version),
		Commit:         orUnknown(o.Build.Commit),
		BuildDate:      o.Build.Date,
		GoVersion:      runtime.Version(),
		Platform:       runtime.GOOS + "/" + runtime.GOARCH,
		K0rdentVersion: config.DefaultK0rdentVersion,
	}
	return o.emit(v, func(w io.Writer, _ ui.Style) {
		fmt.Fprintf(w, "k0rdentctl %s (commit %s, %s, %s)\n", v.Version, v.Commit, v.GoVersion, v.Platform)
		fmt.Fprintf(w, "default k0rdent version: %s\n", v.K0rdentVersion)
	})
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
