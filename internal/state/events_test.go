package state

import (
	"strings"
	"testing"
	"time"
)

func TestFilterEvents(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	events := []Event{
		{Timestamp: t0, Phase: "azure-network", Type: EventPhaseStarted, Message: "1"},
		{Timestamp: t0.Add(time.Minute), Phase: "azure-network", Type: EventPhaseCompleted, Message: "2"},
		{Timestamp: t0.Add(2 * time.Minute), Phase: "regional-useast", Region: "regional-useast", Type: EventPhaseStarted, Message: "3"},
		{Timestamp: t0.Add(3 * time.Minute), Region: "regional-useast", Type: "regional_cluster_created", Message: "4"},
		{Timestamp: t0.Add(4 * time.Minute), Phase: "regional-westeu", Region: "regional-westeu", Type: EventPhaseFailed, Message: "5"},
	}
	for _, tc := range []struct {
		name string
		f    EventFilter
		want string
	}{
		{"all", EventFilter{}, "12345"},
		{"phase", EventFilter{Phase: "azure-network"}, "12"},
		{"region", EventFilter{Region: "regional-useast"}, "34"},
		{"type", EventFilter{Type: EventPhaseStarted}, "13"},
		{"since", EventFilter{Since: t0.Add(2 * time.Minute)}, "345"},
		{"region and type", EventFilter{Region: "regional-useast", Type: EventPhaseStarted}, "3"},
		{"since and phase", EventFilter{Phase: "azure-network", Since: t0.Add(30 * time.Second)}, "2"},
		{"nothing", EventFilter{Region: "nowhere"}, ""},
	} {
		got := FilterEvents(events, tc.f)
		var ids strings.Builder
		for _, e := range got {
			ids.WriteString(e.Message)
		}
		if ids.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, ids.String(), tc.want)
		}
		if got == nil {
			t.Errorf("%s: nil slice (JSON would say null)", tc.name)
		}
	}
	if FilterEvents(nil, EventFilter{}) == nil {
		t.Error("nil input gives nil")
	}
	r := &Record{Events: events}
	if got := r.RegionEvents("regional-westeu"); len(got) != 1 || got[0].Message != "5" {
		t.Errorf("RegionEvents = %+v", got)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2h":                        now.Add(-2 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"45s":                       now.Add(-45 * time.Second),
		"1h30m":                     now.Add(-90 * time.Minute),
		"3d":                        now.Add(-72 * time.Hour),
		"1d12h":                     now.Add(-36 * time.Hour),
		" 2h ":                      now.Add(-2 * time.Hour),
		"0s":                        now,
		"2026-03-01T08:00:00Z":      time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		"2026-03-01T09:00:00+01:00": time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		"2026-03-01T08:00:00.5Z":    time.Date(2026, 3, 1, 8, 0, 0, 500_000_000, time.UTC),
		"2026-03-01":                time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseSince(in, now)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%q: got %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"":           "empty",
		"yesterday":  "neither a duration",
		"5":          "neither a duration",
		"3days":      "neither a duration",
		"-2h":        "negative",
		"2026-13-01": "neither a duration",
	} {
		_, err := ParseSince(in, now)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error saying %q", in, err, want)
		}
	}
}
