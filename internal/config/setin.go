package config

import "strings"

// SetIn sets the value at a dotted path (a.b.c) of a YAML document read as
// maps, making the maps on the way (a value that is not a map is
// replaced by one).
func SetIn(doc map[string]any, dotted string, v any) {
	keys := strings.Split(dotted, ".")
	m := doc
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}
