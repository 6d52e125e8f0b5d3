package policy

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseTokensToRoles checks that any input either fails with an error naming the
// variable, or parses so that every plaintext key resolves to its role.
func FuzzParseTokensToRoles(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"t": "ops"}`, `{"` + hashedKey("x") + `": "read"}`, `{"sha256:ab": "x"}`,
		`{"a": 1}`, `{"a": "b", "a": "c"}`, `[`, `{"\u00e9\ud800": "r"}`, `{"x":"y"} z`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseConfig(raw, "")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "TOKENS_TO_ROLES: ") {
				t.Fatalf("error %q does not name the variable", err)
			}
			return
		}
		var m map[string]string
		if strings.TrimSpace(raw) == "" {
			return
		}
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("ParseConfig accepted %q, json.Unmarshal refuses it: %v", raw, err)
		}
		if len(cfg.tokens) != len(m) {
			t.Fatalf("parsed %d entries, json sees %d", len(cfg.tokens), len(m))
		}
		for key, role := range m {
			if strings.HasPrefix(key, hashedPrefix) {
				continue
			}
			if got, ok := lookupRole(cfg.tokens, key); !ok || got != role {
				t.Fatalf("lookupRole(key of %q) = %q, %v", role, got, ok)
			}
		}
	})
}

// FuzzParseRolesToTools checks that any input either fails with an error naming the
// variable, or parses into the same roles json.Unmarshal sees.
func FuzzParseRolesToTools(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"ops": ["list_vms", "*"]}`, `{"ops": "x"}`, `{"": []}`, `{"a": [1]}`,
		`{"a": [], "a": []}`, `{"a": ["x", "x"]}`, `{"a": null}`, `{`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseConfig("", raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ROLES_TO_TOOLS: ") {
				t.Fatalf("error %q does not name the variable", err)
			}
			return
		}
		if strings.TrimSpace(raw) == "" {
			return
		}
		var m map[string][]string
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("ParseConfig accepted %q, json.Unmarshal refuses it: %v", raw, err)
		}
		if len(cfg.roles) != len(m) {
			t.Fatalf("parsed %d roles, json sees %d", len(cfg.roles), len(m))
		}
		if _, _, err := New(cfg, testCatalogue, withToolsets(Options{AuthEnforce: true})); err != nil && !strings.Contains(err.Error(), "which has no tools") {
			t.Fatalf("New: %v", err)
		}
	})
}
