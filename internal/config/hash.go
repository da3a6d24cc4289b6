package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"gopkg.in/yaml.v3"
)

// Hash returns the SHA-256 (hex) of the normalised effective configuration in
// data: the file decoded, defaults applied, and rendered canonically. Key
// order, comments, formatting, and writing a default explicitly or leaving it
// out do not change the hash; any change of an effective value does. Used to
// notice a configuration that changed before a resume. A file that is not
// valid YAML hashes its raw bytes (with a distinct prefix), so it still has a
// stable hash.
func Hash(data []byte) string {
	cfg, _ := Decode(data)
	if cfg == nil {
		return hashBytes(append([]byte("raw:"), data...))
	}
	return HashConfig(cfg)
}

// HashConfig is Hash of an already decoded configuration (defaults are
// applied to a copy first).
func HashConfig(c *Config) string {
	eff := c.clone()
	eff.ApplyDefaults()
	b, err := json.Marshal(eff)
	if err != nil {
		// Values JSON cannot carry (NaN, infinities): YAML renders them.
		b, err = marshalYAML(eff)
		if err != nil {
			return hashBytes([]byte("unhashable"))
		}
		b = append([]byte("yaml:"), b...)
	}
	return hashBytes(b)
}

func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Marshal renders the effective configuration as YAML, for `config show`:
// defaults are applied to a copy first, so the output shows every value that
// will be used. The output parses back into the same configuration.
func Marshal(c *Config) ([]byte, error) {
	eff := c.clone()
	eff.ApplyDefaults()
	return marshalYAML(eff)
}

func marshalYAML(c *Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// clone deep-copies a configuration by rendering it as YAML and decoding it
// again (which keeps the exact types of free-form values).
func (c *Config) clone() *Config {
	if c == nil {
		return &Config{}
	}
	if b, err := marshalYAML(c); err == nil {
		if out, diags := Decode(b); out != nil && !diags.HasErrors() {
			return out
		}
	}
	// Cannot happen for a decoded configuration; a shallow copy keeps
	// ApplyDefaults from failing, at worst filling the caller's nested
	// pointers with defaults.
	cp := *c
	return &cp
}
