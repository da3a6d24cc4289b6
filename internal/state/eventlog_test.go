package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sessionWithEvents opens a new deployment and records n events, one save
// each, as a run does.
func sessionWithEvents(t *testing.T, s Store, n int) string {
	t.Helper()
	ctx := context.Background()
	sess, err := OpenOrCreate(ctx, s, "", "events")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := 1; i < n; i++ { // deployment_created is the first
		e := Event{Timestamp: t0.Add(time.Duration(i) * time.Minute), Type: "step", Message: fmt.Sprintf("event %d", i)}
		if i%2 == 0 {
			e.Region = "regional-useast"
		}
		if err := sess.AddEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	return sess.ID()
}

func TestEventLogKeepsEventsBesideTheRecord(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := sessionWithEvents(t, s, 40)

	data, err := os.ReadFile(s.Location(id))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "message:"); n != RecentEvents {
		t.Errorf("the record file holds %d events inline, want the latest %d", n, RecentEvents)
	}
	sum, err := s.LoadSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventLog == nil || sum.EventLog.Count != 40 || len(sum.Events) != RecentEvents || sum.Events[RecentEvents-1].Message != "event 39" {
		t.Fatalf("summary: event_log %+v, %d events", sum.EventLog, len(sum.Events))
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), sum.EventLog.File))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("event log mode %v, want 0600", fi.Mode().Perm())
	}
	full, err := s.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Events) != 40 || full.EventLog != nil || full.Events[0].Type != EventDeploymentNew || full.Events[39].Message != "event 39" {
		t.Fatalf("full record: %d events, event_log %+v", len(full.Events), full.EventLog)
	}

	// A summary changed and saved keeps every event.
	sum.Events = append(sum.Events, Event{Timestamp: time.Now().UTC(), Type: "more", Message: "after summary"})
	if err := s.Save(ctx, sum); err != nil {
		t.Fatal(err)
	}
	full, err = s.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Events) != 41 || full.Events[40].Message != "after summary" || full.Events[1].Message != "event 1" {
		t.Fatalf("after saving a summary: %d events", len(full.Events))
	}
	// A summary that is out of date is refused rather than losing events.
	stale, _ := s.LoadSummary(ctx, id)
	full.Events = append(full.Events, Event{Type: "x", Message: "y"})
	if err := s.Save(ctx, full); err != nil {
		t.Fatal(err)
	}
	stale.Events = stale.Events[:2]
	if err := s.Save(ctx, stale); err == nil {
		t.Fatal("saving a summary that lost track of the log succeeded")
	}
}

func TestEventLogTornAppendIsIgnoredAndOverwritten(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := sessionWithEvents(t, s, 5)
	sum, _ := s.LoadSummary(ctx, id)
	path := filepath.Join(s.Dir(), sum.EventLog.File)
	// A crash after appending, before the record was replaced.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"timestamp":"2026-03-01T10:00:00Z","type":"lost","message":"half`)
	_ = f.Close()
	full, err := s.Load(ctx, id)
	if err != nil {
		t.Fatalf("a torn append made the record unreadable: %v", err)
	}
	if len(full.Events) != 5 {
		t.Fatalf("%d events, want 5", len(full.Events))
	}
	full.Events = append(full.Events, Event{Timestamp: time.Now().UTC(), Type: "next", Message: "next"})
	if err := s.Save(ctx, full); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, id, EventFilter{}, 0)
	if err != nil || len(evs) != 6 || evs[5].Type != "next" {
		t.Fatalf("after the next write: %v %+v", err, evs)
	}
	// An orphan log from a killed rewrite is removed when the lock is taken.
	orphan := filepath.Join(s.Dir(), newEventLogName(id))
	if err := os.WriteFile(orphan, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Unlock()
	if fileExists(orphan) {
		t.Error("an orphan event log was left behind")
	}
	if _, err := s.Load(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestStoreEventsFilterAndTail(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := sessionWithEvents(t, s, 300)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		f     EventFilter
		tail  int
		count int
		last  string
	}{
		{"all", EventFilter{}, 0, 300, "event 299"},
		{"tail", EventFilter{}, 7, 7, "event 299"},
		{"tail more than there are", EventFilter{}, 1000, 300, "event 299"},
		{"region", EventFilter{Region: "regional-useast"}, 0, 149, "event 298"},
		{"region tail", EventFilter{Region: "regional-useast"}, 3, 3, "event 298"},
		{"since (and deployment_created, made now)", EventFilter{Since: t0.Add(290 * time.Minute)}, 0, 11, "event 299"},
		{"type", EventFilter{Type: EventDeploymentNew}, 0, 1, ""},
		{"nothing", EventFilter{Phase: "nope"}, 0, 0, ""},
	} {
		got, err := s.Events(ctx, id, tc.f, tc.tail)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got == nil || len(got) != tc.count {
			t.Errorf("%s: %d events, want %d", tc.name, len(got), tc.count)
			continue
		}
		if tc.last != "" && got[len(got)-1].Message != tc.last {
			t.Errorf("%s: last is %q, want %q", tc.name, got[len(got)-1].Message, tc.last)
		}
		if tc.tail == 7 && got[0].Message != "event 293" {
			t.Errorf("tail starts at %q", got[0].Message)
		}
	}
}

func TestEventLogCarriedByArchiveAndExport(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := sessionWithEvents(t, s, 25)
	full, _ := s.Load(ctx, id)
	var out strings.Builder
	if err := Export(&out, full, "yaml"); err != nil {
		t.Fatal(err)
	}
	imp, err := Import([]byte(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	other := newTestStore(t)
	if err := other.Save(ctx, imp); err != nil {
		t.Fatal(err)
	}
	if got, _ := other.Load(ctx, id); got == nil || len(got.Events) != 25 {
		t.Fatalf("export/import lost events")
	}
	path, err := s.Archive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "message:"); n != 25 {
		t.Errorf("the archive holds %d events, want 25", n)
	}
	if logs, _ := filepath.Glob(filepath.Join(s.Dir(), "*.jsonl")); len(logs) != 0 {
		t.Errorf("event logs left after archiving: %v", logs)
	}
	h, err := s.History(ctx)
	if err != nil || len(h) != 1 || h[0].Error != "" {
		t.Fatalf("history: %v %+v", err, h)
	}
}

func TestEventWithSecretRefused(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := sessionWithEvents(t, s, 2)
	r, _ := s.Load(ctx, id)
	r.Events = append(r.Events, Event{Type: "oops", Message: "-----BEGIN EC PRIVATE KEY-----"})
	if err := s.Save(ctx, r); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Fatalf("an event with a private key was saved: %v", err)
	}
	if evs, _ := s.Events(ctx, id, EventFilter{}, 0); len(evs) != 2 {
		t.Fatalf("%d events after the refused save, want 2", len(evs))
	}
}
