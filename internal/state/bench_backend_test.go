//go:build linux || darwin || freebsd || dragonfly || netbsd || openbsd || illumos

package state

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkBackend measures, on the local file store and on the blob store
// (Azurite on loopback), what `status` reads (find the record, read it with
// its latest events, read the lock's holder) and one record write (an event
// added through a session: append to the event log, then the record), on a
// record of 500 events.
//
//	go test -run '^$' -bench BenchmarkBackend -benchtime 200x ./internal/state/
func BenchmarkBackend(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"file", "blob"} {
		var s Store
		if kind == "file" {
			s = newTestStoreTB(b)
		} else {
			srv := sharedAzurite(b)
			c, err := srv.Client(newContainerName())
			if err != nil {
				b.Fatal(err)
			}
			if s, err = NewBlobStore(BlobStoreOptions{Client: c, Prefix: "bench/", Command: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		r := New(NewDeploymentID(), "bench", time.Now())
		for i := range 500 {
			r.Events = append(r.Events, Event{Timestamp: time.Now().UTC(), Type: "step", Message: fmt.Sprintf("event %d", i)})
		}
		if err := s.Save(ctx, r); err != nil {
			b.Fatal(err)
		}
		b.Run("status/"+kind, func(b *testing.B) {
			for b.Loop() {
				id, err := FindCurrent(ctx, s, "")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.LoadSummary(ctx, id); err != nil {
					b.Fatal(err)
				}
				if _, err := HolderOf(s, id); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("write/"+kind, func(b *testing.B) {
			sess, err := Open(ctx, s, r.DeploymentID)
			if err != nil {
				b.Fatal(err)
			}
			defer sess.Close()
			for b.Loop() {
				if err := sess.AddEvent(Event{Type: "bench", Message: "one write"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newTestStoreTB(tb testing.TB) *FileStore {
	tb.Helper()
	s, err := NewFileStore(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
