package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// statusView is what status shows; -o json prints it as it is.
type statusView struct {
	DeploymentID string         `json:"deployment_id,omitempty"`
	Name         string         `json:"name,omitempty"`
	Status       string         `json:"status"`
	Config       statusConfig   `json:"config"`
	Phases       []statusPhase  `json:"phases"`
	Timeline     statusTimeline `json:"timeline"`
	Counts       map[string]int `json:"counts"`
	Paths        statusPaths    `json:"paths"`
	Backend      statusBackend  `json:"backend"`
	// Events is how many events the deployment has; RecentEvents the
	// latest of them (the record carries them: status never reads the log).
	Events       int               `json:"events"`
	RecentEvents []state.Event     `json:"recent_events,omitempty"`
	K0rdent      *state.K0rdent    `json:"k0rdent,omitempty"`
	Regional     []regionalSummary `json:"regions,omitempty"`
	KOF          *state.KOF        `json:"kof,omitempty"`
	// Azure is the management cluster's Azure side (mode azure).
	Azure *state.AzureManagement `json:"azure,omitempty"`
	// StoppedRun is the run whose process is gone although the record says
	// it was running (INTERRUPTED).
	StoppedRun *stoppedRun `json:"stopped_run,omitempty"`
	Next       []string    `json:"next"`
}

type stoppedRun struct {
	PID  int    `json:"pid,omitempty"`
	Host string `json:"host,omitempty"`
	Note string `json:"note"`
}

// statusRecentEvents is how many of the latest events status shows.
const statusRecentEvents = 5

// statusBackend says where the record lives and who works on it now.
type statusBackend struct {
	Name     string      `json:"name"`
	Location string      `json:"location"`
	Lock     *statusLock `json:"lock,omitempty"`
}

type statusLock struct {
	Holder  string     `json:"holder"`
	Since   time.Time  `json:"since"`
	Expires *time.Time `json:"expires,omitempty"`
}

type statusConfig struct {
	Path    string         `json:"path"`
	Hash    string         `json:"hash,omitempty"`
	Changed bool           `json:"changed"`
	Summary map[string]any `json:"summary,omitempty"`
}

type statusPhase struct {
	Name            string     `json:"name"`
	Title           string     `json:"title,omitempty"`
	Region          string     `json:"region,omitempty"`
	Status          string     `json:"status"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds"`
	Attempts        int        `json:"attempts,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	Reason          string     `json:"reason,omitempty"`
}

type statusTimeline struct {
	StartedAt       *time.Time `json:"started_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds"`
}

type statusPaths struct {
	State       string   `json:"state"`
	Kubeconfigs []string `json:"kubeconfigs,omitempty"`
}

type regionalSummary struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Health string `json:"health,omitempty"`
}

// statusOptions are the flags of `k0rdentctl status`.
type statusOptions struct {
	*Options
	Watch    bool
	Interval time.Duration
}

func newStatusCommand(o *Options) *cobra.Command {
	so := &statusOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the deployment: phases, timeline, where things live and what to do next",
		Long: `Show the deployment recorded in the state folder: its overall status (DEPLOYED,
IN PROGRESS, FAILED, INTERRUPTED or NOT DEPLOYED), a summary of the configuration,
every phase with its mark and duration, the timeline, where the kubeconfigs and
the record live, and the next command to run. It reads the record only; it
changes nothing.

INTERRUPTED means the last run was stopped (Ctrl-C, SIGTERM) or its process
died (a run whose lock holder no longer runs on this host); running the command
shown under Next resumes it. Lines are fitted to the terminal's width; -o json
has the full text of every error.

Exit code 1 when the deployment FAILED or was INTERRUPTED, as region status
exits 1 when a region failed.`,
		Example: `  k0rdentctl status
  k0rdentctl status --watch
  k0rdentctl status -o json | jq .next`,
		RunE: func(cmd *cobra.Command, _ []string) error { return so.run(cmd.Context()) },
	}
	cmd.Flags().BoolVarP(&so.Watch, "watch", "w", false, "refresh until interrupted")
	cmd.Flags().DurationVar(&so.Interval, "interval", 2*time.Second, "refresh interval with --watch")
	return cmd
}

// run shows the status once, or with --watch until interrupted.
func (so *statusOptions) run(ctx context.Context) error {
	if !so.Watch {
		v, err := so.show(ctx, so.IO.Out)
		if err != nil {
			return err
		}
		if v.Status == state.OverallFailed || v.Status == state.OverallInterrupted {
			return failed(ExitFailed)
		}
		return nil
	}
	if so.structured() {
		return usageError(errors.New("--watch shows a live table; for scripts poll k0rdentctl status -o json"))
	}
	if so.Interval <= 0 {
		return usageError(fmt.Errorf("--interval %s: use a positive duration such as 2s", so.Interval))
	}
	t := time.NewTicker(so.Interval)
	defer t.Stop()
	for {
		if so.IO.OutTerminal {
			fmt.Fprint(so.IO.Out, "\x1b[H\x1b[2J")
		}
		if _, err := so.show(ctx, so.IO.Out); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// show prints the status and returns what it showed.
func (so *statusOptions) show(ctx context.Context, w io.Writer) (*statusView, error) {
	o := so.Options
	cfg, raw, err := o.optionalConfig()
	if err != nil {
		return nil, err
	}
	s, err := o.store()
	if err != nil {
		return nil, err
	}
	v := &statusView{Counts: map[string]int{}, Paths: statusPaths{State: o.StateDir}, Backend: statusBackend{Name: o.backendName(), Location: state.Where(s)}}
	v.Config.Path = o.ConfigPath
	if cfg != nil {
		v.Config.Summary = configSummary(cfg)
	}
	rec, err := o.currentSummary(ctx, s, cfg)
	switch {
	case errors.Is(err, state.ErrNotFound):
		v.Status = state.OverallNotDeployed
		if cfg == nil {
			v.Next = []string{"k0rdentctl config init --template existing", "k0rdentctl config validate", "k0rdentctl plan"}
		} else {
			v.Next = []string{"k0rdentctl plan" + configFlag(o)}
		}
	case err != nil:
		return nil, err
	default:
		holder, err := state.HolderOf(s, rec.DeploymentID)
		if err != nil {
			return nil, err
		}
		v.fill(o, s, rec, raw, holder)
	}
	if v.Phases == nil {
		v.Phases = []statusPhase{}
	}
	var rerr error
	err = o.emitTo(w, v, func(w io.Writer, st ui.Style) {
		var b strings.Builder
		if rerr = renderStatus(&b, st, o.now(), *v, o.IO.Width); rerr != nil {
			return
		}
		_, rerr = io.WriteString(w, ui.FitLines(b.String(), o.IO.Width))
	})
	if err != nil || rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return v, nil
}

func (v *statusView) fill(o *Options, s state.Store, rec *state.Record, raw []byte, holder *state.LockHolder) {
	v.DeploymentID, v.Name, v.Status = rec.DeploymentID, rec.Name, rec.Overall()
	// A run in progress whose process is gone (killed, crashed) stopped
	// without finishing: it is interrupted, not in progress.
	stopped := v.Status == state.OverallInProgress && (holder == nil || !holder.Running)
	if stopped {
		v.Status = state.OverallInterrupted
		v.StoppedRun = &stoppedRun{Note: "the last run stopped without finishing: no k0rdentctl holds the deployment's lock"}
		if holder != nil {
			v.StoppedRun.PID, v.StoppedRun.Host = holder.PID, holder.Host
			v.StoppedRun.Note = fmt.Sprintf("the last run (pid %d on host %s) stopped without finishing: the process is gone", holder.PID, holder.Host)
		}
	}
	v.Config.Hash = rec.Config.Hash
	if raw != nil && rec.Config.Hash != "" && config.Hash(raw) != rec.Config.Hash {
		v.Config.Changed = true
	}
	v.Paths.State = s.Location(rec.DeploymentID)
	v.Events, v.RecentEvents = len(rec.Events), rec.Events
	if rec.EventLog != nil {
		v.Events = rec.EventLog.Count
	}
	if n := len(v.RecentEvents); n > statusRecentEvents {
		v.RecentEvents = v.RecentEvents[n-statusRecentEvents:]
	}
	v.Backend.Location = v.Paths.State
	if h := holder; h != nil && h.Running {
		l := &statusLock{Holder: fmt.Sprintf("pid %d on %s", h.PID, h.Host), Since: h.Since}
		if h.User != "" {
			l.Holder = h.User + ", " + l.Holder
		}
		if h.Command != "" {
			l.Holder += " (" + h.Command + ")"
		}
		if !h.Expires.IsZero() {
			l.Expires = &h.Expires
		}
		v.Backend.Lock = l
	}
	for _, p := range rec.Phases {
		sp := statusPhase{Name: p.Name, Title: p.Title, Region: p.Region, Status: string(p.Status),
			StartedAt: p.StartedAt, EndedAt: p.EndedAt, DurationSeconds: p.DurationSeconds, Attempts: p.Attempts,
			LastError: p.LastError, Reason: p.Reason}
		switch {
		case p.Status == state.PhaseInProgress && stopped:
			sp.Status, sp.Reason = string(state.PhaseInterrupted), "its run stopped while it ran"
		case p.Status == state.PhaseInProgress:
			sp.LastError = "" // a running phase has no error yet
		}
		v.Phases = append(v.Phases, sp)
		v.Counts[sp.Status]++
		if p.StartedAt != nil && (v.Timeline.StartedAt == nil || p.StartedAt.Before(*v.Timeline.StartedAt)) {
			v.Timeline.StartedAt = p.StartedAt
		}
		if p.EndedAt != nil && (v.Timeline.EndedAt == nil || p.EndedAt.After(*v.Timeline.EndedAt)) {
			v.Timeline.EndedAt = p.EndedAt
		}
	}
	if v.Timeline.StartedAt != nil && v.Timeline.EndedAt != nil {
		v.Timeline.DurationSeconds = v.Timeline.EndedAt.Sub(*v.Timeline.StartedAt).Seconds()
	}
	if rec.Management.KubeconfigPath != "" {
		v.Paths.Kubeconfigs = append(v.Paths.Kubeconfigs, rec.Management.KubeconfigPath)
	}
	for _, c := range rec.K0rdentRegional.Clusters {
		v.Regional = append(v.Regional, regionalSummary{Name: c.Name, Type: c.Type, Status: c.Status, Health: c.Health})
		if c.KubeconfigPath != "" {
			v.Paths.Kubeconfigs = append(v.Paths.Kubeconfigs, c.KubeconfigPath)
		}
	}
	if rec.K0rdent.Version != "" || rec.K0rdent.Chart != "" {
		k := rec.K0rdent
		v.K0rdent = &k
	}
	v.KOF = rec.KOF
	v.Azure = rec.Management.Azure
	v.Next = nextSteps(o, rec, v, holder)
}

// nextSteps says what to run given the record: the command that resumes the
// last run is the one that ran it (recorded with its flags), and a failed
// region is retried with region deploy.
func nextSteps(o *Options, rec *state.Record, v *statusView, holder *state.LockHolder) []string {
	c := configFlag(o)
	var next []string
	if v.Config.Changed {
		next = append(next, "the configuration changed since the last run; see what would change: k0rdentctl plan"+c)
	}
	resume := rec.ResumeCommand
	if resume == "" {
		resume = resumeCommand(o, "deploy")
	}
	switch v.Status {
	case state.OverallFailed:
		for _, p := range rec.Phases {
			if p.Status != state.PhaseFailed {
				continue
			}
			next = append(next, fmt.Sprintf("phase %s failed: %s", p.Name, firstLine(p.LastError)))
			if p.Region != "" && !strings.Contains(resume, "region deploy") && !strings.Contains(resume, "--with-regional") {
				resume = resumeCommand(o, "region", "deploy", p.Region)
			}
			break
		}
		next = append(next, "fix the cause, then resume (completed phases are verified, not redone): "+resume,
			"history of the failure: k0rdentctl events --type phase_failed"+c)
	case state.OverallInterrupted:
		if v.StoppedRun != nil {
			next = append(next, v.StoppedRun.Note)
		}
		next = append(next, "resume (completed phases are verified, not redone): "+resume)
	case state.OverallInProgress:
		if holder != nil && holder.PID != 0 {
			next = append(next, fmt.Sprintf("running: pid %d on host %s since %s", holder.PID, holder.Host, holder.Since.UTC().Format(time.RFC3339)))
		}
		next = append(next, "follow it: k0rdentctl status --watch"+c)
	case state.OverallDeployed:
		if rec.K0rdent.Version != "" {
			next = append(next, "k0rdent: k0rdentctl k0rdent status"+c)
		}
		if len(rec.K0rdentRegional.Clusters) > 0 {
			next = append(next, "regional clusters: k0rdentctl region status"+c)
		}
		next = append(next, "event log: k0rdentctl events"+c)
	default:
		next = append(next, "k0rdentctl plan"+c)
	}
	return next
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func phaseMark(st ui.Style, status string) string {
	switch state.PhaseStatus(status) {
	case state.PhaseCompleted:
		return st.Green(ui.MarkDone)
	case state.PhaseFailed:
		return st.Red(ui.MarkFailed)
	case state.PhaseSkipped:
		return st.Dim(ui.MarkSkipped)
	case state.PhaseInProgress:
		return st.Yellow(ui.MarkRunning)
	case state.PhaseInterrupted:
		return st.Yellow(ui.MarkInterrupted)
	}
	return ui.MarkPending
}

// renderStatus writes the status table; width (0: none) bounds the phase
// table's last column, so that a long error does not make a long line (the
// caller fits the other lines; -o json has the full text).
func renderStatus(w io.Writer, st ui.Style, now time.Time, v statusView, width int) error {
	headline := v.Status
	switch v.Status {
	case state.OverallDeployed:
		headline = st.Green(v.Status)
	case state.OverallFailed:
		headline = st.Red(v.Status)
	case state.OverallInProgress, state.OverallInterrupted:
		headline = st.Yellow(v.Status)
	}
	if v.DeploymentID != "" {
		fmt.Fprintf(w, "%s  %s", st.Bold(v.DeploymentID), headline)
		if v.Name != "" {
			fmt.Fprintf(w, "  (%s)", v.Name)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "%s\n", headline)
	}
	if len(v.Config.Summary) > 0 {
		keys := make([]string, 0, len(v.Config.Summary))
		for k := range v.Config.Summary {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %v", k, v.Config.Summary[k]))
		}
		fmt.Fprintf(w, "config  %s: %s\n", v.Config.Path, strings.Join(parts, " · "))
	}
	if v.Config.Changed {
		fmt.Fprintln(w, st.Yellow("        changed since the last run"))
	}
	if len(v.Phases) > 0 {
		fmt.Fprintln(w, "\nPhases")
		writePhaseTable(w, st, now, v.Phases, width)
	}
	if v.Timeline.StartedAt != nil {
		fmt.Fprintf(w, "\nTimeline  started %s (%s)", v.Timeline.StartedAt.UTC().Format(time.RFC3339), ui.Ago(now, *v.Timeline.StartedAt))
		if v.Timeline.EndedAt != nil && v.Status != "IN PROGRESS" {
			fmt.Fprintf(w, ", last step ended %s, %s in all", v.Timeline.EndedAt.UTC().Format(time.RFC3339), ui.Duration(time.Duration(v.Timeline.DurationSeconds*float64(time.Second))))
		}
		fmt.Fprintln(w)
	}
	if v.K0rdent != nil && v.K0rdent.Version != "" {
		ready := "not ready"
		if v.K0rdent.Ready {
			ready = "ready"
		}
		fmt.Fprintf(w, "k0rdent   %s (%s, namespace %s)\n", v.K0rdent.Version, ready, v.K0rdent.Namespace)
	}
	if len(v.Regional) > 0 {
		counts := map[string]int{}
		for _, r := range v.Regional {
			counts[r.Status]++
		}
		fmt.Fprintf(w, "Regions   %d: %s\n", len(v.Regional), countsLine(counts))
	}
	if a := v.Azure; a != nil {
		fmt.Fprintf(w, "Azure     resource group %s in %s (subscription %s)\n", dash(a.ResourceGroup), a.Location, a.SubscriptionID)
		for _, vm := range a.VMs {
			fmt.Fprintf(w, "  %-18s %-10s %-16s zone %-2s %-8s private %-15s public %-15s wg %s\n",
				vm.Name, vm.Role, vm.Size, dash(vm.Zone), vm.Priority, dash(vm.PrivateIP), dash(vm.PublicIP), dash(vm.WireGuardIP))
		}
		if a.WireGuardConfig != "" {
			ssh := "public SSH open until k0rdentctl vpn lockdown"
			if a.SSHLockedDown {
				ssh = "public SSH closed (vpn lockdown)"
			}
			fmt.Fprintf(w, "VPN       %s; k0rdentctl vpn up (or sudo wg-quick up %s); %s\n", a.WireGuardConfig, a.WireGuardConfig, ssh)
		}
	}
	if k := v.KOF; k != nil {
		if len(k.Releases) > 0 {
			names := make([]string, 0, len(k.Releases))
			for _, r := range k.Releases {
				names = append(names, fmt.Sprintf("%s %s", r.Name, r.ChartVersion))
			}
			fmt.Fprintf(w, "KOF       %s: %s\n", k.Version, strings.Join(names, ", "))
		}
		for _, r := range k.Regional {
			where := "management cluster"
			if r.Region != "" {
				where = "region " + r.Region
			}
			ready := "not ready"
			if r.Ready {
				ready = "ready"
			}
			fmt.Fprintf(w, "KOF regional %s/%s (%s, %s): %s", r.Namespace, r.Name, where, dash(r.Location), ready)
			if e := r.Endpoints["read_metrics_endpoint"]; e != "" {
				fmt.Fprintf(w, ", metrics %s", e)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "State     %s (backend %s)\n", v.Paths.State, v.Backend.Name)
	if l := v.Backend.Lock; l != nil {
		line := fmt.Sprintf("Lock      held by %s since %s", l.Holder, l.Since.UTC().Format(time.RFC3339))
		if l.Expires != nil {
			line += ", lease runs out " + l.Expires.UTC().Format(time.RFC3339) + " unless renewed"
		}
		fmt.Fprintln(w, line)
	}
	for _, k := range v.Paths.Kubeconfigs {
		fmt.Fprintf(w, "Kubeconfig %s\n", k)
	}
	if len(v.RecentEvents) > 0 {
		fmt.Fprintf(w, "\nLast events (%d of %d; all: k0rdentctl events)\n", len(v.RecentEvents), v.Events)
		for _, e := range v.RecentEvents {
			fmt.Fprintf(w, "  %s  %s\n", e.Timestamp.UTC().Format(time.RFC3339), e.Message)
		}
	}
	if len(v.Next) > 0 {
		fmt.Fprintln(w, "\nNext")
		for _, n := range v.Next {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	return nil
}

// writePhaseTable writes one row per phase: mark, title, status, duration
// and a note (the reason, or the first line of the error), the note cut to
// what width leaves.
func writePhaseTable(w io.Writer, st ui.Style, now time.Time, phases []statusPhase, width int) {
	type row struct{ mark, title, status, dur, note string }
	rows := make([]row, 0, len(phases))
	cols := [4]int{}
	for _, p := range phases {
		r := row{mark: "  " + phaseMark(st, p.Status), title: p.Title, status: p.Status, dur: "-", note: p.Reason}
		if p.DurationSeconds > 0 {
			r.dur = ui.Duration(time.Duration(p.DurationSeconds * float64(time.Second)))
		} else if p.Status == string(state.PhaseInProgress) && p.StartedAt != nil {
			r.dur = ui.Duration(now.Sub(*p.StartedAt).Round(time.Second)) + " so far"
		}
		if p.LastError != "" {
			r.note = firstLine(p.LastError)
		}
		if r.title == "" {
			r.title = p.Name
		}
		for i, c := range []string{r.mark, r.title, r.status, r.dur} {
			cols[i] = max(cols[i], ui.VisibleWidth(c))
		}
		rows = append(rows, r)
	}
	// Columns are padded by their visible width (colour codes take none).
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(n-ui.VisibleWidth(s), 0)) }
	lead := cols[0] + cols[1] + cols[2] + cols[3] + 4*2
	for i, r := range rows {
		line := pad(r.mark, cols[0]) + "  " + pad(r.title, cols[1]) + "  " + pad(r.status, cols[2]) + "  " + pad(r.dur, cols[3])
		note, room, below := r.note, 0, false
		if width > 0 {
			room = width - lead
			if room < 24 && note != "" {
				// Too little room beside the row: the note goes under it.
				room, below = width-cols[0]-2, true
			}
		}
		note = ui.Truncate(note, room)
		if phases[i].LastError != "" {
			note = st.Red(note)
		}
		switch {
		case r.note == "":
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		case below:
			fmt.Fprintf(w, "%s\n%s%s\n", strings.TrimRight(line, " "), strings.Repeat(" ", cols[0]+2), note)
		default:
			fmt.Fprintf(w, "%s  %s\n", line, note)
		}
	}
}

func countsLine(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return strings.Join(parts, ", ")
}

// configSummary is the one-line view of a configuration.
func configSummary(cfg *config.Config) map[string]any {
	m := map[string]any{
		"management": cfg.Management.Mode,
		"k0rdent":    cfg.Software.K0rdent.Version,
	}
	if cfg.Azure.Location != "" {
		m["location"] = cfg.Azure.Location
	}
	if cfg.RegionalEnabled() {
		m["regions"] = len(cfg.Software.K0rdent.Regional.Clusters)
	}
	if cfg.KOFEnabled() {
		m["kof"] = cfg.KOF.Version
	}
	if n := len(cfg.ChildClusters); n > 0 {
		m["child_clusters"] = n
	}
	return m
}
