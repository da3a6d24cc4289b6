package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// currentDeployment opens the store of the configuration (which may be
// missing) and finds the deployment a read-only command is about; no record
// is an error that says what to run first.
func (o *Options) currentDeployment(ctx context.Context) (state.Store, string, error) {
	cfg, _, err := o.optionalConfig()
	if err != nil {
		return nil, "", err
	}
	s, err := o.store()
	if err != nil {
		return nil, "", err
	}
	id, err := o.currentID(ctx, s, cfg)
	if err != nil {
		return nil, "", noRecordError(o, err)
	}
	return s, id, nil
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
	if o.Deployment != "" {
		return o.chosenDeployment(ctx, s)
	}
	return state.FindCurrent(ctx, s, name)
}

// chosenDeployment checks the record that --deployment names is in s.
func (o *Options) chosenDeployment(ctx context.Context, s state.Store) (string, error) {
	if !state.ValidDeploymentID(o.Deployment) {
		return "", usageError(fmt.Errorf("--deployment %q is not a deployment id (k0rdent- and 8 lowercase letters or digits); the records are listed by k0rdentctl status", o.Deployment))
	}
	ids, err := s.List(ctx)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		if id == o.Deployment {
			return id, nil
		}
	}
	return "", usageError(fmt.Errorf("--deployment %s: there is no such record in %s (records there: %s)", o.Deployment, state.Where(s), listOrNone(ids)))
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// noRecordError explains what to do when there is no record yet.
func noRecordError(o *Options, err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("no deployment record in %s: nothing has been deployed from here yet; run k0rdentctl plan%s to see what deploy would do", o.StateDir, configFlag(o))
	}
	return err
}
