package ui

import (
	"fmt"
	"time"
)

// Style colours text when colour is on; with colour off it returns text as it is.
type Style struct {
	Color bool
}

func (s Style) wrap(code, text string) string {
	if !s.Color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Green, Red, Yellow, Dim and Bold colour text.
func (s Style) Green(t string) string  { return s.wrap("32", t) }
func (s Style) Red(t string) string    { return s.wrap("31", t) }
func (s Style) Yellow(t string) string { return s.wrap("33", t) }
func (s Style) Dim(t string) string    { return s.wrap("2", t) }
func (s Style) Bold(t string) string   { return s.wrap("1", t) }

// Marks used across views.
const (
	MarkDone    = "✓"
	MarkFailed  = "✗"
	MarkSkipped = "–"
	// MarkInterrupted is a phase stopped by Ctrl-C, SIGTERM or a crash.
	MarkInterrupted = "‖"
	MarkRunning     = "⠼"
	MarkPending     = "·"
)

// Duration prints a duration the way people read it: 850ms, 12.3s, 11m02s, 1h04m.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// Ago prints how long ago t was, relative to now.
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if d := now.Sub(t); d < time.Second {
		return "just now"
	}
	return Duration(now.Sub(t).Round(time.Second)) + " ago"
}
