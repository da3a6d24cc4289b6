package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
)

// optionalConfig loads the configuration when the file exists; commands that
// read only the state record (status, events) work without it.
func (o *Options) optionalConfig() (*config.Config, []byte, error) {
	cfg, raw, diags, err := config.Load(o.ConfigPath)
	if err != nil {
		return nil, nil, nil //nolint:nilerr // no configuration: the record alone is shown
	}
	if diags.HasErrors() {
		printDiagnostics(o, diags)
		return nil, nil, failed(ExitUsage)
	}
	o.useBackend(cfg)
	return cfg, raw, nil
}

// currentRecord finds and loads the deployment record for the configuration
// (by metadata.name) or the only record in the state folder. It returns
// state.ErrNotFound (wrapped) when there is none.
func (o *Options) currentRecord(ctx context.Context, s state.Store, cfg *config.Config) (*state.Record, error) {
	id, err := o.currentID(ctx, s, cfg)
	if err != nil {
		return nil, err
	}
	return s.Load(ctx, id)
}

// currentSummary is currentRecord with only the latest events, for views
// whose cost must not grow with the event log (status).
func (o *Options) currentSummary(ctx context.Context, s state.Store, cfg *config.Config) (*state.Record, error) {
	id, err := o.currentID(ctx, s, cfg)
	if err != nil {
		return nil, err
	}
	return s.LoadSummary(ctx, id)
}

// currentID finds the deployment id a command is about.
func (o *Options) currentID(ctx context.Context, s state.Store, cfg *config.Config) (string, error) {
	name := ""
	if cfg != nil {
		name = cfg.Metadata.Name
	}
	return state.FindCurrent(ctx, s, name)
}

// noRecordError explains what to do when there is no record yet.
func noRecordError(o *Options, err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("no deployment record in %s: nothing has been deployed from here yet; run k0rdentctl plan%s to see what deploy would do", o.StateDir, configFlag(o))
	}
	return err
}
