package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A text the binary or its docs show to a user, and where it is.
type shownText struct {
	where string
	text  string
}

// shownTexts returns what a user can read: every string literal of the
// module's non-test Go files (messages, hints, help), and README.md and
// docs/*.md.
func shownTexts(t *testing.T, root string) []shownText {
	t.Helper()
	var out []shownText
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == ".cache" || name == "testdata" || name == "hack" || (strings.HasPrefix(name, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") && !strings.HasPrefix(rel, "internal/testenv"):
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, shownText{where: fset.Position(lit.Pos()).String(), text: s})
				}
				return true
			})
		case rel == "README.md" || (strings.HasPrefix(rel, "docs/") && strings.HasSuffix(name, ".md")):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fenced := false
			for i, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "```") {
					fenced = !fenced
					continue
				}
				if fenced {
					// A line of a code block is a command line: the
					// indentation makes commandRef read it as one.
					line = "\n  " + line
				}
				out = append(out, shownText{where: rel + ":" + strconv.Itoa(i+1), text: line})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// commandRef finds "k0rdentctl word word --flag ..." where a command is meant:
// after a prompt, "run", a colon, a backtick, a quote or "(", or on an
// indented line (help examples, code blocks). "k0rdentctl builds ..." in
// prose is not a command.
var commandRef = regexp.MustCompile("(?:\\$ |[Rr]un |[Tt]ry |[Uu]se |[Ss]ee |[Tt]hen |with |: |`|\\n[ \\t]{2,}|\\(|\")k0rdentctl((?: +[-a-zA-Z0-9_.=/<>\\[\\]|]+)*)")

// flagToken is a long flag.
var flagToken = regexp.MustCompile(`(?:^|[\s(\x60"'\[])--([a-z][a-z0-9-]*)`)

// otherTools are long flags of other programs that messages and docs quote
// on purpose (what a user runs by hand, or what k0rdent's own controller is
// given), with the program that has them.
var otherTools = map[string]string{
	"registry-cert-secret-name": "the kcm controller's argument",
	"skipApiVersionCheck":       "Azurite",
	"loose":                     "Azurite",
	"disableTelemetry":          "Azurite",
	"no-audit":                  "npm",
	"no-fund":                   "npm",
	"loglevel":                  "npm",
	"prefix":                    "npm",
	"reset-values":              "helm",
	"wait":                      "helm",
	"raw":                       "kubectl config view",
	"now":                       "kubectl delete",
	"timeout":                   "helm",
	"unsafe-no-fsync":           "etcd",
	"fast":                      "",
	"bench":                     "go test",
	"benchmem":                  "go test",
	"benchtime":                 "go test",
	"count":                     "go test",
	"run":                       "go test",
	"fuzz":                      "go test",
	"fuzztime":                  "go test",
	"race":                      "go test",
	"ldflags":                   "go build",
	"trimpath":                  "go build",
	"force":                     "",
	"id":                        "az ad sp credential reset",
	"query":                     "az",
	"image":                     "az vm create",
	"create-management":         "the kcm controller's argument",
	"name":                      "az ad sp create-for-rbac",
	"role":                      "az ad sp create-for-rbac",
	"scopes":                    "az ad sp create-for-rbac",
	"ids":                       "az resource delete",
	"publisher":                 "az vm image list",
	"offer":                     "az vm image list",
	"sku":                       "az vm image list",
	"all":                       "az vm image list",
	"long":                      "cloud-init status",
	"kubeconfig-out":            "k0sctl apply",
	"kubeconfig-api-address":    "k0sctl apply",
}

// checkHints returns every command reference in texts that names a command
// that is not in root's tree, or a flag that the command (or the root's
// persistent flags) does not have, and every long flag no command of the
// tree has and no other tool above is known for.
func checkHints(root *cobra.Command, texts []shownText) []string {
	// cobra adds these two when the program runs; users see them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	allFlags := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { allFlags[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { allFlags[f.Name] = true })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	allFlags["help"] = true

	var problems []string
	for _, st := range texts {
		for _, m := range commandRef.FindAllStringSubmatch(st.text, -1) {
			if p := checkCommandRef(root, m[1]); p != "" {
				problems = append(problems, st.where+": k0rdentctl"+m[1]+": "+p)
			}
		}
		for _, m := range flagToken.FindAllStringSubmatch(st.text, -1) {
			if _, other := otherTools[m[1]]; !allFlags[m[1]] && !other {
				problems = append(problems, st.where+": --"+m[1]+" is no flag of any k0rdentctl command")
			}
		}
	}
	return problems
}

// proseWords after "k0rdentctl" make it the subject of a sentence, not a
// command ("mode azure: k0rdentctl builds the VMs").
var proseWords = map[string]bool{
	"builds": true, "build": true, "generates": true, "does": true, "reads": true, "knows": true,
	"deploys": true, "creates": true, "created": true, "writes": true, "wrote": true, "keeps": true,
	"uses": true, "makes": true, "made": true, "never": true, "only": true, "is": true, "has": true,
	"will": true, "would": true, "cannot": true, "can": true, "installs": true, "installed": true,
	"runs": true, "checks": true, "sets": true, "puts": true, "copies": true, "tags": true, "labels": true,
}

// checkCommandRef checks the words after "k0rdentctl": the command path they
// start with exists, and the long flags after it are the command's.
func checkCommandRef(root *cobra.Command, rest string) string {
	words := strings.Fields(rest)
	if len(words) > 0 && proseWords[words[0]] {
		return ""
	}
	cmd := root
	i := 0
	for ; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") || !cmd.HasSubCommands() {
			break
		}
		if strings.ContainsAny(w, "<>[]|.=/") || strings.ToUpper(w) == w {
			break // a placeholder such as NAME, <name> or [NAME...]
		}
		next, _, err := cmd.Find([]string{w})
		if err != nil || next == cmd {
			if cmd == root && i == 0 {
				return "no such command " + strconv.Quote(w)
			}
			return "no such command " + strconv.Quote(cmd.CommandPath()+" "+w)
		}
		cmd = next
	}
	afterFlag := false
	for ; i < len(words); i++ {
		name, ok := strings.CutPrefix(words[i], "--")
		if !ok {
			w := words[i]
			if afterFlag || strings.HasPrefix(w, "-") || strings.ContainsAny(w, "<>[]|.=/") || strings.ToUpper(w) == w {
				afterFlag = false // a flag's value, a short flag or a placeholder
				continue
			}
			break // a plain word: the sentence goes on ("... setup before deploy")
		}
		afterFlag = !strings.Contains(name, "=")
		name, _, _ = strings.Cut(name, "=")
		if name == "" || name == "help" {
			continue
		}
		if cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil && cmd.PersistentFlags().Lookup(name) == nil {
			return cmd.CommandPath() + " has no flag --" + name
		}
	}
	return ""
}

// Every "k0rdentctl ..." a message, help text or doc tells a user to run is a
// real command with real flags, and every --flag shown exists; the tree is
// walked, so commands added later are accepted without changing this test.
func TestHintsNameRealCommandsAndFlags(t *testing.T) {
	root := NewRootCommand(&Options{})
	texts := shownTexts(t, filepath.Join("..", ".."))
	if len(texts) < 500 {
		t.Fatalf("found only %d texts to check; the scan is broken", len(texts))
	}
	for _, p := range checkHints(root, texts) {
		t.Error(p)
	}
}

// The checker itself finds what it must.
func TestCheckHintsFindsBadReferences(t *testing.T) {
	root := NewRootCommand(&Options{})
	bad := []shownText{
		{"a", "then run: k0rdentctl credentials renew"},
		{"b", "see `k0rdentctl region stat`"},
		{"c", "run k0rdentctl status --no-such-flag"},
		{"d", "choose another with --context"},
	}
	for _, b := range bad {
		if got := checkHints(root, []shownText{b}); len(got) == 0 {
			t.Errorf("%q: no problem found", b.text)
		}
	}
	good := []shownText{
		{"e", "run k0rdentctl region status NAME -o json --kubeconfig x"},
		{"f", "k0rdentctl builds no VMs"},
		{"h", "\n  k0rdentctl completion bash|zsh"},
		{"g", "`k0rdentctl config init --template existing -c -`"},
	}
	if got := checkHints(root, good); len(got) != 0 {
		t.Fatalf("false alarms: %q", got)
	}
}
