package ui

import (
	"strings"
	"unicode/utf8"
)

// VisibleWidth is how many columns s takes on a terminal: runes, not
// counting ANSI colour sequences.
func VisibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			if j := strings.IndexByte(s[i:], 'm'); j >= 0 {
				i += j + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// Truncate shortens plain text s to at most width runes, ending it with "…"
// when it was cut. width <= 0 means no limit.
func Truncate(s string, width int) string {
	if width <= 0 || utf8.RuneCountInString(s) <= width {
		return s
	}
	if width == 1 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:width-1]), " ") + "…"
}

// FitLines makes every line of text at most width columns wide: a longer line
// is wrapped at spaces, its continuation lines indented four columns more
// than the line itself. A word longer than the room left is cut where it
// must. width <= 0 returns text unchanged.
func FitLines(text string, width int) string {
	if width <= 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	var out []string
	for _, line := range lines {
		out = append(out, fitLine(line, width)...)
	}
	return strings.Join(out, "\n")
}

func fitLine(line string, width int) []string {
	if VisibleWidth(line) <= width {
		return []string{line}
	}
	indent := len(line) - len(strings.TrimLeft(line, " "))
	cont := strings.Repeat(" ", min(indent+4, width/2))
	var out []string
	cur, curW, empty := line[:indent], indent, true
	flush := func() {
		out = append(out, strings.TrimRight(cur, " "))
		cur, curW, empty = cont, len(cont), true
	}
	// Words keep the spaces before them (aligned columns stay aligned) except
	// at the start of a continuation line.
	for _, tok := range words(line[indent:]) {
		word := strings.TrimLeft(tok, " ")
		gap := len(tok) - len(word)
		w := VisibleWidth(word)
		if !empty && curW+gap+w > width {
			flush()
		}
		if !empty {
			cur += tok[:gap]
			curW += gap
		}
		// A word longer than the room left on a fresh line is cut.
		for curW+w > width {
			room := width - curW
			if room <= 0 {
				flush()
				continue
			}
			r := []rune(word)
			cur += string(r[:room])
			flush()
			word = string(r[room:])
			w = VisibleWidth(word)
		}
		cur += word
		curW += w
		empty = false
	}
	if !empty {
		out = append(out, cur)
	}
	return out
}

// words splits s into words, each with the spaces before it.
func words(s string) []string {
	var out []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || (s[i] == ' ' && s[i-1] != ' ') {
			out = append(out, s[start:i])
			start = i
		}
	}
	return out
}
