package ui

import (
	"strings"
	"testing"
	"time"
)

func TestFitLines(t *testing.T) {
	long := "  phase preflight failed: cannot reach the Kubernetes API server https://127.0.0.1:1 (kubeconfig kc.yaml): Get \"https://127.0.0.1:1/version?timeout=32s\": dial tcp 127.0.0.1:1: connect: connection refused"
	got := FitLines("short line\n"+long, 40)
	lines := strings.Split(got, "\n")
	if lines[0] != "short line" {
		t.Errorf("a short line changed: %q", lines[0])
	}
	for _, l := range lines {
		if VisibleWidth(l) > 40 {
			t.Errorf("line of %d columns: %q", VisibleWidth(l), l)
		}
	}
	if !strings.HasPrefix(lines[1], "  phase preflight failed:") || !strings.HasPrefix(lines[2], "      ") {
		t.Errorf("wrapped lines keep the indent and indent continuations:\n%s", got)
	}
	// Nothing is lost: the words are all there, in order.
	if strings.Join(strings.Fields(got), "") != strings.Join(strings.Fields("short line\n"+long), "") {
		t.Errorf("text changed:\n%s", got)
	}
	if FitLines(long, 0) != long {
		t.Error("width 0 must leave text as it is")
	}
}

func TestTruncateAndVisibleWidth(t *testing.T) {
	if got := Truncate("connection refused", 10); got != "connecti…" && got != "connectio…" {
		t.Errorf("Truncate = %q", got)
	}
	if got := Truncate("ok", 10); got != "ok" {
		t.Errorf("Truncate of a short text = %q", got)
	}
	if w := VisibleWidth(Style{Color: true}.Red("✗ failed")); w != 8 {
		t.Errorf("VisibleWidth of a coloured text = %d, want 8", w)
	}
}

// Short durations and recent times read as such, never as "-".
func TestShortDurationsAndAgo(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for got, want := range map[string]string{
		Duration(22 * time.Millisecond):          "22ms",
		Duration(0):                              "-",
		Ago(now, now.Add(-300*time.Millisecond)): "just now",
		Ago(now, now.Add(-90*time.Second)):       "1m30s ago",
		Ago(now, time.Time{}):                    "never",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
