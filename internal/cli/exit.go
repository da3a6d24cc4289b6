package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/k0rdentctl/k0rdentctl/internal/state"
	"github.com/spf13/cobra"
)

// Exit codes, the same for every command.
const (
	ExitOK      = 0
	ExitFailed  = 1
	ExitUsage   = 2
	ExitRefused = 3
	// ExitInterrupted is a run stopped by Ctrl-C or SIGTERM (128 + SIGINT,
	// as shells report it).
	ExitInterrupted = 130
)

// exitError carries an exit code with the error an operator sees.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// silentError is a failure whose explanation the command already printed.
type silentError struct{ code int }

func (e *silentError) Error() string { return "command failed" }

func usageError(err error) error   { return &exitError{code: ExitUsage, err: err} }
func refusedError(err error) error { return &exitError{code: ExitRefused, err: err} }
func failed(code int) error        { return &silentError{code: code} }

// refusal is implemented by domain errors that are guards (a downgrade, an
// uninstall that would delete objects): they map to exit code 3.
type refusal interface{ Refused() bool }

// UnknownCommandError is a command name that does not exist.
type UnknownCommandError struct {
	Name string
	// Parent is the command it was given to ("k0rdentctl").
	Parent      string
	Suggestions []string
}

func (e *UnknownCommandError) Error() string {
	msg := fmt.Sprintf("unknown command %q for %q", e.Name, e.Parent)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.Suggestions, " or ") + "?"
	}
	return msg + "; see " + e.Parent + " --help"
}

// Usage says the error is invalid usage (exit code 2).
func (e *UnknownCommandError) Usage() bool { return true }

// unknownCommand is the Args of a command that only groups others: any
// argument names a command that does not exist.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default for its own message
	}
	return &UnknownCommandError{Name: args[0], Parent: cmd.CommandPath(), Suggestions: cmd.SuggestionsFor(args[0])}
}

// invalidInput is implemented by domain errors that say the command was
// given wrong input (an unknown regional cluster name): exit code 2.
type invalidInput interface{ Usage() bool }

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var s *silentError
	if errors.As(err, &s) {
		return s.code
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	var lock *state.LockError
	if errors.As(err, &lock) {
		return ExitRefused
	}
	var r refusal
	if errors.As(err, &r) && r.Refused() {
		return ExitRefused
	}
	var u invalidInput
	if errors.As(err, &u) && u.Usage() {
		return ExitUsage
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	return ExitFailed
}
