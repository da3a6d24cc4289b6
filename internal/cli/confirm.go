package cli

import (
	"bufio"
	"errors"
	"fmt"
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
		return refusedError(fmt.Errorf("%s needs confirmation and there is no terminal to ask on; run it again with -y if that is what you want", question))
	}
	fmt.Fprintf(o.IO.ErrOut, "%s [y/N] ", question)
	line, err := bufio.NewReader(o.IO.In).ReadString('\n')
	if err != nil && line == "" {
		return refusedError(errors.New("no answer; nothing was changed"))
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return refusedError(errors.New("not confirmed; nothing was changed"))
}
