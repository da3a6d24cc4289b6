package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// confirm asks a yes/no question on the terminal. -y answers yes; with no
// terminal and no -y the command is refused (exit 3), so that a script never
// destroys something by accident.
func (o *Options) confirm(question string) error {
	if o.Yes {
		return nil
	}
	if !o.IO.InTerminal {
		return refusedError(fmt.Errorf("cannot ask %q: there is no terminal; nothing was changed. Run it again with -y to answer yes", question))
	}
	fmt.Fprintf(o.IO.ErrOut, "%s [y/N] ", question)
	line, err := bufio.NewReader(o.IO.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return refusedError(errors.New("not confirmed; nothing was changed"))
}
