package regional

import (
	"errors"
	"fmt"
)

var errNoManagement = errors.New("no management cluster given (a bug in k0rdentctl: regional.Env.Management is nil)")

// Error is the failure of one step of one region, worded for the operator:
// what failed (Summary and Err) and what to do next (Fix).
type Error struct {
	// Region is the regional cluster's name.
	Region string
	// Step is the step that failed (StepCluster, ...).
	Step string
	// Summary says in a few words what went wrong: "unreachable",
	// "ClusterDeployment not ready", "no ProviderInterface for
	// AzureClusterIdentity".
	Summary string
	// Err is the cause.
	Err error
	// Fix is what to do next, one line, e.g. "check the kubeconfig in Secret
	// kcm-system/x, then: k0rdentctl region deploy r".
	Fix string
}

func (e *Error) Error() string {
	msg := e.Message()
	if e.Fix != "" {
		msg += "; fix: " + e.Fix
	}
	return msg
}

// Message is the error without the fix: "<summary>: <cause>".
func (e *Error) Message() string {
	switch {
	case e.Summary == "":
		return e.Err.Error()
	case e.Err == nil:
		return e.Summary
	}
	return e.Summary + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// rerun is the usual end of a fix: run the region's deploy again.
func rerun(region string) string {
	return "k0rdentctl region deploy " + region
}

func fixThen(what, region string) string {
	return fmt.Sprintf("%s, then: %s", what, rerun(region))
}
