package cli

import (
	"fmt"
	"io"
	"sync"

	"github.com/k0rdentctl/k0rdentctl/internal/ui"
)

// emit writes a command's result: v as JSON or YAML when -o asks for it,
// otherwise what render prints for people. Every command's result goes
// through it, so -o json|yaml always carries the same object.
func (o *Options) emit(v any, render func(w io.Writer, st ui.Style)) error {
	return o.emitTo(o.IO.Out, v, render)
}

// emitTo is emit writing to w.
func (o *Options) emitTo(w io.Writer, v any, render func(w io.Writer, st ui.Style)) error {
	if o.structured() {
		return ui.WriteData(w, o.Output, v)
	}
	if render != nil {
		render(w, o.style())
	}
	return nil
}

// progressOut is where progress lines go: standard output for people,
// standard error when standard output carries JSON or YAML.
func (o *Options) progressOut() io.Writer {
	if o.structured() {
		return o.IO.ErrOut
	}
	return o.IO.Out
}

// progressFunc prints timestamped progress lines to progressOut; operations
// report from their own goroutines, so lines are written one at a time.
func (o *Options) progressFunc() func(string) {
	w := o.progressOut()
	st := o.style()
	var mu sync.Mutex
	return func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "  %s %s\n", st.Dim(o.now().Format("15:04:05")), s)
	}
}
