package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the work of decoding one file (aliases can make a small
// file expand into a huge tree).
const maxNodes = 50_000

// maxAliasDepth bounds nested alias resolution.
const maxAliasDepth = 32

// Decode strictly decodes data into a Config without applying defaults or
// validating. It reports every problem it meets: YAML syntax errors (with
// their line), unknown or misspelt keys (with their line and a "did you mean"),
// duplicate keys, and values of the wrong type (with their field path). The
// Config is nil only when the YAML cannot be parsed at all; otherwise it holds
// everything that could be decoded.
func Decode(data []byte) (*Config, Diagnostics) {
	r := decodeFile(data)
	return r.cfg, r.diags
}

// Parse decodes data strictly, applies the defaults and validates the result,
// returning every problem at once; each diagnostic carries its field path and,
// where the field is in the file, its line. The Config is nil only when the
// YAML cannot be parsed at all. A Config returned with errors must not be used
// to act on anything.
func Parse(data []byte) (*Config, Diagnostics) {
	r := decodeFile(data)
	if r.cfg == nil {
		return nil, r.diags
	}
	r.cfg.ApplyDefaults()
	diags := r.diags
	for _, d := range Validate(r.cfg) {
		if r.failedUnder(d.Path) {
			// The field could not be decoded; that error says it already.
			continue
		}
		if d.Line == 0 {
			d.Line = r.lineOf(d.Path)
		}
		diags = append(diags, d)
	}
	return r.cfg, diags
}

// Load reads the configuration file at path and parses it (see Parse). It
// returns the file's bytes too (for Hash and the state snapshot). The error is
// only for I/O; problems with the content are in the Diagnostics.
func Load(path string) (*Config, []byte, Diagnostics, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read configuration %s: %w", path, err)
	}
	cfg, diags := Parse(data)
	return cfg, data, diags, nil
}

type decodeResult struct {
	cfg    *Config
	diags  Diagnostics
	lines  map[string]int // field path -> line
	failed []string       // paths that could not be decoded
}

func (r *decodeResult) lineOf(path string) int {
	for p := path; ; {
		if l, ok := r.lines[p]; ok {
			return l
		}
		parent, ok := parentPath(p)
		if !ok {
			return 0
		}
		p = parent
	}
}

func (r *decodeResult) failedUnder(path string) bool {
	for _, f := range r.failed {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return true
		}
	}
	return false
}

// parentPath strips the last ".key" or "[i]" of a field path.
func parentPath(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return "", true
	}
	return p[:i], true
}

var yamlLineRe = lazyRegexp(`line (\d+)`)

func decodeFile(data []byte) (res decodeResult) {
	res.lines = map[string]int{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := safeYAML(func() error { return dec.Decode(&doc) })
	if errors.Is(err, io.EOF) {
		// An empty file (or only comments) is an empty configuration.
		res.cfg = &Config{}
		return res
	}
	if err != nil {
		res.diags = append(res.diags, syntaxDiagnostic(err))
		return res
	}
	var extra yaml.Node
	switch err := safeYAML(func() error { return dec.Decode(&extra) }); {
	case errors.Is(err, io.EOF):
	case err != nil:
		res.diags = append(res.diags, syntaxDiagnostic(err))
		return res
	default:
		res.diags = append(res.diags, Diagnostic{
			Line: extra.Line, Severity: SeverityError,
			Message: "the file holds more than one YAML document (a second '---'); keep one configuration per file",
		})
	}
	res.cfg = &Config{}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return res
		}
		root = root.Content[0]
	}
	d := &decoder{res: &res, active: map[*yaml.Node]bool{}}
	d.decode(root, reflect.ValueOf(res.cfg).Elem(), "", 0)
	return res
}

// safeYAML runs a call into the YAML library, turning a panic inside it into
// an error so that malformed input can never crash the program.
func safeYAML(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed on this input: %v", r)
		}
	}()
	return f()
}

func syntaxDiagnostic(err error) Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRe().FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	return Diagnostic{
		Line: line, Severity: SeverityError,
		Message: "invalid YAML: " + msg,
		Hint:    "check indentation (spaces, not tabs) and quoting on or just before that line",
	}
}

type decoder struct {
	res    *decodeResult
	nodes  int
	abort  bool
	active map[*yaml.Node]bool // aliased nodes being decoded (cycle check)
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (d *decoder) fail(path string, line int, msg, hint string) {
	d.res.diags = append(d.res.diags, Diagnostic{Path: path, Line: line, Severity: SeverityError, Message: msg, Hint: hint})
	d.res.failed = append(d.res.failed, path)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, aliasDepth int) {
	if d.abort {
		return
	}
	d.nodes++
	if d.nodes > maxNodes {
		d.abort = true
		d.fail(path, n.Line, "the file is too large or expands too much through YAML aliases", "")
		return
	}
	if n.Kind == yaml.AliasNode {
		if aliasDepth >= maxAliasDepth || n.Alias == nil {
			d.fail(path, n.Line, "YAML aliases are nested too deeply", "")
			return
		}
		if d.active[n.Alias] {
			d.fail(path, n.Line, fmt.Sprintf("YAML alias *%s refers to a value that contains it", n.Value), "")
			return
		}
		d.active[n.Alias] = true
		d.decode(n.Alias, v, path, aliasDepth+1)
		delete(d.active, n.Alias)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" or "key: null" leaves the zero value (the default).
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		target := reflect.New(v.Type())
		if err := safeYAML(func() error { return n.Decode(target.Interface()) }); err != nil {
			d.fail(path, n.Line, typeErrorMessage(err), "")
			return
		}
		v.Set(target.Elem())
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		before := len(d.res.failed)
		d.decode(n, elem.Elem(), path, aliasDepth)
		// Keep what decoded unless the value itself was wrong (a problem
		// deeper down leaves the rest of a struct usable).
		if !slices.Contains(d.res.failed[before:], path) {
			v.Set(elem)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path, aliasDepth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n.Line, fmt.Sprintf("expected a list, got %s", nodeKindName(n)), "write a list as '- item' lines or [a, b]")
			return
		}
		if len(n.Content) == 0 {
			return // "[]" is the same as no list
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.res.lines[p] = item.Line
			d.decode(item, s.Index(i), p, aliasDepth)
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path, aliasDepth)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, aliasDepth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, fmt.Sprintf("expected a mapping of keys to values, got %s", nodeKindName(n)), "")
		return
	}
	fields := map[string]int{}
	var names []string
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	d.merges(n, path, aliasDepth, func(m *yaml.Node) { d.decodeStruct(m, v, path, aliasDepth+1) })
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if isMergeKey(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k.Line, fmt.Sprintf("expected a key, got %s", nodeKindName(k)), "")
			continue
		}
		key := k.Value
		p := joinPath(path, key)
		if first, dup := seen[key]; dup {
			d.fail(p, k.Line, fmt.Sprintf("duplicate key %q (first at line %d); keep one", key, first), "")
			continue
		}
		seen[key] = k.Line
		idx, ok := fields[key]
		if !ok && path == "" && strings.HasPrefix(key, "x-") {
			// Top-level x- keys are ignored: a home for YAML anchors.
			continue
		}
		if !ok {
			msg := fmt.Sprintf("unknown key %q", key)
			if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			hint := "valid keys here: " + strings.Join(sortedCopy(names), ", ")
			d.fail(p, k.Line, msg, hint)
			continue
		}
		d.res.lines[p] = k.Line
		d.decode(val, v.Field(idx), p, aliasDepth)
	}
}

// isMergeKey reports whether k is the YAML merge key "<<" (unquoted).
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0
}

// merges decodes the YAML merge keys of mapping n ("<<: *defaults",
// "<<: [*a, *b]") through decode, before the mapping's own keys so that
// those override merged ones; of several merged mappings the first wins.
func (d *decoder) merges(n *yaml.Node, path string, aliasDepth int, decode func(*yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !isMergeKey(k) {
			continue
		}
		if aliasDepth >= maxAliasDepth {
			d.fail(path, k.Line, "YAML merge keys are nested too deeply", "")
			return
		}
		sources := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			sources = nil
			for j := len(val.Content) - 1; j >= 0; j-- {
				sources = append(sources, val.Content[j])
			}
		}
		for _, src := range sources {
			d.nodes++
			if d.nodes > maxNodes {
				d.abort = true
				d.fail(path, k.Line, "the file is too large or expands too much through YAML aliases", "")
				return
			}
			for src.Kind == yaml.AliasNode && src.Alias != nil {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				d.fail(path, k.Line, "a merge key (<<) needs a mapping or a list of mappings, e.g. <<: *defaults", "")
				continue
			}
			if src == n || d.active[src] {
				d.fail(path, k.Line, "a merge key (<<) refers to a mapping that contains it", "")
				continue
			}
			d.active[src] = true
			decode(src)
			delete(d.active, src)
			if d.abort {
				return
			}
		}
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, aliasDepth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, fmt.Sprintf("expected a mapping of keys to values, got %s", nodeKindName(n)), "")
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(path, n.Line, "unsupported map type", "")
		return
	}
	if v.Type().Elem().Kind() == reflect.Interface {
		// Free-form values (chart values): decoded as YAML decodes them
		// (merge keys included), then keys made strings so they convert to
		// JSON.
		var m map[string]any
		if err := safeYAML(func() error { return n.Decode(&m) }); err != nil {
			d.fail(path, n.Line, typeErrorMessage(err), "")
			return
		}
		if len(m) > 0 { // "values: {}" is the same as no values
			v.Set(reflect.ValueOf(normalizeValues(m)))
		}
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	d.fillMap(n, m, path, aliasDepth)
	if m.Len() > 0 {
		v.Set(m)
	}
}

// fillMap sets the entries of mapping n into map m.
func (d *decoder) fillMap(n *yaml.Node, m reflect.Value, path string, aliasDepth int) {
	d.merges(n, path, aliasDepth, func(src *yaml.Node) { d.fillMap(src, m, path, aliasDepth+1) })
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k.Line, fmt.Sprintf("expected a key, got %s", nodeKindName(k)), "")
			continue
		}
		p := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(p, k.Line, fmt.Sprintf("duplicate key %q (first at line %d); keep one", k.Value, first), "")
			continue
		}
		seen[k.Value] = k.Line
		d.res.lines[p] = k.Line
		elem := reflect.New(m.Type().Elem()).Elem()
		d.decode(val, elem, p, aliasDepth)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(m.Type().Key()), elem)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	want := kindName(v.Kind())
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n.Line, fmt.Sprintf("expected %s, got %s", want, nodeKindName(n)), "")
		return
	}
	if v.Kind() == reflect.String {
		// Any scalar is text as written: "version: 1.5.0", "zone: 1".
		v.SetString(n.Value)
		return
	}
	target := reflect.New(v.Type())
	if err := safeYAML(func() error { return n.Decode(target.Interface()) }); err != nil {
		hint := ""
		if v.Kind() == reflect.Bool {
			hint = "write true or false"
		}
		d.fail(path, n.Line, fmt.Sprintf("expected %s, got %q", want, n.Value), hint)
		return
	}
	v.Set(target.Elem())
}

func typeErrorMessage(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = strings.Join(te.Errors, "; ")
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = yamlLineRe().ReplaceAllString(msg, "")
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), ":"))
}

func joinPath(base, key string) string {
	if needsQuoting(key) {
		key = strconv.Quote(key)
	}
	if base == "" {
		return key
	}
	return base + "." + key
}

func needsQuoting(key string) bool {
	if key == "" {
		return true
	}
	for _, r := range key {
		if !(r == '_' || r == '-' || r == '/' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return true
		}
	}
	return false
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	default:
		return "a " + k.String()
	}
}

func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// normalizeValues turns YAML-decoded free-form values into JSON-compatible
// ones: map keys become strings.
func normalizeValues(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = normalizeValue(v)
	}
	return out
}

func normalizeValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return normalizeValues(t)
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[fmt.Sprint(k)] = normalizeValue(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = normalizeValue(val)
		}
		return out
	}
	return v
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// lazyRegexp compiles a pattern on first use, so that commands which never
// validate do not pay for it at start-up.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
