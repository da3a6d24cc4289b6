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

// RecordError is a deployment record that could not be written. Whatever
// was being done stops there: going on would change the world without a
// record of it, and the next run could not resume from it.
type RecordError struct{ Err error }

func (e *RecordError) Error() string {
	return "the deployment record could not be written, so nothing more was done: " + e.Err.Error() +
		"; make the state folder writable (space, permissions), then run the command again"
}

func (e *RecordError) Unwrap() error { return e.Err }

// recordFailed wraps a record write error as *RecordError (nil stays nil).
func recordFailed(err error) error {
	if err == nil {
		return nil
	}
	var re *RecordError
	if errors.As(err, &re) {
		return err
	}
	return &RecordError{Err: err}
}

// UnknownRegionError is a regional cluster name that no source knows (the
// configuration, the record, the management cluster, or what an operation
// can act on): the command was given a wrong name, nothing was touched.
type UnknownRegionError struct {
	// Names are the unknown names.
	Names []string
	// Where says where they were looked for, e.g. "in the configuration,
	// the record or on the management cluster".
	Where string
	// Known are the names that exist there.
	Known []string
}

func (e *UnknownRegionError) Error() string {
	return fmt.Sprintf("no regional cluster named %s %s (known: %s)", quoteList(e.Names), e.Where, orNone(e.Known))
}

// Usage says the error is the caller's wrong input (exit code 2).
func (e *UnknownRegionError) Usage() bool { return true }

// whereKnown is where day-2 operations look for a region.
const whereKnown = "in the configuration, the record or on the management cluster"

// rerun is the usual end of a fix: run the region's deploy again.
func rerun(region string) string {
	return "k0rdentctl region deploy " + region
}

func fixThen(what, region string) string {
	return fmt.Sprintf("%s, then: %s", what, rerun(region))
}

// CreateCredentialHint says how to make the management cluster's Azure
// Credential.
const CreateCredentialHint = "k0rdentctl credentials setup makes the Secret, the AzureClusterIdentity and the k0rdent Credential from a service principal you have (client_id with client_secret_file or AZURE_CLIENT_SECRET)"
