package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newEventsCommand(o *Options) *cobra.Command {
	var f state.EventFilter
	var since string
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the deployment's event log, for all of it or one region or phase",
		Example: `  k0rdentctl events --since 2h
  k0rdentctl events --region regional-useast
  k0rdentctl events --phase k0rdent-install -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if since != "" {
				t, err := state.ParseSince(since, o.now())
				if err != nil {
					return usageError(fmt.Errorf("--since: %w", err))
				}
				f.Since = t
			}
			cfg, _, err := o.optionalConfig()
			if err != nil {
				return err
			}
			s, err := o.store()
			if err != nil {
				return err
			}
			id, err := o.currentID(ctx, s, cfg)
			if err != nil {
				return noRecordError(o, err)
			}
			events, err := s.Events(ctx, id, f, limit)
			if err != nil {
				return err
			}
			if events == nil {
				events = []state.Event{}
			}
			if o.structured() || len(events) == 0 {
				return o.emit(map[string]any{"deployment_id": id, "events": events}, func(w io.Writer, _ ui.Style) {
					fmt.Fprintf(w, "No events match in %s.\n", id)
				})
			}
			var t ui.Table
			t.Row("TIME", "PHASE", "REGION", "TYPE", "MESSAGE")
			for _, e := range events {
				t.Row(e.Timestamp.UTC().Format(time.RFC3339), dash(e.Phase), dash(e.Region), e.Type, e.Message)
			}
			return t.Write(o.IO.Out)
		},
	}
	cmd.Flags().StringVar(&f.Phase, "phase", "", "only events of this phase")
	cmd.Flags().StringVar(&f.Region, "region", "", "only events of this regional cluster")
	cmd.Flags().StringVar(&f.Type, "type", "", "only events of this type (e.g. phase_failed)")
	cmd.Flags().StringVar(&since, "since", "", "only events newer than a duration (2h, 30m, 3d) or an RFC 3339 time")
	cmd.Flags().IntVar(&limit, "tail", 0, "only the last N events")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
