package config

import (
	"strings"
	"testing"
)

// A template or example of mode azure says what deploy builds and what
// this machine needs, on its second line and through TemplateNote; the
// others do not, and at least one template is of mode existing.
func TestTemplatesSayWhatModeAzureNeeds(t *testing.T) {
	deployable := 0
	for _, tpl := range Templates() {
		b, err := TemplateContent(tpl.Name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, diags := Parse(b)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", tpl.Name, diags)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		marked := len(lines) > 1 && lines[1] == AzureNote
		if azure := cfg.Management.Mode == ModeAzure; azure != marked || azure != (TemplateNote(tpl.Name) != "") {
			t.Errorf("%s: mode %s, marked as mode azure %v, note %q", tpl.Name, cfg.Management.Mode, marked, TemplateNote(tpl.Name))
		}
		if !marked && !tpl.Example {
			deployable++
		}
	}
	if deployable == 0 {
		t.Error("no template is of mode existing")
	}
}
