package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// Export writes r as "json" (indented) or "yaml", with the record's own
// snake_case keys.
func Export(w io.Writer, r *Record, format string) error {
	if r == nil {
		return errors.New("exporting the state record: no record given")
	}
	if r.EventLog != nil {
		return fmt.Errorf("exporting the state record of %s: it was read without its events; read it with Load", r.DeploymentID)
	}
	var data []byte
	var err error
	switch strings.ToLower(format) {
	case "json":
		data, err = json.MarshalIndent(r, "", "  ")
		data = append(data, '\n')
	case "yaml", "yml":
		data, err = yaml.Marshal(r)
	default:
		return fmt.Errorf("exporting the state record: unknown format %q; use json or yaml", format)
	}
	if err != nil {
		return fmt.Errorf("exporting the state record of %s: %w", r.DeploymentID, err)
	}
	if err := checkNoSecrets(data); err != nil {
		return fmt.Errorf("exporting the state record of %s: %w", r.DeploymentID, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("exporting the state record of %s: %w", r.DeploymentID, err)
	}
	return nil
}

// Import reads a record exported as JSON or YAML (detected from the content)
// and checks it: known fields only, a schema version this build reads, a
// valid deployment id, known phase and regional statuses, and no secrets.
func Import(data []byte) (*Record, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte-order mark some editors add
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("the file is empty; expected a record written by `k0rdentctl state export`")
	}
	var r Record
	if trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("not a valid JSON state record: %w", err)
		}
		if dec.More() {
			return nil, errors.New("not a valid JSON state record: more data follows the record")
		}
	} else if err := yaml.UnmarshalStrict(trimmed, &r); err != nil {
		return nil, fmt.Errorf("not a valid YAML state record: %w", err)
	}
	r.EventLog = nil // a file's own pointer into a store's log means nothing here
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("not a usable state record:\n%w", err)
	}
	if enc, err := yaml.Marshal(&r); err != nil {
		return nil, fmt.Errorf("not a usable state record: %w", err)
	} else if err := checkNoSecrets(enc); err != nil {
		return nil, fmt.Errorf("refusing the record: %w", err)
	}
	return &r, nil
}
