package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/deploy"
	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

func newDeployCommand(o *Options) *cobra.Command {
	var parallel int
	var force, withRegional bool
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy everything the configuration describes, resuming where a previous run stopped",
		Long: `Deploy what the configuration describes, phase by phase (see them first with
k0rdentctl plan). Independent phases run at the same time. Every phase looks
at the world first and changes only what differs, so running deploy twice
changes nothing the second time, and a run that failed or was interrupted
(Ctrl-C) resumes: phases recorded as completed are verified and not redone.

Progress is shown live on a terminal and as timestamped lines otherwise; every
step is recorded in the state folder (k0rdentctl status, k0rdentctl events).`,
		Example: `  k0rdentctl deploy
  k0rdentctl deploy --with-regional
  k0rdentctl deploy --kubeconfig ./mgmt.kubeconfig`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, raw, err := o.loadConfig()
			if err != nil {
				return err
			}
			env := deploy.NewEnv(o.ConfigPath, cfg, raw, o.Kubeconfig, o.StateDir)
			env.Force = force
			phases, missing, err := deploy.Phases(env, deploy.Options{WithRegional: withRegional})
			if err != nil {
				return usageError(err)
			}
			if len(missing) > 0 {
				return usageError(fmt.Errorf("%s: %s", missing[0].Field, missing[0].Reason))
			}
			sess, _, err := o.openSession(ctx, cfg, raw)
			if err != nil {
				return err
			}
			defer sess.Close()
			env.Session = sess
			if err := sess.Update(ctx, func(r *state.Record) error {
				r.Management.KubeconfigPath = env.ManagementKubeconfig()
				return nil
			}); err != nil {
				return err
			}
			if !o.structured() {
				fmt.Fprintf(o.IO.Out, "Deploying %s (%s) · management cluster via %s\n", sess.ID(), cfg.Metadata.Name, env.ManagementKubeconfig())
			}
			if withRegional {
				parallel = max(parallel, regional.Parallel(cfg, 0))
			}
			res, err := o.runPhases(ctx, sess, "deploy", phases, parallel)
			if res == nil {
				return err
			}
			if werr := o.emit(runView(sess.ID(), res), func(w io.Writer, st ui.Style) {
				if withRegional {
					renderRegionDeploy(w, st, regional.Summarize(env.Regional(), phases, res), sess.Location())
				}
			}); werr != nil {
				return werr
			}
			return err
		},
	}
	cmd.Flags().IntVar(&parallel, "parallel", 4, "how many independent phases run at the same time")
	cmd.Flags().BoolVar(&force, "force", false, "let guarded steps go on: a downgrade of k0rdent")
	cmd.Flags().BoolVar(&withRegional, "with-regional", false, "also deploy the k0rdent regional clusters (software.k0rdent.regional), after k0rdent is ready")
	return cmd
}
