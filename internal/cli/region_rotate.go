package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// regionRotateOptions are the arguments and flags of `region
// rotate-credentials` and `region rotate-certificates`.
type regionRotateOptions struct {
	*Options
	Names []string
	// SecretFile holds the new client secret (rotate-credentials); empty:
	// standard input.
	SecretFile string
	Timeout    time.Duration
}

func newRegionRotateCredentialsCommand(o *Options) *cobra.Command {
	opts := &regionRotateOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "rotate-credentials [NAME...]",
		Short: "Put a new Azure client secret in place and verify that every region holds it",
		Long: `Rotate the client secret of the Azure service principal behind the management
Credential's AzureClusterIdentity: the new secret is read from --secret-file or
standard input (never from a flag, so it stays out of shell history and
process lists), written into the identity's Secret on the management cluster,
and k0rdent is made to copy it again into every region (k0rdent 1.5.0 refreshes
those copies when a Credential is updated, so each per-region Credential is
annotated). Then each region (all, or the named ones) is checked until its
copy holds the new secret, compared by hash; the secret is never printed,
logged or recorded. Running ClusterDeployments are not touched.

Exit code 1 when any region does not hold the new secret.`,
		Example: `  k0rdentctl region rotate-credentials --secret-file ./new-secret.txt
  az ad sp credential reset --id $APP --query password -o tsv | k0rdentctl region rotate-credentials`,
		Args:              regionNamesArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			return opts.runCredentials(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&opts.SecretFile, "secret-file", "", "file holding the new client secret (default: read standard input)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "how long to wait for each region to hold the new secret (default: timeouts.region_ready)")
	return cmd
}

func (opts *regionRotateOptions) runCredentials(ctx context.Context) error {
	e, err := opts.loadRegion()
	if err != nil {
		return err
	}
	secret, err := opts.readSecret(opts.SecretFile)
	if err != nil {
		return err
	}
	defer clear(secret)
	closeFn, err := opts.openRecord(ctx, e, recordLocked)
	defer closeFn()
	if err != nil {
		return err
	}
	rep, err := (&regional.RotateCredentials{Env: e.env, Secret: secret, RotateOptions: opts.rotateOptions()}).Run(ctx)
	if rep == nil {
		return err
	}
	return opts.result(rep, err)
}

func newRegionRotateCertificatesCommand(o *Options) *cobra.Command {
	opts := &regionRotateOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "rotate-certificates [NAME...]",
		Short: "Write the management cluster's current registry certificate into every region and verify it",
		Long: `Write the registry certificate Secret the kcm controller runs with (its
--registry-cert-secret-name) from the management cluster into k0rdent's
namespace of every regional cluster (all, or the named ones), through each
region's kubeconfig, and check that each holds identical content.

k0rdent 1.5.0 copies that Secret into a region only when it is missing there
and never updates an existing copy, so after the certificate is renewed on the
management cluster this is how the regions get it. When the kcm controller
runs without a registry certificate there is nothing to rotate, and the
command says so.

Exit code 1 when any region does not hold the certificate.`,
		Example: `  k0rdentctl region rotate-certificates
  k0rdentctl region rotate-certificates regional-useast`,
		Args:              regionNamesArgs,
		ValidArgsFunction: regionNames(o),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			return opts.runCertificates(cmd.Context())
		},
	}
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "how long writing and checking one region may take (default: timeouts.region_ready)")
	return cmd
}

func (opts *regionRotateOptions) runCertificates(ctx context.Context) error {
	e, closeFn, err := opts.openRegion(ctx, recordLocked)
	defer closeFn()
	if err != nil {
		return err
	}
	rep, err := (&regional.RotateCertificates{Env: e.env, RotateOptions: opts.rotateOptions()}).Run(ctx)
	if rep == nil {
		return err
	}
	return opts.result(rep, err)
}

func (opts *regionRotateOptions) rotateOptions() regional.RotateOptions {
	return regional.RotateOptions{Names: opts.Names, Timeout: opts.Timeout, Progress: opts.progressFunc()}
}

// result shows the report; runErr (a record that could not be written) is
// returned after it.
func (opts *regionRotateOptions) result(rep *regional.RotationReport, runErr error) error {
	if err := opts.emit(rep, func(w io.Writer, st ui.Style) { renderRegionRotation(w, st, rep) }); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if len(rep.Failed()) > 0 {
		return failed(ExitFailed)
	}
	return nil
}

// maxSecretSize bounds what is read as a client secret.
const maxSecretSize = 64 << 10

// readSecret reads the new client secret from a file or from standard
// input (without echo on a terminal). It is never taken from a flag value.
func (o *Options) readSecret(file string) ([]byte, error) {
	var data []byte
	switch {
	case file != "":
		fi, err := os.Stat(file)
		if err != nil {
			return nil, usageError(fmt.Errorf("--secret-file: %w", err))
		}
		if fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(o.IO.ErrOut, "Warning: %s can be read by other users (mode %04o); keep secret files at 0600\n", file, fi.Mode().Perm())
		}
		if fi.Size() > maxSecretSize {
			return nil, usageError(fmt.Errorf("--secret-file %s is %d bytes: that is not a client secret", file, fi.Size()))
		}
		if data, err = os.ReadFile(file); err != nil {
			return nil, usageError(fmt.Errorf("--secret-file: %w", err))
		}
	case o.IO.InTerminal:
		f, ok := o.IO.In.(*os.File)
		if !ok {
			return nil, usageError(errors.New("no client secret given: use --secret-file FILE or pipe it on standard input"))
		}
		fmt.Fprint(o.IO.ErrOut, "New client secret of the service principal (input hidden): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(o.IO.ErrOut)
		if err != nil {
			return nil, fmt.Errorf("reading the client secret from the terminal: %w", err)
		}
		data = b
	default:
		b, err := io.ReadAll(io.LimitReader(o.IO.In, maxSecretSize+1))
		if err != nil {
			return nil, fmt.Errorf("reading the client secret from standard input: %w", err)
		}
		if len(b) > maxSecretSize {
			return nil, usageError(errors.New("standard input holds more than 64 KiB: that is not a client secret"))
		}
		data = b
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, usageError(errors.New("the new client secret is empty: give it with --secret-file FILE or on standard input (never as a flag value)"))
	}
	return data, nil
}
