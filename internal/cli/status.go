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
	DeploymentID string            `json:"deployment_id,omitempty"`
	Name         string            `json:"name,omitempty"`
	Status       string            `json:"status"`
	Config       statusConfig      `json:"config"`
	Phases       []statusPhase     `json:"phases"`
	Timeline     statusTimeline    `json:"timeline"`
	Counts       map[string]int    `json:"counts"`
	Paths        statusPaths       `json:"paths"`
	K0rdent      *state.K0rdent    `json:"k0rdent,omitempty"`
	Regional     []regionalSummary `json:"regions,omitempty"`
	Next         []string          `json:"next"`
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

func newStatusCommand(o *Options) *cobra.Command {
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the deployment: phases, timeline, where things live and what to do next",
		Long: `Show the deployment recorded in the state folder: its overall status (DEPLOYED,
IN PROGRESS, FAILED or NOT DEPLOYED), a summary of the configuration, every phase
with its mark and duration, the timeline, where the kubeconfigs and the record
live, and the next command to run. It reads the record only; it changes nothing.`,
		Example: `  k0rdentctl status
  k0rdentctl status --watch
  k0rdentctl status -o json | jq .next`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !watch {
				return o.printStatus(ctx, o.IO.Out)
			}
			if o.structured() {
				return usageError(errors.New("--watch shows a live table; for scripts poll k0rdentctl status -o json"))
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				if o.IO.OutTerminal {
					fmt.Fprint(o.IO.Out, "\x1b[H\x1b[2J")
				}
				if err := o.printStatus(ctx, o.IO.Out); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "refresh until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "refresh interval with --watch")
	return cmd
}

func (o *Options) printStatus(ctx context.Context, w io.Writer) error {
	cfg, raw, err := o.optionalConfig()
	if err != nil {
		return err
	}
	s, err := o.store()
	if err != nil {
		return err
	}
	v := statusView{Counts: map[string]int{}, Paths: statusPaths{State: o.StateDir}}
	v.Config.Path = o.ConfigPath
	if cfg != nil {
		v.Config.Summary = configSummary(cfg)
	}
	rec, err := o.currentRecord(ctx, s, cfg)
	switch {
	case errors.Is(err, state.ErrNotFound):
		v.Status = "NOT DEPLOYED"
		if cfg == nil {
			v.Next = []string{"k0rdentctl config init --template small", "k0rdentctl config validate", "k0rdentctl plan"}
		} else {
			v.Next = []string{"k0rdentctl plan" + configFlag(o)}
		}
	case err != nil:
		return err
	default:
		v.fill(o, s, rec, raw)
	}
	if v.Phases == nil {
		v.Phases = []statusPhase{}
	}
	var rerr error
	err = o.emitTo(w, v, func(w io.Writer, st ui.Style) { rerr = renderStatus(w, st, o.now(), v) })
	return errors.Join(err, rerr)
}

func (v *statusView) fill(o *Options, s *state.FileStore, rec *state.Record, raw []byte) {
	v.DeploymentID, v.Name, v.Status = rec.DeploymentID, rec.Name, rec.Overall()
	v.Config.Hash = rec.Config.Hash
	if raw != nil && rec.Config.Hash != "" && config.Hash(raw) != rec.Config.Hash {
		v.Config.Changed = true
	}
	v.Paths.State = s.Location(rec.DeploymentID)
	for _, p := range rec.Phases {
		v.Phases = append(v.Phases, statusPhase{Name: p.Name, Title: p.Title, Region: p.Region, Status: string(p.Status),
			StartedAt: p.StartedAt, EndedAt: p.EndedAt, DurationSeconds: p.DurationSeconds, Attempts: p.Attempts,
			LastError: p.LastError, Reason: p.Reason})
		v.Counts[string(p.Status)]++
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
	v.Next = nextSteps(o, rec, v.Config.Changed)
}

// nextSteps says what to run given the record.
func nextSteps(o *Options, rec *state.Record, changed bool) []string {
	c := configFlag(o)
	var next []string
	if changed {
		next = append(next, "the configuration changed since the last run; see what would change: k0rdentctl plan"+c)
	}
	switch rec.Overall() {
	case "FAILED":
		for _, p := range rec.Phases {
			if p.Status == state.PhaseFailed {
				next = append(next, fmt.Sprintf("phase %s failed: %s", p.Name, firstLine(p.LastError)))
				break
			}
		}
		next = append(next, "fix the cause, then resume (completed phases are verified, not redone): k0rdentctl deploy"+c,
			"history of the failure: k0rdentctl events --type phase_failed"+c)
	case "IN PROGRESS":
		next = append(next, "follow it: k0rdentctl status --watch"+c,
			"if the run was interrupted, run the same command again to resume")
	case "DEPLOYED":
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
	}
	return ui.MarkPending
}

func renderStatus(w io.Writer, st ui.Style, now time.Time, v statusView) error {
	headline := v.Status
	switch v.Status {
	case "DEPLOYED":
		headline = st.Green(v.Status)
	case "FAILED":
		headline = st.Red(v.Status)
	case "IN PROGRESS":
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
		var t ui.Table
		for _, p := range v.Phases {
			d := "-"
			if p.DurationSeconds > 0 {
				d = ui.Duration(time.Duration(p.DurationSeconds * float64(time.Second)))
			} else if p.Status == string(state.PhaseInProgress) && p.StartedAt != nil {
				d = ui.Duration(now.Sub(*p.StartedAt).Round(time.Second)) + " so far"
			}
			note := p.Reason
			if p.LastError != "" {
				note = st.Red(firstLine(p.LastError))
			}
			title := p.Title
			if title == "" {
				title = p.Name
			}
			t.Row("  "+phaseMark(st, p.Status), title, p.Status, d, note)
		}
		_ = t.Write(w)
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
	fmt.Fprintf(w, "State     %s\n", v.Paths.State)
	for _, k := range v.Paths.Kubeconfigs {
		fmt.Fprintf(w, "Kubeconfig %s\n", k)
	}
	if len(v.Next) > 0 {
		fmt.Fprintln(w, "\nNext")
		for _, n := range v.Next {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	return nil
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
