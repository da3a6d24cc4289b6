package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/azure/mgmt"
	"github.com/k0rdentctl/k0rdentctl/internal/credentials"
	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// deployOptions are the flags of `k0rdentctl deploy`.
type deployOptions struct {
	*Options
	Parallel     int
	Force        bool
	WithRegional bool
	WithChildren bool
	WithKOF      bool
}

func newDeployCommand(o *Options) *cobra.Command {
	d := &deployOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy everything the configuration describes, resuming where a previous run stopped",
		Long: `Deploy what the configuration describes, phase by phase (see them first with
k0rdentctl plan). Independent phases run at the same time. Every phase looks
at the world first and changes only what differs, so running deploy twice
changes nothing the second time, and a run that failed or was interrupted
(Ctrl-C, exit code 130) resumes: phases recorded as completed are verified and
not redone.

With management.mode azure (and no --kubeconfig), deploy first builds the
management cluster: it checks the subscription and that k0sctl is on the PATH,
makes the keys, the network and the VMs, brings this machine's WireGuard side up
with wg-quick (as root; otherwise it stops and prints the command to run, or use
sudo k0rdentctl vpn up, then run deploy again), checks every VM over SSH, runs
k0sctl apply and proves the pod network; then it installs k0rdent on it. Azure
access is the default credential chain (az login, or the AZURE_* variables).

Progress is shown live on a terminal and as timestamped lines otherwise; every
step is recorded in the state folder (k0rdentctl status, k0rdentctl events).`,
		Example: `  k0rdentctl deploy
  k0rdentctl deploy --with-regional
  k0rdentctl deploy --kubeconfig ./mgmt.kubeconfig
  sudo k0rdentctl vpn up && k0rdentctl deploy   # mode azure, after deploy stopped at the VPN`,
		RunE: func(cmd *cobra.Command, _ []string) error { return d.run(cmd.Context()) },
	}
	cmd.Flags().IntVar(&d.Parallel, "parallel", 4, "how many independent phases run at the same time (1 or more)")
	cmd.Flags().BoolVar(&d.Force, "force", false, "let guarded steps go on: a downgrade of k0rdent")
	cmd.Flags().BoolVar(&d.WithRegional, "with-regional", false, "also deploy the k0rdent regional clusters (software.k0rdent.regional), after k0rdent is ready")
	retiredExperimentalAzure(o, cmd)
	cmd.Flags().BoolVar(&d.WithKOF, "with-kof", false, "also install KOF on the management cluster (the kof section), after k0rdent is ready")
	cmd.Flags().BoolVar(&d.WithChildren, "with-children", false, "also create the child clusters (child_clusters), after the Credential and, for a child in a region, that region")
	return cmd
}

// run deploys: everything that can be checked without touching anything is
// checked first (exit 2, no record written); then the record is opened and
// the phases, built on it, run.
func (d *deployOptions) run(ctx context.Context) error {
	if d.Parallel < 1 {
		return usageError(fmt.Errorf("--parallel %d: at least one phase must run at a time; use --parallel 1 or more", d.Parallel))
	}
	cfg, raw, err := d.loadConfig()
	if err != nil {
		return err
	}
	env := deploy.NewEnv(d.ConfigPath, cfg, raw, d.Kubeconfig, d.StateDir)
	env.Force = d.Force
	env.Entra = func(id string) (*credentials.Entra, error) { return d.entra(cfg, id) }
	opts := deploy.Options{WithRegional: d.WithRegional, WithChildren: d.WithChildren, WithKOF: d.WithKOF}
	azureMode := env.BuildsManagement()
	missing := deploy.Check(env, opts)
	if blocking := deploy.Blocking(missing); len(blocking) > 0 {
		return usageError(notActedOnError(blocking))
	}
	for _, u := range missing {
		fmt.Fprintf(d.IO.ErrOut, "Note: %s\n", describeNotActedOn(u))
	}
	var access *AzureAccess
	if azureMode {
		// The kubeconfig is made by the run; Azure is needed from the start.
		if access, err = d.azureAccess(cfg); err != nil {
			return usageError(err)
		}
	} else if err := env.CheckKubeconfig(); err != nil {
		return usageError(err)
	}
	sess, _, err := d.openSession(ctx, cfg, raw)
	if err != nil {
		return err
	}
	defer sess.Close()
	if azureMode {
		files, err := d.files()
		if err != nil {
			return err
		}
		env.Azure = &mgmt.Env{Config: cfg, BaseDir: filepath.Dir(d.ConfigPath), Session: sess, Azure: access.Session,
			SecretsDir: files.SecretsDir(), Now: d.Now, SSHAddress: d.Hooks.SSHAddress}
	}
	// The phases are built on the open record, so that every phase (the
	// regional ones included) records what it does.
	env.Session = sess
	phases, _, err := deploy.Phases(env, opts)
	if err != nil {
		return usageError(err)
	}
	args := []string{"deploy"}
	if d.WithRegional {
		args = append(args, "--with-regional")
	}
	if d.WithChildren {
		args = append(args, "--with-children")
	}
	if d.WithKOF {
		args = append(args, "--with-kof")
	}
	resume := resumeCommand(d.Options, args...)
	if err := sess.Update(ctx, func(r *state.Record) error {
		r.Management.KubeconfigPath = env.ManagementKubeconfig()
		r.ResumeCommand = resume
		return nil
	}); err != nil {
		return err
	}
	if !d.structured() {
		fmt.Fprintf(d.IO.Out, "Deploying %s (%s) · management cluster via %s\n", sess.ID(), cfg.Metadata.Name, env.ManagementKubeconfig())
	}
	parallel := d.Parallel
	if d.WithRegional {
		parallel = max(parallel, regional.Parallel(cfg, 0))
	}
	res, err := d.runPhases(ctx, sess, "deploy", phases, parallel, resume)
	if res == nil {
		return err
	}
	werr := d.emit(runView(sess.ID(), res), func(w io.Writer, st ui.Style) {
		if d.WithRegional {
			renderRegionDeploy(w, st, regional.Summarize(env.Regional(), phases, res), sess.Location())
		}
	})
	return errors.Join(err, werr)
}

// retiredExperimentalAzure keeps --experimental-azure working (hidden, a
// deprecation notice) for scripts written when mode azure needed it: the
// management cluster on Azure VMs is now what mode azure does.
// The notice goes to standard error, so that -o json stays JSON.
func retiredExperimentalAzure(o *Options, cmd *cobra.Command) {
	cmd.Flags().Bool("experimental-azure", false, "no effect: management.mode azure is built without it")
	_ = cmd.Flags().MarkHidden("experimental-azure")
	cmd.PreRun = func(c *cobra.Command, _ []string) {
		if c.Flags().Changed("experimental-azure") {
			fmt.Fprintln(o.IO.ErrOut, "Note: --experimental-azure is no longer needed (management.mode azure builds the management cluster without it); leave it out")
		}
	}
}

// describeNotActedOn words one entry of deploy.Check for a terminal.
func describeNotActedOn(u deploy.Unavailable) string {
	msg := u.Field + ": " + u.Reason
	if u.Action != "" {
		msg += "; " + u.Action
	}
	return msg
}

// notActedOnError is the usage error of a run that cannot do what the
// configuration asks: every blocking entry, one per line.
func notActedOnError(list []deploy.Unavailable) error {
	lines := make([]string, 0, len(list))
	for _, u := range list {
		lines = append(lines, describeNotActedOn(u))
	}
	return errors.New(strings.Join(lines, "\n"))
}
