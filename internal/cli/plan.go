package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/infra"
	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

type planView struct {
	DeploymentID string               `json:"deployment_id,omitempty"`
	Name         string               `json:"name"`
	ConfigHash   string               `json:"config_hash"`
	Phases       []planPhase          `json:"phases"`
	Unavailable  []deploy.Unavailable `json:"unavailable"`
	Counts       map[string]int       `json:"counts"`
	// AzureResources are what management.mode azure creates in Azure.
	AzureResources []infra.Planned `json:"azure_resources,omitempty"`
}

type planPhase struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Region   string   `json:"region,omitempty"`
	Requires []string `json:"requires"`
	Level    int      `json:"level"`
	Wanted   bool     `json:"wanted"`
	Reason   string   `json:"reason,omitempty"`
	Recorded string   `json:"recorded,omitempty"`
	Actions  []string `json:"actions"`
	Error    string   `json:"error,omitempty"`
}

// planOptions are the options of `plan`.
type planOptions struct {
	*Options
	WithRegional bool
	WithChildren bool
	WithKOF      bool
}

func newPlanCommand(o *Options) *cobra.Command {
	po := &planOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what deploy would do, phase by phase, without credentials or network",
		Long: `Show what k0rdentctl deploy would do with the configuration: every phase in
order, what it depends on, and what it would create or change. Phases on the
same level are independent and run at the same time. Nothing is contacted and
nothing changes; no credentials are needed.

When a deployment record exists, each phase also shows what was recorded: a
completed phase is verified on the next deploy and run again only when what it
did is no longer in place.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return po.run(cmd.Context()) },
	}
	cmd.Flags().BoolVar(&po.WithRegional, "with-regional", false, "include the k0rdent regional clusters, as deploy --with-regional does")
	cmd.Flags().BoolVar(&po.WithChildren, "with-children", false, "include the child clusters, as deploy --with-children does")
	cmd.Flags().BoolVar(&po.WithKOF, "with-kof", false, "include the KOF install, as deploy --with-kof does")
	retiredExperimentalAzure(o, cmd)
	return cmd
}

func (o *planOptions) run(ctx context.Context) error {
	cfg, raw, err := o.loadConfig()
	if err != nil {
		return err
	}
	env := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
	phases, missing, err := deploy.Phases(env, deploy.Options{WithRegional: o.WithRegional, WithChildren: o.WithChildren, WithKOF: o.WithKOF})
	if err != nil {
		return usageError(err)
	}
	eng := &phase.Engine{}
	v := planView{Name: cfg.Metadata.Name, ConfigHash: config.Hash(raw), Unavailable: missing, Counts: map[string]int{}}
	// Show what was recorded, read-only: plan never takes the lock
	// and creates nothing.
	if _, err := os.Stat(o.StateDir); err != nil {
		// no state folder: nothing recorded yet
	} else if s, err := o.store(); err == nil {
		if rec, err := o.currentRecord(ctx, s, cfg); err == nil {
			v.DeploymentID = rec.DeploymentID
			eng.Journal = recordJournal{rec}
		} else if !errors.Is(err, state.ErrNotFound) {
			return err
		}
	}
	if cfg.Management.Mode == config.ModeAzure {
		id := v.DeploymentID
		if id == "" {
			id = "<deployment-id>"
		}
		v.AzureResources = infra.FromConfig(cfg, id, o.now(), "", nil).Planned()
	}
	p, err := eng.Plan(ctx, phases)
	if p == nil {
		return err
	}
	for _, s := range p.Steps {
		pp := planPhase{Name: s.Name, Title: s.Title, Region: s.Group, Requires: s.Requires, Level: s.Level,
			Wanted: s.Wanted, Reason: s.Reason, Recorded: string(s.Recorded), Actions: s.Lines}
		if pp.Requires == nil {
			pp.Requires = []string{}
		}
		if pp.Actions == nil {
			pp.Actions = []string{}
		}
		if s.Err != nil {
			pp.Error = s.Err.Error()
		}
		if s.Wanted {
			v.Counts["run"]++
		} else {
			v.Counts["skip"]++
		}
		v.Phases = append(v.Phases, pp)
	}
	if werr := o.emit(v, func(w io.Writer, st ui.Style) { renderPlan(w, st, o.ConfigPath, v) }); werr != nil {
		return werr
	}
	return err
}

// recordJournal shows a record's phase statuses to the plan, read-only.
type recordJournal struct{ rec *state.Record }

func (j recordJournal) PhaseStatus(name string) state.PhaseStatus {
	if p := j.rec.Phase(name); p != nil {
		return p.Status
	}
	return ""
}

func (j recordJournal) RecordPhase(state.PhaseTransition) error {
	return errors.New("plan changes nothing")
}

func renderPlan(w io.Writer, st ui.Style, path string, v planView) {
	head := fmt.Sprintf("Plan for %s from %s: %s", st.Bold(v.Name), path, plural(v.Counts["run"], "phase"))
	if n := v.Counts["skip"]; n > 0 {
		head += fmt.Sprintf(", %d skipped", n)
	}
	fmt.Fprintln(w, head)
	if v.DeploymentID != "" {
		fmt.Fprintf(w, "Deployment %s exists: completed phases are verified and not run again when still in place.\n", v.DeploymentID)
	}
	level := -1
	for i, p := range v.Phases {
		if p.Level != level {
			level = p.Level
			fmt.Fprintf(w, "\n%s\n", st.Dim(fmt.Sprintf("level %d%s", level, parallelNote(v.Phases, level))))
		}
		mark := "•"
		if !p.Wanted {
			mark = st.Dim(ui.MarkSkipped)
		}
		line := fmt.Sprintf("%2d. %s %s  %s", i+1, mark, st.Bold(p.Name), p.Title)
		if len(p.Requires) > 0 {
			line += st.Dim("  ← " + strings.Join(p.Requires, ", "))
		}
		if p.Recorded != "" {
			line += st.Dim(fmt.Sprintf("  [recorded: %s]", p.Recorded))
		}
		fmt.Fprintln(w, line)
		if !p.Wanted {
			fmt.Fprintf(w, "      skipped: %s\n", p.Reason)
			continue
		}
		for _, a := range p.Actions {
			fmt.Fprintf(w, "      - %s\n", a)
		}
		if p.Error != "" {
			fmt.Fprintf(w, "      %s %s\n", st.Red("cannot plan:"), p.Error)
		}
	}
	if len(v.AzureResources) > 0 {
		fmt.Fprintf(w, "\n%s\n", st.Bold(fmt.Sprintf("Azure resources of the management cluster (%d), which deploy creates:", len(v.AzureResources))))
		for _, r := range v.AzureResources {
			fmt.Fprintf(w, "  %-44s %s\n      %s\n", r.Type, st.Bold(r.Name), r.Detail)
		}
	}
	if blocking := deploy.Blocking(v.Unavailable); len(blocking) > 0 {
		fmt.Fprintf(w, "\n%s\n", st.Yellow("Deploy will refuse this configuration:"))
		for _, u := range blocking {
			fmt.Fprintf(w, "  %s\n", describeNotActedOn(u))
		}
	}
	if n := len(v.Unavailable) - len(deploy.Blocking(v.Unavailable)); n > 0 {
		fmt.Fprintf(w, "\n%s\n", st.Yellow("Configured, and not acted on by this run:"))
		for _, u := range v.Unavailable {
			if !u.Blocking {
				fmt.Fprintf(w, "  %s\n", describeNotActedOn(u))
			}
		}
	}
	fmt.Fprintln(w, "\nNothing was contacted or changed.")
}

func parallelNote(phases []planPhase, level int) string {
	n := 0
	for _, p := range phases {
		if p.Level == level && p.Wanted {
			n++
		}
	}
	if n > 1 {
		return fmt.Sprintf(" · %d phases at the same time", n)
	}
	return ""
}
