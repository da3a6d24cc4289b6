package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/k0rdentctl/k0rdentctl/internal/regional"
)

// Exit codes follow the type of the error, never its text: an unknown
// regional cluster name is invalid usage (2) however it is wrapped, and an
// error that merely reads like one is a failure (1).
func TestExitCodeFollowsErrorTypes(t *testing.T) {
	unknown := &regional.UnknownRegionError{Names: []string{"nowhere"}, Where: "in the configuration", Known: []string{"regional-useast"}}
	for name, tc := range map[string]struct {
		err  error
		want int
	}{
		"unknown region":         {unknown, ExitUsage},
		"wrapped unknown region": {fmt.Errorf("region health: %w", unknown), ExitUsage},
		"same text, other type":  {errors.New(unknown.Error()), ExitFailed},
		"region in use":          {&regional.InUseError{Region: "regional-useast", ClusterDeployments: []string{"kcm-system/child"}}, ExitRefused},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ExitCode(tc.err); got != tc.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

// An unknown command is a typed usage error with suggestions, whatever its
// text; no command at all shows the help.
func TestUnknownCommandIsTyped(t *testing.T) {
	r := run(t, "stauts")
	if r.code != ExitUsage || !strings.Contains(r.err, `unknown command "stauts"`) || !strings.Contains(r.err, "status") {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var u *UnknownCommandError
	if err := unknownCommand(NewRootCommand(&Options{}), []string{"stauts"}); !errors.As(err, &u) || ExitCode(err) != ExitUsage {
		t.Fatalf("unknownCommand: %v", err)
	}
	if r := run(t); r.code != ExitOK || !strings.Contains(r.out, "Usage:") {
		t.Fatalf("no command: exit %d, want the help\n%s", r.code, r.out)
	}
}

// Every command group refuses a mistyped subcommand with exit 2 and a
// suggestion, so that `k0rdentctl config valdate && k0rdentctl deploy` stops;
// groups are found by walking the tree, so groups added later are covered.
func TestUnknownSubcommandsAreUsageErrors(t *testing.T) {
	for _, c := range []struct{ args []string }{
		{[]string{"region", "stat"}},
		{[]string{"config", "valdate"}},
	} {
		r := run(t, c.args...)
		if r.code != ExitUsage || !strings.Contains(r.err, "did you mean") {
			t.Errorf("k0rdentctl %s: exit %d, want %d with a suggestion: %s", strings.Join(c.args, " "), r.code, ExitUsage, r.err)
		}
	}
	var walk func(c *cobra.Command)
	groups := 0
	walk = func(c *cobra.Command) {
		if !c.HasSubCommands() {
			return
		}
		groups++
		args := append(strings.Fields(c.CommandPath())[1:], "no-such-subcommand")
		if r := run(t, args...); r.code != ExitUsage || !strings.Contains(r.err, "unknown command") {
			t.Errorf("k0rdentctl %s: exit %d, want %d: %s", strings.Join(args, " "), r.code, ExitUsage, r.err)
		}
		if r := run(t, args[:len(args)-1]...); r.code != ExitOK || !strings.Contains(r.out, "Usage:") {
			t.Errorf("k0rdentctl %s alone: exit %d, want its help", strings.Join(args[:len(args)-1], " "), r.code)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCommand(&Options{}))
	if groups < 5 {
		t.Fatalf("found %d command groups; the walk is broken", groups)
	}
}
