package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// eventsOptions are the options of `events`.
type eventsOptions struct {
	*Options
	Filter state.EventFilter
	Since  string
	Tail   int
}

func newEventsCommand(o *Options) *cobra.Command {
	eo := &eventsOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the deployment's event log, for all of it or one region or phase",
		Example: `  k0rdentctl events --since 2h
  k0rdentctl events --region regional-useast
  k0rdentctl events --phase k0rdent-install -o json
  k0rdentctl events --tail 20`,
		RunE: func(cmd *cobra.Command, _ []string) error { return eo.run(cmd.Context()) },
	}
	cmd.Flags().StringVar(&eo.Filter.Phase, "phase", "", "only events of this phase")
	cmd.Flags().StringVar(&eo.Filter.Region, "region", "", "only events of this regional cluster")
	cmd.Flags().StringVar(&eo.Filter.Type, "type", "", "only events of this type (e.g. phase_failed)")
	cmd.Flags().StringVar(&eo.Since, "since", "", "only events newer than a duration (2h, 30m, 3d) or an RFC 3339 time")
	cmd.Flags().IntVar(&eo.Tail, "tail", 0, "only the last N events (0: all)")
	return cmd
}

func (o *eventsOptions) run(ctx context.Context) error {
	if o.Tail < 0 {
		return usageError(fmt.Errorf("--tail %d: give how many of the last events to show (1 or more), or 0 for all", o.Tail))
	}
	f := o.Filter
	if o.Since != "" {
		t, err := state.ParseSince(o.Since, o.now())
		if err != nil {
			return usageError(fmt.Errorf("--since: %w", err))
		}
		f.Since = t
	}
	s, id, err := o.currentDeployment(ctx)
	if err != nil {
		return err
	}
	events, err := s.Events(ctx, id, f, o.Tail)
	if err != nil {
		return err
	}
	if events == nil {
		events = []state.Event{}
	}
	var werr error
	err = o.emit(map[string]any{"deployment_id": id, "events": events}, func(w io.Writer, _ ui.Style) {
		if len(events) == 0 {
			fmt.Fprintf(w, "No events match in %s.\n", id)
			return
		}
		var t ui.Table
		t.Row("TIME", "PHASE", "REGION", "TYPE", "MESSAGE")
		for _, e := range events {
			t.Row(e.Timestamp.UTC().Format(time.RFC3339), dash(e.Phase), dash(e.Region), e.Type, e.Message)
		}
		werr = t.Write(w)
	})
	return errors.Join(err, werr)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
