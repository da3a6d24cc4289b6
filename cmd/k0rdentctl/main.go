// Command k0rdentctl deploys and runs k0rdent 1.5 on Azure from one YAML file.
package main

import (
	"os"

	"github.com/k0rdentctl/k0rdentctl/internal/cli"
)

// Set at link time by the Makefile (-ldflags -X).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.BuildInfo{Version: version, Commit: commit, Date: date}))
}
