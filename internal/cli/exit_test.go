package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

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
