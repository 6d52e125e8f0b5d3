package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Tokens used by the tests; none may ever appear in an error or warning.
const (
	tokAlice = "alice-Zq8vT3nK5mW1pR7x"
	tokBob   = "bob-Hx4cL9sD2fG6jK0b"
)

func hashedKey(token string) string {
	d := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(d[:])
}

func TestParseConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name          string
		tokens, roles string
		want          string
	}{
		{
			name:   "invalid JSON",
			tokens: `{"` + tokAlice + `": "ops",}`,
			want:   "TOKENS_TO_ROLES: invalid JSON at offset 33: invalid character '}' looking for beginning of object key string",
		},
		{
			name:   "unterminated",
			tokens: `{"` + tokAlice + `": "ops"`,
			want:   "TOKENS_TO_ROLES: invalid JSON at offset 32: unexpected end of JSON input",
		},
		{
			name:   "not an object",
			tokens: `["` + tokAlice + `"]`,
			want:   "TOKENS_TO_ROLES: want a JSON object, got a list",
		},
		{
			name:   "data after the object",
			tokens: `{"` + tokAlice + `": "ops"} {}`,
			want:   "TOKENS_TO_ROLES: invalid JSON at offset 34: invalid character '{' after top-level value",
		},
		{
			name:   "role not a string",
			tokens: `{"` + tokAlice + `": 7}`,
			want:   "TOKENS_TO_ROLES: entry 1 at offset 27: role is a number, want a string",
		},
		{
			name:   "role is a list",
			tokens: `{"` + tokBob + `": "read", "` + tokAlice + `": ["ops"]}`,
			want:   "TOKENS_TO_ROLES: entry 2 at offset 59: role is a list, want a string",
		},
		{
			name:   "empty role",
			tokens: `{"` + tokAlice + `": ""}`,
			want:   "TOKENS_TO_ROLES: entry 1 at offset 27: empty role",
		},
		{
			name:   "empty token key",
			tokens: `{"": "ops"}`,
			want:   "TOKENS_TO_ROLES: entry 1 at offset 5: empty token key",
		},
		{
			name:   "short sha256 key",
			tokens: `{"sha256:` + hex.EncodeToString([]byte(tokAlice))[:20] + `": "ops"}`,
			want:   `TOKENS_TO_ROLES: entry 1 at offset 32: key starts with "sha256:" but is followed by 20 characters, want 64 hex digits`,
		},
		{
			name:   "sha256 key not hex",
			tokens: `{"sha256:` + strings.Repeat("zq", 32) + `": "ops"}`,
			want:   `TOKENS_TO_ROLES: entry 1 at offset 76: key starts with "sha256:" but is not followed by 64 hex digits`,
		},
		{
			name:   "short plain token",
			tokens: `{"` + tokBob + `": "read", "hunter2-short": "admin"}`,
			want:   "TOKENS_TO_ROLES: entry 2 at offset 50: token shorter than 16 characters: use a random token of at least 16, e.g. from: openssl rand -hex 16",
		},
		{
			name:   "15 characters, multi-byte",
			tokens: `{"` + strings.Repeat("é", 15) + `": "read"}`,
			want:   "TOKENS_TO_ROLES: entry 1 at offset 35: token shorter than 16 characters: use a random token of at least 16, e.g. from: openssl rand -hex 16",
		},
		{
			name:   "same token plain and hashed",
			tokens: `{"` + tokAlice + `": "ops", "` + hashedKey(tokAlice) + `": "admin"}`,
			want:   "TOKENS_TO_ROLES: entries 1 and 2 name the same token",
		},
		{
			name:  "tools not a list",
			roles: `{"ops": "list_vms"}`,
			want:  `ROLES_TO_TOOLS: role "ops" at offset 8: tools are a string, want a list of tool names`,
		},
		{
			name:  "tools null",
			roles: `{"ops": null}`,
			want:  `ROLES_TO_TOOLS: role "ops" at offset 8: tools are null, want a list of tool names`,
		},
		{
			name:  "tool name not a string",
			roles: `{"ops": ["list_vms", 3]}`,
			want:  `ROLES_TO_TOOLS: role "ops" at offset 8: item 2: tool name is a number, want a string`,
		},
		{
			name:  "empty tool name",
			roles: `{"ops": [""]}`,
			want:  `ROLES_TO_TOOLS: role "ops" at offset 8: item 1: empty tool name`,
		},
		{
			name:  "empty role name",
			roles: `{"": ["list_vms"]}`,
			want:  `ROLES_TO_TOOLS: entry 1 at offset 5: empty role name`,
		},
		{
			name:  "role twice",
			roles: `{"ops": [], "ops": ["list_vms"]}`,
			want:  `ROLES_TO_TOOLS: role "ops" at offset 19: appears twice`,
		},
		{
			name:  "token pasted as a role name is hidden",
			roles: `{"` + tokAlice + `": "ops"}`,
			want:  `ROLES_TO_TOOLS: role <hidden 22-character name> at offset 27: tools are a string, want a list of tool names`,
		},
		{
			name:   "both variables broken",
			tokens: `{"` + tokAlice + `": 1}`,
			roles:  `[]`,
			want: "TOKENS_TO_ROLES: entry 1 at offset 27: role is a number, want a string\n" +
				"ROLES_TO_TOOLS: want a JSON object, got a list",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.tokens, tt.roles)
			if err == nil {
				t.Fatalf("ParseConfig(%q, %q) = nil error, want %q", tt.tokens, tt.roles, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("ParseConfig(%q, %q) error:\n got %q\nwant %q", tt.tokens, tt.roles, got, tt.want)
			}
			assertNoSecret(t, err.Error())
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%q quotes the short token", err)
			}
		})
	}
}

// assertNoSecret fails when text holds a test token or its digest.
func assertNoSecret(t *testing.T, text string) {
	t.Helper()
	for _, tok := range []string{tokAlice, tokBob} {
		d := hashedKey(tok)[len("sha256:"):]
		for _, secret := range []string{tok, d, d[:20], hex.EncodeToString([]byte(tok))[:20]} {
			if strings.Contains(text, secret) {
				t.Errorf("%q leaks %q", text, secret)
			}
		}
	}
}

func TestParseConfigBlankMeansEmpty(t *testing.T) {
	for _, raw := range []string{"", "  \n", "{}"} {
		c, err := ParseConfig(raw, raw)
		if err != nil {
			t.Fatalf("ParseConfig(%q, %q): %v", raw, raw, err)
		}
		if len(c.tokens) != 0 || len(c.roles) != 0 {
			t.Errorf("ParseConfig(%q, %q) = %v, want no tokens and no roles", raw, raw, c)
		}
	}
}

func TestConfigPrintsNoDigest(t *testing.T) {
	c, err := ParseConfig(`{"`+tokAlice+`": "ops"}`, `{"ops": ["list_vms"]}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(format, c)
		if got != "policy.Config{1 tokens, 1 roles}" {
			t.Errorf("Sprintf(%q, config) = %q, want the counts only", format, got)
		}
		assertNoSecret(t, got)
	}
}

func writePolicyFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // Chmod ignores the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits are not checked on Windows")
	}
	content := `{"tokens_to_roles": {"` + hashedKey(tokAlice) + `": "ops"}, "roles_to_tools": {"ops": ["*"]}}`
	for _, tt := range []struct {
		perm os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o644, true},
		{0o400, true},
		{0o664, false},
		{0o646, false},
		{0o666, false},
	} {
		t.Run(fmt.Sprintf("%04o", tt.perm), func(t *testing.T) {
			path := writePolicyFile(t, content, tt.perm)
			_, err := LoadFile(path)
			if tt.ok {
				if err != nil {
					t.Errorf("LoadFile(mode %04o) = %v, want success", tt.perm, err)
				}
				return
			}
			want := fmt.Sprintf("POLICY_FILE %s: mode %04o lets group or others write it; run: chmod go-w %s", path, tt.perm, path)
			if err == nil || err.Error() != want {
				t.Errorf("LoadFile(mode %04o) error:\n got %v\nwant %s", tt.perm, err, want)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content string
		want    string // after "POLICY_FILE <path>: "
	}{
		{
			name:    "unknown member",
			content: `{"roles_to_tool": {}}`,
			want:    `unknown member "roles_to_tool" at offset 18; want "tokens_to_roles" and "roles_to_tools"`,
		},
		{
			name:    "offsets count from the file start",
			content: `{"roles_to_tools": {"ops": 1}}`,
			want:    `roles_to_tools: role "ops" at offset 27: tools are a number, want a list of tool names`,
		},
		{
			name:    "token error inside the file",
			content: `{"tokens_to_roles": {"` + tokAlice + `": false}}`,
			want:    `tokens_to_roles: entry 1 at offset 47: role is a boolean, want a string`,
		},
		{
			name:    "member twice",
			content: `{"roles_to_tools": {}, "roles_to_tools": {}}`,
			want:    `"roles_to_tools" appears twice`,
		},
		{
			name:    "empty file",
			content: ``,
			want:    `invalid JSON at offset 0: unexpected end of JSON input`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writePolicyFile(t, tt.content, 0o600)
			_, err := LoadFile(path)
			want := "POLICY_FILE " + path + ": " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("LoadFile(%q) error:\n got %v\nwant %s", tt.content, err, want)
			}
			if err != nil {
				assertNoSecret(t, err.Error())
			}
		})
	}

	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := LoadFile(dir)
		if want := "POLICY_FILE " + dir + ": not a regular file"; err == nil || err.Error() != want {
			t.Errorf("LoadFile(dir) error = %v, want %s", err, want)
		}
	})
}

func TestLoadFileReplacesVariables(t *testing.T) {
	path := writePolicyFile(t, `{
		"tokens_to_roles": {"`+hashedKey(tokAlice)+`": "viewer", "`+tokBob+`": "ops"},
		"roles_to_tools": {"viewer": ["list_vms", "whoami"]}
	}`, 0o600)
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, warnings, err := New(cfg, testCatalogue, withToolsets(Options{AuthEnforce: true}))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("New: %v, warnings %q", err, warnings)
	}
	for _, tt := range []struct{ token, role string }{{tokAlice, "viewer"}, {tokBob, "ops"}} {
		id, err := p.Resolve(tt.token)
		if err != nil || id.Role != tt.role {
			t.Errorf("Resolve(token of %s) = %+v, %v; want role %q", tt.role, id, err, tt.role)
		}
	}
}
