package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// readOnlyCommands are the commands that only read: run in any folder, they
// must leave it exactly as they found it, whether they succeed or fail.
var readOnlyCommands = [][]string{
	{"status"},
	{"status", "-o", "json"},
	{"events"},
	{"events", "--tail", "5"},
	{"config", "templates"},
	{"config", "schema"},
	{"config", "validate"},
	{"config", "show"},
	{"plan"},
	{"plan", "--with-regional", "-o", "json"},
	{"state", "history"},
	{"state", "show-backend"},
	{"region", "status"},
	{"k0rdent", "status"},
	{"credentials", "status"},
	{"vpn", "status"},
	{"version"},
	{"completion", "bash"},
}

// treeOf lists every file and folder below dir with its mode.
func treeOf(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Read-only commands, and the help of every command, create nothing: not in
// an empty folder (where the defaults ./k0rdent.yaml and ./state are
// missing), not in a folder with a configuration and no state yet.
func TestReadOnlyCommandsWriteNothing(t *testing.T) {
	empty := t.TempDir()
	withConfig := t.TempDir()
	if r := run(t, "config", "init", "--template", "multi-region", "-c", filepath.Join(withConfig, "k0rdent.yaml")); r.code != ExitOK {
		t.Fatalf("config init: %d %s", r.code, r.err)
	}
	// Every command's help, found by walking the tree, so that commands
	// added later are covered too.
	cmds := append([][]string{}, readOnlyCommands...)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.Fields(c.CommandPath())[1:]
		cmds = append(cmds, append(append([]string{}, path...), "--help"))
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCommand(&Options{}))

	for _, dir := range []string{empty, withConfig} {
		t.Chdir(dir)
		before := treeOf(t, dir)
		for _, args := range cmds {
			run(t, args...)
			if after := treeOf(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Fatalf("k0rdentctl %s in %s changed the folder:\nbefore: %v\nafter:  %v", strings.Join(args, " "), dir, before, after)
			}
		}
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Fatalf("the empty folder is no longer empty: %v %v", entries, err)
	}
}
