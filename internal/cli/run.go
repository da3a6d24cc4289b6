package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/phase"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
	"github.com/k0rdentctl/k0rdentctl/internal/ui/progress"
)

// openSession finds the deployment record of the configuration (or starts a
// new one), locks it and records the configuration the run uses. A changed
// configuration is reported before anything runs.
func (o *Options) openSession(ctx context.Context, cfg *config.Config, raw []byte) (*state.Session, *state.FileStore, error) {
	s, err := o.store()
	if err != nil {
		return nil, nil, err
	}
	files, err := o.files()
	if err != nil {
		return nil, nil, err
	}
	id, err := o.currentID(ctx, s, cfg)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return nil, nil, err
	}
	sess, err := state.OpenOrCreate(ctx, s, id, cfg.Metadata.Name)
	if err != nil {
		return nil, nil, err
	}
	hash := config.Hash(raw)
	abs, _ := filepath.Abs(o.ConfigPath)
	prev := sess.Snapshot().Config.Hash
	if prev != "" && prev != hash {
		fmt.Fprintf(o.IO.ErrOut, "Note: %s changed since the last run of %s; phases are checked against the world, so only what differs is changed (see it with k0rdentctl plan%s).\n",
			o.ConfigPath, sess.ID(), configFlag(o))
	}
	err = sess.Update(ctx, func(r *state.Record) error {
		if prev != "" && prev != hash {
			r.Events = append(r.Events, state.Event{Timestamp: o.now().UTC(), Type: "config_changed",
				Message: fmt.Sprintf("configuration %s changed (hash %s → %s)", abs, short(prev), short(hash))})
		}
		r.Config = state.ConfigSnapshot{Path: abs, Hash: hash, Content: string(raw)}
		r.Name, r.Owner = cfg.Metadata.Name, cfg.Metadata.Owner
		r.Management.Mode = cfg.Management.Mode
		r.K0rdentRegional.Enabled = cfg.RegionalEnabled()
		r.K0rdentRegional.Version = cfg.Software.K0rdent.Version
		return nil
	})
	if err != nil {
		_ = sess.Close()
		return nil, nil, err
	}
	return sess, files, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// resumeCommand is the command line that runs args again with the flags that
// chose the configuration, the state folder and the management cluster, so
// that a printed next step works as printed.
func resumeCommand(o *Options, args ...string) string {
	parts := append([]string{"k0rdentctl"}, args...)
	line := strings.Join(parts, " ") + configFlag(o)
	if o.StateDir != "" && filepath.Clean(o.StateDir) != filepath.Clean(defaultStateDir(o.ConfigPath)) {
		line += " --state-dir " + shellQuote(o.StateDir)
	}
	if o.Kubeconfig != "" {
		line += " --kubeconfig " + shellQuote(o.Kubeconfig)
	}
	return line
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"$`\\|&;<>()*?[]{}~!#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runPhases runs phases with live progress and prints a summary; resume is
// the command that runs them again. It returns a silent error carrying exit
// code 1 when a phase failed, and an error with exit code 130 when the run
// was interrupted (Ctrl-C, SIGTERM).
func (o *Options) runPhases(ctx context.Context, sess *state.Session, what string, phases []phase.Phase, parallel int, resume string) (*phase.Result, error) {
	// With -o json|yaml stdout is kept for the result.
	disp := progress.New(o.progressOut(), progress.Options{Live: o.IO.OutTerminal && !o.structured(), Color: o.style().Color})
	eng := &phase.Engine{Journal: sess, Observer: disp, Parallel: parallel}
	res, err := eng.Run(ctx, phases)
	_ = disp.Close()
	if res == nil {
		return nil, err
	}
	if !o.structured() {
		printRunSummary(o, sess, what, res, resume)
	}
	if err != nil {
		var g *phase.GraphError
		if errors.As(err, &g) {
			return res, err
		}
		if res.Interrupted && len(res.Failed()) == 0 {
			if ctx.Err() != nil {
				return res, &exitError{code: ExitInterrupted, err: fmt.Errorf("%s was interrupted; the record is resumable, resume with: %s", what, resume)}
			}
			// Stopped by a record that could not be written: err says so.
			return res, err
		}
		// A guard that stopped a phase (a downgrade without --force) is a
		// refusal: exit code 3.
		for _, name := range res.Failed() {
			oc, _ := res.Outcome(name)
			var r refusal
			if errors.As(oc.Err, &r) && r.Refused() {
				return res, failed(ExitRefused)
			}
		}
		return res, failed(ExitFailed)
	}
	return res, nil
}

func printRunSummary(o *Options, sess *state.Session, what string, res *phase.Result, resume string) {
	st := o.style()
	counts := map[string]int{}
	for _, oc := range res.Outcomes {
		switch {
		case oc.Verified:
			counts["already done"]++
		default:
			counts[string(oc.Status)]++
		}
	}
	w := o.IO.Out
	fmt.Fprintln(w)
	head := st.Green(what + " done")
	if len(res.Failed()) > 0 {
		head = st.Red(what + " failed")
	} else if res.Interrupted {
		head = st.Yellow(what + " interrupted")
	}
	fmt.Fprintf(w, "%s: %s in %s · state: %s\n", head, countsLine(counts), ui.Duration(res.Duration()), sess.Location())
	for _, oc := range res.Outcomes {
		switch {
		case oc.Status == state.PhaseFailed:
			fmt.Fprintf(w, "  %s %s: %v\n", st.Red(ui.MarkFailed), oc.Name, oc.Err)
		case oc.Interrupted():
			fmt.Fprintf(w, "  %s %s: interrupted\n", st.Yellow(ui.MarkInterrupted), oc.Name)
		}
	}
	switch {
	case len(res.Failed()) > 0:
		fmt.Fprintf(w, "  fix the cause, then resume (completed phases are verified, not redone): %s · history: k0rdentctl events --type phase_failed%s\n", resume, configFlag(o))
	case res.Interrupted:
		fmt.Fprintf(w, "  resume (completed phases are verified, not redone): %s\n", resume)
	}
}

type runOutcome struct {
	Name            string  `json:"name"`
	Region          string  `json:"region,omitempty"`
	Status          string  `json:"status"`
	Verified        bool    `json:"verified,omitempty"`
	Reason          string  `json:"reason,omitempty"`
	Error           string  `json:"error,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// runView is the -o json|yaml result of a run.
func runView(id string, res *phase.Result) map[string]any {
	out := []runOutcome{}
	counts := map[string]int{}
	for _, oc := range res.Outcomes {
		r := runOutcome{Name: oc.Name, Region: oc.Group, Status: string(oc.Status), Verified: oc.Verified, Reason: oc.Reason, DurationSeconds: oc.Duration.Seconds()}
		if oc.Err != nil && !oc.Interrupted() { // an interruption's error is the cancellation's
			r.Error = oc.Err.Error()
		}
		counts[r.Status]++
		out = append(out, r)
	}
	return map[string]any{"deployment_id": id, "phases": out, "counts": counts, "duration_seconds": res.Duration().Seconds(), "interrupted": res.Interrupted}
}
