package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// RecentEvents is how many of the latest events a stored record carries
// inline, for `status`; all of them are in the event log beside it.
const RecentEvents = 10

// EventLogRef points a stored record at its event log: an append-only file
// (or blob) of JSON lines beside the record. Only the first Bytes bytes
// belong to the record: an append that a crash cut short lies past them and
// is overwritten by the next write, so the record and its log always agree.
type EventLogRef struct {
	// File is the log's name beside the record: <id>.events.<generation>.jsonl.
	File string `json:"file"`
	// Count is how many events the log holds.
	Count int `json:"count"`
	// Bytes is how much of the log is committed.
	Bytes int64 `json:"bytes"`
}

const eventLogInfix = ".events."
const eventLogSuffix = ".jsonl"

// newEventLogName names a fresh event log of deployment id.
func newEventLogName(id string) string {
	return id + eventLogInfix + randomSuffix(6) + eventLogSuffix
}

// validEventLogName checks that a log named by a stored record belongs to
// deployment id and stays beside the record.
func validEventLogName(id, name string) bool {
	rest, ok := strings.CutPrefix(name, id+eventLogInfix)
	if !ok {
		return false
	}
	gen, ok := strings.CutSuffix(rest, eventLogSuffix)
	return ok && gen != "" && strings.Trim(gen, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
}

// eventWrite is what a Save writes to the event log.
type eventWrite struct {
	rewrite bool    // write a new log with all of the record's events
	events  []Event // the events to write (all, or only the new ones)
	data    []byte  // their JSON lines
}

// planEventWrite decides what saving r writes to the event log, given the
// log the stored record points at (nil when there is none) and the last
// event it holds.
func planEventWrite(r *Record, stored *EventLogRef, last *Event) (eventWrite, error) {
	var w eventWrite
	switch {
	case !r.evLoaded || stored == nil:
		if r.EventLog != nil && r.evLoaded {
			return w, fmt.Errorf("the record of %s was read with only its latest events, and its event log is gone; read it again", r.DeploymentID)
		}
		w.rewrite, w.events = true, r.Events
	default:
		k := stored.Count - r.evBase
		if k < 0 || k > len(r.Events) {
			return w, fmt.Errorf("the event log of %s changed since the record was read (it has %d events, the record knew %d); read it again", r.DeploymentID, stored.Count, r.evBase+len(r.Events))
		}
		if k > 0 && last != nil && !sameEvent(r.Events[k-1], *last) {
			return w, fmt.Errorf("events of %s were removed or changed in memory; the event log only grows: append new events and leave the others as they are", r.DeploymentID)
		}
		w.events = r.Events[k:]
	}
	data, err := encodeEventLines(w.events)
	if err != nil {
		return w, err
	}
	w.data = data
	return w, nil
}

func sameEvent(a, b Event) bool {
	return a.Timestamp.Equal(b.Timestamp) && a.Type == b.Type && a.Message == b.Message && a.Phase == b.Phase && a.Region == b.Region
}

// lastEvent is the last event a stored record carries inline.
func lastEvent(r *Record) *Event {
	if r == nil || len(r.Events) == 0 {
		return nil
	}
	return &r.Events[len(r.Events)-1]
}

// storedHead is the form of r written as the record: its latest events
// inline and a reference to the log that holds them all.
func storedHead(r *Record, ref EventLogRef) *Record {
	h := *r
	if n := len(h.Events); n > RecentEvents {
		h.Events = h.Events[n-RecentEvents:]
	}
	h.EventLog = &ref
	return &h
}

// afterSave notes in r what its store now holds.
func afterSave(r *Record, ref EventLogRef) {
	r.evLoaded = true
	r.evBase = ref.Count - len(r.Events)
	if r.EventLog != nil {
		l := ref
		r.EventLog = &l
	}
}

// asSummary marks a decoded stored record as read with its latest events.
// A record written before event logs existed carries all its events inline
// and is returned as it is.
func asSummary(r *Record) *Record {
	if r.EventLog == nil {
		return r
	}
	r.evLoaded = true
	r.evBase = r.EventLog.Count - len(r.Events)
	if r.evBase < 0 {
		r.evBase = 0
	}
	return r
}

// withAllEvents turns a stored record into a full one with the events read
// from its log.
func withAllEvents(r *Record, events []Event) *Record {
	r.Events = events
	r.EventLog = nil
	r.evLoaded = true
	r.evBase = 0
	return r
}

// detach makes r a record in memory again, as if imported: the next Save
// writes its event log anew (used when a record moves between stores).
func (r *Record) detach() {
	r.evLoaded = false
	r.evBase = 0
	r.EventLog = nil
	r.version = ""
}

// encodeEventLines renders events as JSON lines, refusing any that looks
// like it holds a secret.
func encodeEventLines(events []Event) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return nil, fmt.Errorf("encoding an event: %w", err)
		}
	}
	if err := checkNoSecrets(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("refusing an event: %w", err)
	}
	return buf.Bytes(), nil
}

// eventMatcher checks raw lines cheaply before decoding them.
type eventMatcher struct {
	f       EventFilter
	needles [][]byte
}

func newEventMatcher(f EventFilter) eventMatcher {
	m := eventMatcher{f: f}
	for _, kv := range [][2]string{{"phase", f.Phase}, {"region", f.Region}, {"type", f.Type}} {
		if kv[1] == "" {
			continue
		}
		v, _ := json.Marshal(kv[1])
		m.needles = append(m.needles, append([]byte(`"`+kv[0]+`":`), v...))
	}
	return m
}

func (m eventMatcher) filtered() bool {
	return m.f != (EventFilter{})
}

// match decodes line when it can match and reports whether it does.
func (m eventMatcher) match(line []byte) (Event, bool, error) {
	for _, n := range m.needles {
		if !bytes.Contains(line, n) {
			return Event{}, false, nil
		}
	}
	var e Event
	if err := json.Unmarshal(line, &e); err != nil {
		return Event{}, false, err
	}
	return e, len(FilterEvents([]Event{e}, m.f)) == 1, nil
}

// readEvents reads the JSON lines of an event log from r and returns those
// matching f, oldest first; tail > 0 keeps only the last tail of them, and
// only those are held in memory. where names the log in errors.
func readEvents(r io.Reader, f EventFilter, tail int, where string) ([]Event, error) {
	m := newEventMatcher(f)
	out := []Event{}
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			e, ok, derr := m.match(line)
			if derr != nil {
				return nil, fmt.Errorf("event log %s, line %d: %w", where, n, derr)
			}
			if ok {
				out = append(out, e)
				if tail > 0 && len(out) > 2*tail {
					out = append(out[:0], out[len(out)-tail:]...)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the event log %s: %w", where, err)
		}
	}
	if tail > 0 && len(out) > tail {
		out = out[len(out)-tail:]
	}
	return out, nil
}

// tailEvents reads the last n events of the first size bytes of ra without
// reading the rest, for `events --tail N` with no filter.
func tailEvents(ra io.ReaderAt, size int64, n int, where string) ([]Event, error) {
	const chunk = 64 << 10
	end := size
	start := end
	var buf []byte
	for start > 0 && bytes.Count(buf, []byte{'\n'}) <= n {
		step := min(int64(chunk), start)
		start -= step
		part := make([]byte, step)
		if _, err := ra.ReadAt(part, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading the event log %s: %w", where, err)
		}
		buf = append(part, buf...)
	}
	// Keep the last n whole lines (the log ends with a newline).
	body := bytes.TrimSuffix(buf, []byte{'\n'})
	cut, lines := len(body), 0
	for cut > 0 && lines < n {
		i := bytes.LastIndexByte(body[:cut], '\n')
		if i < 0 {
			if start > 0 {
				break // the first line is partial: the chunk did not reach its start
			}
			cut = 0
			break
		}
		cut = i
		lines++
	}
	if cut > 0 || start > 0 {
		buf = buf[min(cut+1, len(buf)):]
	}
	return readEvents(bytes.NewReader(buf), EventFilter{}, n, where)
}
