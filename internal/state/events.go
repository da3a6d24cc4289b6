package state

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event types written by this package. Other packages add their own (in
// snake_case, e.g. "regional_cluster_created", "components_installed").
const (
	EventPhasePending   = "phase_pending"
	EventPhaseStarted   = "phase_started"
	EventPhaseCompleted = "phase_completed"
	EventPhaseFailed    = "phase_failed"
	EventPhaseSkipped   = "phase_skipped"
	// EventPhaseInterrupted: the phase was running when the run was stopped.
	EventPhaseInterrupted = "phase_interrupted"
	EventDeploymentNew    = "deployment_created"
	EventLockTakenOver    = "lock_taken_over"
	EventRecordArchived   = "record_archived"
)

// EventFilter selects events; empty fields match everything.
type EventFilter struct {
	Phase  string
	Region string
	Type   string
	// Since keeps events at or after this time.
	Since time.Time
}

// FilterEvents returns the events that match f, in their order (oldest
// first). It never returns nil, so JSON output is [] rather than null.
func FilterEvents(events []Event, f EventFilter) []Event {
	out := []Event{}
	for _, e := range events {
		if f.Phase != "" && e.Phase != f.Phase {
			continue
		}
		if f.Region != "" && e.Region != f.Region {
			continue
		}
		if f.Type != "" && e.Type != f.Type {
			continue
		}
		if !f.Since.IsZero() && e.Timestamp.Before(f.Since) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// ParseSince reads a --since value: a duration back from now ("2h", "90m",
// "3d", "1d12h", "45s") or a time (RFC 3339, or a date 2006-01-02 meaning its
// midnight UTC).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty value; give a duration such as 2h, 90m or 3d, or an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	if d, ok, err := parseDays(s); ok {
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (such as 2h, 90m, 3d) nor an RFC 3339 time (such as 2026-01-02T15:04:05Z)", s)
}

// parseDays parses a Go duration that may begin with a number of days
// ("3d", "1d12h"). ok is false when s does not look like a duration at all.
func parseDays(s string) (d time.Duration, ok bool, err error) {
	if !strings.ContainsAny(s[:1], "0123456789.") {
		if s[0] == '-' {
			return 0, true, fmt.Errorf("%q is negative; give how far back to look, such as 2h", s)
		}
		return 0, false, nil
	}
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, false, nil
		}
		d = time.Duration(days) * 24 * time.Hour
		rest = s[i+1:]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return 0, false, nil
		}
		d += more
	}
	return d, true, nil
}
