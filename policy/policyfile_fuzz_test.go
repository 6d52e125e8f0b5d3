package policy

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParsePolicyFile feeds arbitrary POLICY_FILE contents to the parser:
// it must not panic, every error must name the file, no error may quote a
// token from tokens_to_roles, and what parses must build a policy.
func FuzzParsePolicyFile(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `[]`, `null`,
		`{"tokens_to_roles":{"` + tokAlice + `":"ops"},"roles_to_tools":{"ops":["list_vms","*"]}}`,
		`{"tokens_to_roles":{"` + hashedKey(tokBob) + `":"read"}}`,
		`{"tokens_to_roles":{"` + tokAlice + `":1}}`, `{"tokens_to_roles":{"` + tokAlice + `":"a","` + tokAlice + `":"b"}}`,
		`{"tokens_to_roles":{"sha256:zz":"read"}}`, `{"roles_to_tools":{"ops":"list_vms"}}`, `{"roles_to_tools":{"":[]}}`,
		`{"tokens_to_roles":{},"tokens_to_roles":{}}`, `{"token_to_roles":{}}`, `{"tokens_to_roles":{"` + tokAlice + `":"ops",}}`,
		`{"roles_to_tools":{"ops":["list_vms",null]}}`, "{\"tokens_to_roles\":{\"\xff\":\"r\"}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const where = "POLICY_FILE /etc/vsphere-mcp-pro/policy.json"
		cfg, err := parsePolicyFile(where, data)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, where+": ") {
				t.Fatalf("error %q does not name the file", msg)
			}
			for _, key := range tokenKeys(data) {
				// A token-like key: long, not plain words, not in the file name.
				tokenLike := len(key) >= 8 && strings.ContainsFunc(key, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' && r != ' ' })
				if tokenLike && !strings.Contains(where, key) && strings.Contains(msg, key) {
					t.Fatalf("error %q quotes the token key %q", msg, key)
				}
			}
			return
		}
		if _, _, err := New(cfg, testCatalogue, withToolsets(Options{AuthEnforce: true})); err != nil && !strings.Contains(err.Error(), "which has no tools") {
			t.Fatalf("parsed, but New: %v", err)
		}
		if s := cfg.String(); strings.Contains(s, "sha256") {
			t.Fatalf("Config.String() = %q shows digests", s)
		}
	})
}

// tokenKeys returns, as far as data parses, the keys of its tokens_to_roles.
func tokenKeys(data []byte) []string {
	var doc map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil {
		return nil
	}
	var tokens map[string]json.RawMessage
	if json.Unmarshal(doc["tokens_to_roles"], &tokens) != nil {
		return nil
	}
	keys := make([]string, 0, len(tokens))
	for k := range tokens {
		keys = append(keys, k)
	}
	return keys
}
