package cli

import (
	"errors"
	"fmt"
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
