package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/config"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// recordAccess is how a region command uses the deployment record.
type recordAccess int

const (
	// recordRead reads the record, if there is one, without locking it:
	// the command writes nothing (region status).
	recordRead recordAccess = iota
	// recordIfFree opens the existing record when it is not locked by
	// another process; without a record, or when it is locked, the command
	// runs without recording and says so (region health).
	recordIfFree
	// recordLocked opens the record (creating it for a new deployment) and
	// holds its lock until the command ends (deploy, rotate, remove,
	// cleanup).
	recordLocked
)

// regionEnv is what every region command starts from: the configuration,
// the management cluster (connected on first use), the state folder, the
// record as the command's recordAccess allows, and the regional.Env built
// from them.
type regionEnv struct {
	cfg   *config.Config
	raw   []byte
	denv  *deploy.Env
	store state.Store
	files *state.FileStore // kubeconfigs stay local on every backend
	// sess is the open record (nil with recordRead, or when there is none).
	sess *state.Session
	// rec is the record as read (nil when there is none).
	rec *state.Record
	// warning says why what the command sees is not recorded.
	warning string
	env     *regional.Env
}

// openRegion loads the configuration, opens the state folder and the record
// as access says, and builds the regional environment. close releases the
// record's lock; it is never nil.
func (o *Options) openRegion(ctx context.Context, access recordAccess) (e *regionEnv, closeFn func(), err error) {
	e, err = o.loadRegion()
	if err != nil {
		return nil, func() {}, err
	}
	closeFn, err = o.openRecord(ctx, e, access)
	return e, closeFn, err
}

// loadRegion loads the configuration and opens the state folder; the
// record is not opened yet (openRecord), so that a command can check its
// input first.
func (o *Options) loadRegion() (*regionEnv, error) {
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
	e := &regionEnv{cfg: cfg, raw: raw, denv: deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir), store: store, files: files}
	e.env = &regional.Env{
		Config:     cfg,
		ConfigPath: o.ConfigPath,
		Management: e.denv.Management,
		Files:      files,
		Now:        o.Now,
	}
	return e, nil
}

// openRecord opens e's record as access says. close releases its lock; it
// is never nil.
func (o *Options) openRecord(ctx context.Context, e *regionEnv, access recordAccess) (closeFn func(), err error) {
	closeFn = func() {}
	switch access {
	case recordRead:
		e.rec, err = o.currentRecord(ctx, e.store, e.cfg)
		if errors.Is(err, state.ErrNotFound) {
			err = nil
		}
	case recordIfFree:
		e.sess, e.warning, err = o.existingSession(ctx, e.store, e.cfg)
	case recordLocked:
		e.sess, _, err = o.openSession(ctx, e.cfg, e.raw)
	}
	if err != nil {
		return closeFn, err
	}
	if e.sess != nil {
		e.rec = e.sess.Snapshot()
		e.env.Session = e.sess
		closeFn = func() { _ = e.sess.Close() }
	}
	return closeFn, nil
}

// existingSession opens the deployment record when there is one, for
// commands that record what they saw but must not create a deployment. A
// record locked by another process is not an error: the command runs
// without recording, and warn says so.
func (o *Options) existingSession(ctx context.Context, store state.Store, cfg *config.Config) (sess *state.Session, warn string, err error) {
	id, err := o.currentID(ctx, store, cfg)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, "", nil
	case err != nil:
		return nil, "", err
	}
	sess, err = state.Open(ctx, store, id)
	var lock *state.LockError
	if errors.As(err, &lock) {
		return nil, "not recorded in the state: " + lock.Error(), nil
	}
	return sess, "", err
}

// regionNamesArgs accepts any number of regional cluster names, none empty.
func regionNamesArgs(cmd *cobra.Command, args []string) error {
	for _, a := range args {
		if strings.TrimSpace(a) == "" {
			return usageError(fmt.Errorf("%s: an empty regional cluster name was given", cmd.CommandPath()))
		}
	}
	return nil
}

// oneRegionArg accepts exactly one regional cluster name.
func oneRegionArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError(fmt.Errorf("%s takes exactly one regional cluster name, got %d arguments", cmd.CommandPath(), len(args)))
	}
	return regionNamesArgs(cmd, args)
}

// deletionTimeoutFlag is --timeout of the commands that delete objects.
func deletionTimeoutFlag(cmd *cobra.Command, timeout *time.Duration) {
	cmd.Flags().DurationVar(timeout, "timeout", 0, "how long to wait for each deleted object to be gone (default: timeouts.region_ready)")
}

// seconds shows a duration in seconds as the tables do.
func seconds(d float64) string {
	return ui.Duration(time.Duration(d * float64(time.Second)))
}
