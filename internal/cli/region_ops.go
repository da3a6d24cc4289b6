package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// regionOpsCommands returns the region commands beyond deploy and kubeconfig
// (status, health, rotation, remove, cleanup), added to `k0rdentctl region`
// by newRegionCommand.
func regionOpsCommands(o *Options) []*cobra.Command {
	return []*cobra.Command{
		newRegionStatusCommand(o),
		newRegionHealthCommand(o),
		newRegionRotateCredentialsCommand(o),
		newRegionRotateCertificatesCommand(o),
		newRegionRemoveCommand(o),
		newRegionCleanupCommand(o),
	}
}

// opsEnv is what every region operation needs: the configuration, the
// management cluster (connected on first use) and the state folder.
type opsEnv struct {
	cfg   *config.Config
	raw   []byte
	denv  *deploy.Env
	store state.Store
	files *state.FileStore // kubeconfigs stay local on every backend
}

func (o *Options) opsSetup() (*opsEnv, error) {
	cfg, raw, err := o.loadConfig()
	if err != nil {
		return nil, err
	}
	store, err := o.store()
	if err != nil {
		return nil, err
	}
	files, err := o.files()
	if err != nil {
		return nil, err
	}
	return &opsEnv{cfg: cfg, raw: raw, denv: deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir), store: store, files: files}, nil
}

func (e *opsEnv) regional(o *Options, sess *state.Session) *regional.Env {
	return &regional.Env{
		Config:     e.cfg,
		ConfigPath: o.ConfigPath,
		Management: e.denv.Management,
		Session:    sess,
		Files:      e.files,
		Now:        o.Now,
	}
}

// opsExistingSession opens the deployment record when there is one, for
// commands that record what they saw but must not create a deployment. A
// record locked by another process is not an error: the command runs
// without recording, and warn says so.
func (o *Options) opsExistingSession(ctx context.Context, e *opsEnv) (sess *state.Session, warn string, err error) {
	id, err := state.FindCurrent(ctx, e.store, e.cfg.Metadata.Name)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, "", nil
	case err != nil:
		return nil, "", err
	}
	sess, err = state.Open(ctx, e.store, id)
	var lock *state.LockError
	if errors.As(err, &lock) {
		return nil, "not recorded in the state: " + lock.Error(), nil
	}
	return sess, "", err
}

// opsProgress is where progress lines go: standard output for people,
// standard error when standard output carries JSON or YAML.
func (o *Options) opsProgress() io.Writer {
	if o.structured() {
		return o.IO.ErrOut
	}
	return o.IO.Out
}

// opsProgressFunc prints progress lines; regions report from their own
// goroutines, so lines are written one at a time.
func (o *Options) opsProgressFunc() func(string) {
	w := o.opsProgress()
	st := o.style()
	var mu sync.Mutex
	return func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "  %s %s\n", st.Dim(o.now().Format("15:04:05")), s)
	}
}

func opsNamesArgs(cmd *cobra.Command, args []string) error {
	for _, a := range args {
		if strings.TrimSpace(a) == "" {
			return usageError(fmt.Errorf("%s: an empty regional cluster name was given", cmd.CommandPath()))
		}
	}
	return nil
}

func opsDuration(d float64) string {
	return ui.Duration(time.Duration(d * float64(time.Second)).Round(100 * time.Millisecond))
}

// ---- status ----

func newRegionStatusCommand(o *Options) *cobra.Command {
	var states, locations []string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every regional cluster: state, Region Ready, components, credentials, certificates, placed clusters",
		Long: `Show every regional cluster that the configuration, the deployment record or the
management cluster knows: its state, type and location, its Region's Ready
condition and reason, the components k0rdent reports for it, whether the Azure
credential and the registry certificate were propagated, the ClusterDeployments
placed in it (through Credentials with its spec.region) and its kubeconfig file.

It reads the management cluster with one list call per object kind, however
many regions there are, and never contacts the regional clusters (that is
k0rdentctl region health). Regions that neither the configuration nor the
record knows are shown as unmanaged (someone else's) or orphaned (k0rdentctl
made them: k0rdentctl region cleanup removes them).

Exit code 1 when a region failed, or is deployed but its Region is missing or
not Ready, or when the management cluster cannot be read.`,
		Example: `  k0rdentctl region status
  k0rdentctl region status --state failed --state deploying
  k0rdentctl region status --location eastus -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := regional.CheckStatusFilters(states); err != nil {
				return usageError(err)
			}
			e, err := o.opsSetup()
			if err != nil {
				return err
			}
			rec, err := o.currentRecord(ctx, e.store, e.cfg)
			if err != nil && !errors.Is(err, state.ErrNotFound) {
				return err
			}
			rep, err := (&regional.Status{Env: e.regional(o, nil), States: states, Locations: locations, Record: rec}).Run(ctx)
			if err != nil {
				return err
			}
			if o.structured() {
				if err := ui.WriteData(o.IO.Out, o.Output, rep); err != nil {
					return err
				}
			} else {
				statePath := ""
				if rec != nil {
					statePath = e.store.Location(rec.DeploymentID)
				}
				renderOpsStatus(o.IO.Out, o.style(), rep, statePath)
			}
			if rep.ManagementError != "" || len(rep.Problems()) > 0 {
				if o.structured() && rep.ManagementError != "" {
					fmt.Fprintf(o.IO.ErrOut, "Error: %s\n", rep.ManagementError)
				}
				return failed(ExitFailed)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&states, "state", nil, "show only regions in this state (repeatable): "+strings.Join(regional.Statuses(), ", "))
	cmd.Flags().StringSliceVar(&locations, "location", nil, "show only regions in this Azure location (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("state", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return regional.Statuses(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// opsCell turns a snake_case value into table text.
func opsCell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, "_", " ")
}

func renderOpsStatus(w io.Writer, st ui.Style, rep *regional.StatusReport, statePath string) {
	if rep.ManagementError != "" {
		fmt.Fprintf(w, "%s %s\n", st.Red("management cluster not read:"), rep.ManagementError)
		fmt.Fprintln(w, "  (showing what the configuration and the record say)")
	}
	if len(rep.Regions) == 0 {
		if rep.Total == 0 {
			fmt.Fprintln(w, "No regional clusters: none is configured (software.k0rdent.regional.clusters), recorded or on the management cluster.")
		} else {
			fmt.Fprintf(w, "No regional clusters match the filters (%d known).\n", rep.Total)
		}
		return
	}
	var t ui.Table
	t.Row("NAME", "TYPE", "LOCATION", "STATE", "READY", "COMPONENTS", "CREDENTIALS", "CERTS", "CLUSTERS")
	for _, r := range rep.Regions {
		ready := "-"
		switch {
		case r.Region.Deleting:
			ready = "Deleting"
		case r.Ready != nil && *r.Ready:
			ready = "True"
		case r.Ready != nil:
			ready = "False"
		}
		comps := "-"
		if r.ComponentsTotal > 0 {
			comps = fmt.Sprintf("%d/%d healthy", r.ComponentsHealthy, r.ComponentsTotal)
		}
		creds := opsCell(r.Credentials)
		switch r.Credentials {
		case regional.CredentialsNone:
			creds = "-"
		case regional.CredentialsUnknown:
			creds = "?"
		}
		certs := "-"
		switch r.Certificates {
		case regional.CertificatesPropagated:
			certs = "yes"
		case regional.CertificatesNotPropagated:
			certs = "no"
		case regional.CertificatesNotConfigured:
			certs = "none"
		case regional.CertificatesUnknown:
			certs = "?"
		}
		if r.Status == state.RegionalPending || r.Status == state.RegionalRemoved {
			if r.Credentials == regional.CredentialsNone {
				creds = "-"
			}
			if r.Certificates != regional.CertificatesPropagated {
				certs = "-"
			}
		}
		status := r.Status
		switch r.Status {
		case state.RegionalFailed:
			status = st.Red(status)
		case state.RegionalDeployed:
			if r.Problem != "" {
				status = st.Yellow(status)
			}
		}
		typ := r.Type
		if typ == "" {
			typ = "-"
		}
		t.Row(r.Name, typ, opsCell(r.Location), status, ready, comps, creds, certs, fmt.Sprint(len(r.ClusterDeployments)))
	}
	_ = t.Write(w)

	// Details: what is wrong, and where the kubeconfigs are.
	for _, r := range rep.Regions {
		switch {
		case r.Problem != "":
			fmt.Fprintf(w, "  %s: %s\n", r.Name, r.Problem)
		case r.Region.Exists && !r.Region.Done():
			fmt.Fprintf(w, "  %s: Region %s\n", r.Name, r.Region.Summary())
		case r.Status == regional.StatusOrphaned:
			fmt.Fprintf(w, "  %s: made by k0rdentctl, no longer configured or recorded; remove it with: k0rdentctl region cleanup\n", r.Name)
		}
	}
	var counts []string
	keys := make([]string, 0, len(rep.Counts))
	for k := range rep.Counts {
		keys = append(keys, k)
	}
	order := map[string]int{}
	for i, s := range regional.Statuses() {
		order[s] = i
	}
	sort.Slice(keys, func(i, j int) bool { return order[keys[i]] < order[keys[j]] })
	for _, k := range keys {
		counts = append(counts, fmt.Sprintf("%d %s", rep.Counts[k], k))
	}
	line := fmt.Sprintf("%s: %s", plural(len(rep.Regions), "region"), strings.Join(counts, ", "))
	if rep.Management != "" {
		line += " · management cluster " + rep.Management
	}
	fmt.Fprintln(w, line)
	if dir, same := opsKubeconfigDir(rep.Regions); same && dir != "" {
		fmt.Fprintf(w, "kubeconfigs: %s (k0rdentctl region kubeconfig NAME)\n", filepath.Join(dir, "<name>.kubeconfig"))
	} else {
		for _, r := range rep.Regions {
			if r.KubeconfigPath != "" {
				fmt.Fprintf(w, "kubeconfig of %s: %s\n", r.Name, r.KubeconfigPath)
			}
		}
	}
	if statePath != "" {
		fmt.Fprintf(w, "state: %s · health: k0rdentctl region health\n", statePath)
	}
}

// opsKubeconfigDir is the folder of the regions' kubeconfig files when all
// of them are <dir>/<name>.kubeconfig.
func opsKubeconfigDir(rows []regional.RegionStatus) (string, bool) {
	dir := ""
	for _, r := range rows {
		if r.KubeconfigPath == "" {
			continue
		}
		d := filepath.Dir(filepath.Dir(r.KubeconfigPath))
		if state.KubeconfigPath(d, r.Name) != filepath.Clean(r.KubeconfigPath) {
			return "", false
		}
		d = filepath.Dir(r.KubeconfigPath)
		if dir != "" && d != dir {
			return "", false
		}
		dir = d
	}
	return dir, true
}

// ---- health ----

func newRegionHealthCommand(o *Options) *cobra.Command {
	var watch bool
	var interval, timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health [NAME...]",
		Short: "Check that every regional cluster answers, runs its components and has a Ready Region",
		Long: `Check each regional cluster (all, or the named ones) at the same time, each within
--timeout: that it answers an authenticated request with the kubeconfig the
management cluster keeps for it, that cert-manager, Velero, Cluster API and its
providers are available there, and that its Region is Ready. Each region is
healthy, degraded (reachable, but a component or the Region is not ready),
unreachable or unknown; the result and the time of the check are recorded in
the state, with an event when a region's health changed.

Exit code 1 when any region is not healthy.

With --watch it checks again every --interval until interrupted, and logs each
change of a Region's Ready condition (and of health) as an event.`,
		Example: `  k0rdentctl region health
  k0rdentctl region health regional-westeu --timeout 30s
  k0rdentctl region health --watch --interval 30s`,
		Args:              opsNamesArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if timeout <= 0 || interval <= 0 {
				return usageError(errors.New("--timeout and --interval must be positive durations, such as 15s"))
			}
			e, err := o.opsSetup()
			if err != nil {
				return err
			}
			health := regional.Health{Names: args, Timeout: timeout}
			if watch {
				return o.watchHealth(ctx, e, health, interval)
			}
			sess, warn, err := o.opsExistingSession(ctx, e)
			if err != nil {
				return err
			}
			if sess != nil {
				defer sess.Close()
			}
			if warn != "" {
				fmt.Fprintf(o.IO.ErrOut, "Warning: %s\n", warn)
			}
			health.Env = e.regional(o, sess)
			rep, err := health.Run(ctx)
			if err != nil {
				return err
			}
			if o.structured() {
				if err := ui.WriteData(o.IO.Out, o.Output, rep); err != nil {
					return err
				}
			} else {
				renderOpsHealth(o.IO.Out, o.style(), rep)
			}
			if len(rep.Unhealthy()) > 0 || rep.ManagementError != "" {
				return failed(ExitFailed)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "check again every --interval until interrupted, logging Ready transitions as events")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Second, "time between checks with --watch")
	cmd.Flags().DurationVar(&timeout, "timeout", regional.DefaultHealthTimeout, "how long the checks of one regional cluster may take")
	return cmd
}

// watchHealth checks the regions' health every interval until ctx ends. The
// deployment record is locked only while a result is written, so that deploy
// or remove can run in another terminal during the watch.
func (o *Options) watchHealth(ctx context.Context, e *opsEnv, health regional.Health, interval time.Duration) error {
	health.Env = e.regional(o, nil)
	wopts := &regional.WatchHealth{Health: health, Interval: interval}
	id, err := state.FindCurrent(ctx, e.store, e.cfg.Metadata.Name)
	switch {
	case err == nil:
		wopts.Store, wopts.DeploymentID = e.store, id
	case !errors.Is(err, state.ErrNotFound):
		return err
	}
	var lastUnhealthy int
	first := true
	wopts.OnCheck = func(rep *regional.HealthReport, trans []regional.ReadyTransition) {
		lastUnhealthy = len(rep.Unhealthy())
		if o.structured() {
			_ = ui.WriteData(o.IO.Out, o.Output, map[string]any{"report": rep, "transitions": trans})
			return
		}
		if rep.RecordError != "" {
			fmt.Fprintf(o.IO.ErrOut, "Warning: %s\n", rep.RecordError)
		}
		if first {
			renderOpsHealth(o.IO.Out, o.style(), rep)
			fmt.Fprintf(o.IO.Out, "watching every %s (Ctrl-C stops) ...\n", interval)
			first = false
			return
		}
		renderOpsHealthChanges(o.IO.Out, o.style(), rep, trans)
	}
	if err := wopts.Run(ctx); err != nil {
		return err
	}
	if lastUnhealthy > 0 {
		return failed(ExitFailed)
	}
	return nil
}

func opsHealthMark(st ui.Style, h regional.RegionHealth) string {
	switch {
	case h.Skipped != "":
		return st.Dim(ui.MarkSkipped + " " + h.Skipped)
	case h.Health == state.HealthHealthy:
		return st.Green(ui.MarkDone + " healthy")
	case h.Health == state.HealthDegraded:
		return st.Yellow("! degraded")
	case h.Health == state.HealthUnreachable:
		return st.Red(ui.MarkFailed + " unreachable")
	}
	return st.Yellow("? " + h.Health)
}

func renderOpsHealth(w io.Writer, st ui.Style, rep *regional.HealthReport) {
	if rep.ManagementError != "" {
		fmt.Fprintf(w, "%s %s\n", st.Red("management cluster not read:"), rep.ManagementError)
	}
	if len(rep.Regions) == 0 {
		fmt.Fprintln(w, "No regional clusters to check.")
		return
	}
	var t ui.Table
	t.Row("NAME", "HEALTH", "SERVER", "READY", "COMPONENTS", "LATENCY")
	for _, h := range rep.Regions {
		ready := "-"
		if h.Ready != nil {
			ready = "False"
			if *h.Ready {
				ready = "True"
			}
			if h.Region.Reason != "" && !*h.Ready {
				ready += " " + h.Region.Reason
			}
		}
		comps, lat, server := "-", "-", "-"
		if h.ComponentsTotal > 0 {
			comps = fmt.Sprintf("%d/%d available", h.ComponentsAvailable, h.ComponentsTotal)
		}
		if h.Reachable {
			lat = fmt.Sprintf("%.0fms", h.LatencyMS)
		}
		if h.Server != "" {
			server = h.Server
		}
		t.Row(h.Name, opsHealthMark(st, h), server, ready, comps, lat)
	}
	_ = t.Write(w)
	for _, h := range rep.Regions {
		if !h.Unhealthy() {
			continue
		}
		fmt.Fprintf(w, "  %s:\n", h.Name)
		for _, p := range h.Problems {
			fmt.Fprintf(w, "      %s\n", p)
		}
		if h.Fix != "" {
			fmt.Fprintf(w, "      %s %s\n", st.Bold("fix:"), h.Fix)
		}
	}
	var parts []string
	for _, k := range state.HealthValues() {
		if n := rep.Counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	line := strings.Join(parts, ", ")
	if line == "" {
		line = "nothing checked"
	}
	line += " · checked in " + opsDuration(rep.DurationSeconds)
	if rep.RecordError != "" {
		line += " · not recorded: " + rep.RecordError
	}
	if len(rep.Unhealthy()) > 0 {
		line = st.Red(line)
	} else {
		line = st.Green(line)
	}
	fmt.Fprintln(w, line)
}

// renderOpsHealthChanges prints what changed since the previous check.
func renderOpsHealthChanges(w io.Writer, st ui.Style, rep *regional.HealthReport, trans []regional.ReadyTransition) {
	at := rep.CheckedAt.Local().Format("15:04:05")
	for _, tr := range trans {
		fmt.Fprintf(w, "%s %s\n", st.Dim(at), tr.String())
	}
	for _, h := range rep.Regions {
		if h.Skipped == "" && h.Previous != "" && h.Previous != h.Health {
			msg := fmt.Sprintf("%s: %s → %s", h.Name, h.Previous, opsHealthMark(st, h))
			if len(h.Problems) > 0 {
				msg += ": " + strings.Join(h.Problems, "; ")
			}
			fmt.Fprintf(w, "%s %s\n", st.Dim(at), msg)
		}
	}
}

// ---- rotation ----

// maxSecretSize bounds what is read as a client secret.
const maxSecretSize = 64 << 10

// opsReadSecret reads the new client secret from a file or from standard
// input (without echo on a terminal). It is never taken from a flag value.
func (o *Options) opsReadSecret(file string) ([]byte, error) {
	var data []byte
	switch {
	case file != "":
		fi, err := os.Stat(file)
		if err != nil {
			return nil, usageError(fmt.Errorf("--secret-file: %w", err))
		}
		if fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(o.IO.ErrOut, "Warning: %s can be read by other users (mode %04o); keep secret files at 0600\n", file, fi.Mode().Perm())
		}
		if fi.Size() > maxSecretSize {
			return nil, usageError(fmt.Errorf("--secret-file %s is %d bytes: that is not a client secret", file, fi.Size()))
		}
		if data, err = os.ReadFile(file); err != nil {
			return nil, usageError(fmt.Errorf("--secret-file: %w", err))
		}
	case o.IO.InTerminal:
		f, ok := o.IO.In.(*os.File)
		if !ok {
			return nil, usageError(errors.New("no client secret given: use --secret-file FILE or pipe it on standard input"))
		}
		fmt.Fprint(o.IO.ErrOut, "New client secret of the service principal (input hidden): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(o.IO.ErrOut)
		if err != nil {
			return nil, fmt.Errorf("reading the client secret from the terminal: %w", err)
		}
		data = b
	default:
		b, err := io.ReadAll(io.LimitReader(o.IO.In, maxSecretSize+1))
		if err != nil {
			return nil, fmt.Errorf("reading the client secret from standard input: %w", err)
		}
		if len(b) > maxSecretSize {
			return nil, usageError(errors.New("standard input holds more than 64 KiB: that is not a client secret"))
		}
		data = b
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, usageError(errors.New("the new client secret is empty: give it with --secret-file FILE or on standard input (never as a flag value)"))
	}
	return data, nil
}

func newRegionRotateCredentialsCommand(o *Options) *cobra.Command {
	var secretFile string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rotate-credentials [NAME...]",
		Short: "Put a new Azure client secret in place and verify that every region holds it",
		Long: `Rotate the client secret of the Azure service principal behind the management
Credential's AzureClusterIdentity: the new secret is read from --secret-file or
standard input (never from a flag, so it stays out of shell history and
process lists), written into the identity's Secret on the management cluster,
and k0rdent is made to copy it again into every region (k0rdent 1.5.0 refreshes
those copies when a Credential is updated, so each per-region Credential is
annotated). Then each region (all, or the named ones) is checked until its
copy holds the new secret, compared by hash; the secret is never printed,
logged or recorded. Running ClusterDeployments are not touched.

Exit code 1 when any region does not hold the new secret.`,
		Example: `  k0rdentctl region rotate-credentials --secret-file ./new-secret.txt
  az ad sp credential reset --id $APP --query password -o tsv | k0rdentctl region rotate-credentials`,
		Args:              opsNamesArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := o.opsSetup()
			if err != nil {
				return err
			}
			secret, err := o.opsReadSecret(secretFile)
			if err != nil {
				return err
			}
			sess, _, err := o.openSession(ctx, e.cfg, e.raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			rep, err := (&regional.RotateCredentials{Env: e.regional(o, sess), Secret: secret, RotateOptions: regional.RotateOptions{Names: args, Timeout: timeout, Progress: o.opsProgressFunc()}}).Run(ctx)
			clear(secret)
			if err != nil {
				return err
			}
			return o.opsRotationResult(rep)
		},
	}
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "file holding the new client secret (default: read standard input)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait for each region to hold the new secret (default: timeouts.region_ready)")
	return cmd
}

func newRegionRotateCertificatesCommand(o *Options) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rotate-certificates [NAME...]",
		Short: "Write the management cluster's current registry certificate into every region and verify it",
		Long: `Write the registry certificate Secret the kcm controller runs with (its
--registry-cert-secret-name) from the management cluster into k0rdent's
namespace of every regional cluster (all, or the named ones), through each
region's kubeconfig, and check that each holds identical content.

k0rdent 1.5.0 copies that Secret into a region only when it is missing there
and never updates an existing copy, so after the certificate is renewed on the
management cluster this is how the regions get it. When the kcm controller
runs without a registry certificate there is nothing to rotate, and the
command says so.

Exit code 1 when any region does not hold the certificate.`,
		Example: `  k0rdentctl region rotate-certificates
  k0rdentctl region rotate-certificates regional-useast`,
		Args:              opsNamesArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := o.opsSetup()
			if err != nil {
				return err
			}
			sess, _, err := o.openSession(ctx, e.cfg, e.raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			rep, err := (&regional.RotateCertificates{Env: e.regional(o, sess), RotateOptions: regional.RotateOptions{Names: args, Timeout: timeout, Progress: o.opsProgressFunc()}}).Run(ctx)
			if err != nil {
				return err
			}
			return o.opsRotationResult(rep)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long writing and checking one region may take (default: timeouts.region_ready)")
	return cmd
}

func (o *Options) opsRotationResult(rep *regional.RotationReport) error {
	if o.structured() {
		if err := ui.WriteData(o.IO.Out, o.Output, rep); err != nil {
			return err
		}
	} else {
		renderOpsRotation(o.IO.Out, o.style(), rep)
	}
	if len(rep.Failed()) > 0 {
		return failed(ExitFailed)
	}
	return nil
}

func renderOpsRotation(w io.Writer, st ui.Style, rep *regional.RotationReport) {
	if rep.NotConfigured != "" {
		fmt.Fprintln(w, "Nothing to rotate: "+rep.NotConfigured+".")
		return
	}
	fmt.Fprintln(w)
	switch {
	case rep.Kind == "credentials" && rep.Changed:
		fmt.Fprintf(w, "Management cluster: new client secret written to Secret %s\n", rep.Secret)
	case rep.Kind == "credentials":
		fmt.Fprintf(w, "Management cluster: Secret %s already held this client secret\n", rep.Secret)
	default:
		fmt.Fprintf(w, "Management cluster: registry certificate Secret %s\n", rep.Secret)
	}
	var t ui.Table
	for _, r := range rep.Regions {
		var mark string
		switch r.Status {
		case regional.RotationVerified:
			mark = st.Green(ui.MarkDone) + " " + r.Target + " matches (" + r.Action + ")"
		case regional.RotationFailed:
			mark = st.Red(ui.MarkFailed + " " + r.Error)
		default:
			mark = st.Dim(ui.MarkSkipped + " skipped: " + r.Reason)
		}
		t.Row("  "+r.Name, mark, opsDuration(r.DurationSeconds))
	}
	_ = t.Write(w)
	for _, r := range rep.Regions {
		if r.Fix != "" {
			fmt.Fprintf(w, "  %s %s: %s\n", st.Bold("fix"), r.Name, r.Fix)
		}
	}
	line := fmt.Sprintf("%s rotation: %s in %s", rep.Kind, rep.Summary(), opsDuration(rep.DurationSeconds))
	if rep.RecordError != "" {
		line += " · not recorded: " + rep.RecordError
	}
	if len(rep.Failed()) > 0 {
		fmt.Fprintln(w, st.Red(line))
		return
	}
	fmt.Fprintln(w, st.Green(line))
}

// ---- remove ----

func newRegionRemoveCommand(o *Options) *cobra.Command {
	var force, deleteCluster bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a regional cluster: its Credentials, its Region and (if k0rdentctl created it) its cluster",
		Long: `Remove a regional cluster, in this order, waiting until each is gone:
  1. with --force, the ClusterDeployments placed in the region (through
     Credentials with its spec.region); without --force a region in use is
     refused (exit 3) and they are listed;
  2. the Credentials of the region;
  3. the Region (k0rdent removes the regional components, then its finalizer);
  4. the regional cluster's own ClusterDeployment, if k0rdentctl created it
     (an adopted one is kept unless --delete-cluster);
  5. a kubeconfig Secret k0rdentctl made for an external cluster, and the
     local kubeconfig file.
The record then says removed. It asks for confirmation unless -y is given
(with no terminal and no -y it is refused, exit 3). Remove the region from the
configuration too, or the next region deploy creates it again.`,
		Example: `  k0rdentctl region remove regional-westeu
  k0rdentctl region remove regional-useast --force --delete-cluster -y`,
		ValidArgsFunction: regionNames(o),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("%s takes exactly one regional cluster name, got %d arguments", cmd.CommandPath(), len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
			e, err := o.opsSetup()
			if err != nil {
				return err
			}
			sess, _, err := o.openSession(ctx, e.cfg, e.raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			env := e.regional(o, sess)
			remove := &regional.Remove{Env: env, Name: name, RemoveOptions: regional.RemoveOptions{Force: force, DeleteCluster: deleteCluster, Timeout: timeout, Progress: o.opsProgressFunc()}}
			plan, err := remove.Plan(ctx)
			if err != nil {
				return err
			}
			if plan.Empty() {
				if o.structured() {
					return ui.WriteData(o.IO.Out, o.Output, map[string]any{"plan": plan})
				}
				fmt.Fprintf(o.IO.Out, "Regional cluster %s is removed already: nothing of it is left.\n", name)
				return nil
			}
			if err := plan.Refusal(); err != nil {
				if o.structured() {
					_ = ui.WriteData(o.IO.Out, o.Output, map[string]any{"plan": plan, "refused": err.Error()})
				} else {
					fmt.Fprintf(o.IO.Out, "Regional cluster %s is in use by these ClusterDeployments:\n", name)
					for _, cd := range plan.ClusterDeployments {
						fmt.Fprintf(o.IO.Out, "  %s\n", cd)
					}
				}
				return err // *regional.InUseError: exit 3
			}
			w := o.opsProgress()
			fmt.Fprintf(w, "Removing regional cluster %s:\n", name)
			for i, s := range plan.Steps() {
				fmt.Fprintf(w, "  %d. %s\n", i+1, s)
			}
			for _, warn := range plan.Warnings {
				fmt.Fprintf(w, "  %s %s\n", o.style().Yellow("warning:"), warn)
			}
			if err := o.confirm(fmt.Sprintf("Remove regional cluster %s?", name)); err != nil {
				return err
			}
			rep, err := remove.Run(ctx, plan)
			if err != nil {
				return err
			}
			if o.structured() {
				if err := ui.WriteData(o.IO.Out, o.Output, map[string]any{"plan": plan, "result": rep}); err != nil {
					return err
				}
			} else {
				renderOpsRemoval(o.IO.Out, o.style(), rep)
			}
			if rep.Status != state.RegionalRemoved {
				return failed(ExitFailed)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete the ClusterDeployments placed in the region first (otherwise a region in use is refused)")
	cmd.Flags().BoolVar(&deleteCluster, "delete-cluster", false, "also delete an adopted regional ClusterDeployment (one k0rdentctl created is always deleted)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait for each deleted object to be gone (default: timeouts.region_ready)")
	return cmd
}

func renderOpsRemoval(w io.Writer, st ui.Style, rep *regional.RemovalReport) {
	for _, s := range rep.Steps {
		var mark string
		switch s.Action {
		case "deleted":
			mark = st.Green(ui.MarkDone) + " deleted"
		case "absent":
			mark = st.Dim(ui.MarkSkipped + " already gone")
		case "kept":
			mark = st.Yellow("kept")
		default:
			mark = st.Red(ui.MarkFailed + " " + s.Action)
		}
		line := "  " + mark + "  " + s.Kind + " " + s.Object
		if s.Detail != "" && s.Action != "failed" {
			line += " (" + s.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	if rep.Status == state.RegionalRemoved {
		fmt.Fprintln(w, st.Green(fmt.Sprintf("regional cluster %s removed in %s", rep.Region, opsDuration(rep.DurationSeconds))))
		return
	}
	fmt.Fprintln(w, st.Red(fmt.Sprintf("removing regional cluster %s failed: %s", rep.Region, rep.Error)))
	if rep.Fix != "" {
		fmt.Fprintf(w, "  %s %s\n", st.Bold("fix:"), rep.Fix)
	}
}

// ---- cleanup ----

func newRegionCleanupCommand(o *Options) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Find and remove what k0rdentctl left behind for regional clusters that no longer exist",
		Long: `Find the orphans of regional clusters and remove them after confirmation:
Regions and Credentials that k0rdentctl created for this deployment but that
are neither in the configuration nor in the record any more, regional
ClusterDeployments k0rdentctl created that were left half-created by a failed
deploy (or belong to such a region), and kubeconfig files of regional clusters
that no longer exist. Objects of other deployments, and regions that
ClusterDeployments still use (for k0rdentctl region remove --force), are listed
but left.

It asks for confirmation unless -y is given (with no terminal and no -y it is
refused, exit 3). Exit code 1 when an orphan could not be removed.`,
		Example: `  k0rdentctl region cleanup
  k0rdentctl region cleanup -y -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := o.opsSetup()
			if err != nil {
				return err
			}
			sess, _, err := o.openSession(ctx, e.cfg, e.raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			env := e.regional(o, sess)
			cleanup := &regional.Cleanup{Env: env, CleanupOptions: regional.CleanupOptions{Timeout: timeout, Progress: o.opsProgressFunc()}}
			plan, err := cleanup.Plan(ctx)
			if err != nil {
				return err
			}
			w := o.opsProgress()
			for _, k := range plan.Kept {
				fmt.Fprintf(w, "  left: %s: %s\n", k.Ref(), k.Reason)
			}
			if len(plan.Orphans) == 0 {
				if o.structured() {
					return ui.WriteData(o.IO.Out, o.Output, map[string]any{"plan": plan, "result": regional.CleanupReport{Removed: []regional.Orphan{}}})
				}
				fmt.Fprintln(o.IO.Out, "No orphans found: nothing to clean up.")
				return nil
			}
			fmt.Fprintf(w, "Orphans of regional clusters (%d):\n", len(plan.Orphans))
			for _, orph := range plan.Orphans {
				fmt.Fprintf(w, "  %s: %s\n", orph.Ref(), orph.Reason)
			}
			if err := o.confirm(fmt.Sprintf("Remove these %d orphans?", len(plan.Orphans))); err != nil {
				return err
			}
			rep, err := cleanup.Run(ctx, plan)
			if err != nil && rep == nil {
				return err
			}
			if o.structured() {
				if werr := ui.WriteData(o.IO.Out, o.Output, map[string]any{"plan": plan, "result": rep}); werr != nil {
					return werr
				}
			} else {
				st := o.style()
				for _, r := range rep.Removed {
					fmt.Fprintf(o.IO.Out, "  %s removed %s\n", st.Green(ui.MarkDone), r.Ref())
				}
				for _, f := range rep.Failed {
					fmt.Fprintf(o.IO.Out, "  %s %s: %s\n      %s %s\n", st.Red(ui.MarkFailed), f.Ref(), f.Error, st.Bold("fix:"), f.Fix)
				}
				fmt.Fprintf(o.IO.Out, "cleanup: %d removed, %d failed in %s\n", len(rep.Removed), len(rep.Failed), opsDuration(rep.DurationSeconds))
			}
			if err != nil {
				return err
			}
			if len(rep.Failed) > 0 {
				return failed(ExitFailed)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait for each deleted object to be gone (default: timeouts.region_ready)")
	return cmd
}
