package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// maxPolicyFile bounds what [LoadFile] reads; a real policy is a few kilobytes.
const maxPolicyFile = 1 << 20

// Config is a parsed policy configuration: which token has which role, and which
// tools each configured role may use. Build it with [ParseConfig] or [LoadFile]; the
// zero Config has no tokens and only the default roles.
//
// Security: a Config keeps only SHA-256 digests of tokens, and its String and
// GoString methods print counts, so logging one with %v or %#v leaks nothing.
type Config struct {
	tokens     []tokenEntry
	roles      map[string][]string // role → tool names as written, "*" included
	tokensFrom string              // where tokens came from, to prefix warnings
	rolesFrom  string              // where roles came from, to prefix warnings
}

// Tokens is the number of tokens c maps to roles.
func (c Config) Tokens() int { return len(c.tokens) }

// String reports the size of c, never its contents.
func (c Config) String() string {
	return fmt.Sprintf("policy.Config{%d tokens, %d roles}", len(c.tokens), len(c.roles))
}

// GoString is [Config.String], so that %#v cannot print digests either.
func (c Config) GoString() string { return c.String() }

// ParseConfig parses the values of TOKENS_TO_ROLES and ROLES_TO_TOOLS as read from
// the environment. An empty or blank value means "{}". The returned error names the
// variable, the entry and the byte offset of each problem found; both variables are
// checked, and problems in both are joined.
//
// TOKENS_TO_ROLES is a JSON object from token to role name. A key is either the token
// itself or "sha256:" followed by the 64 hex digits of SHA-256(token), so that the
// configuration need not hold the secret. ROLES_TO_TOOLS is a JSON object from role
// name to a list of tool names, where "*" stands for every tool.
func ParseConfig(tokensToRoles, rolesToTools string) (Config, error) {
	c := Config{tokensFrom: "TOKENS_TO_ROLES", rolesFrom: "ROLES_TO_TOOLS"}
	var terr, rerr error
	c.tokens, terr = parseTokens(c.tokensFrom, []byte(tokensToRoles), 0)
	c.roles, rerr = parseRoles(c.rolesFrom, []byte(rolesToTools), 0)
	if err := errors.Join(terr, rerr); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadFile reads the POLICY_FILE at path: a JSON object with the optional members
// "tokens_to_roles" and "roles_to_tools", shaped like the two variables it replaces.
// Any other member is an error, so a misspelt name cannot silently drop a rule.
//
// Security: the file is refused unless it is a regular file that neither group nor
// others may write, because whoever can write it can grant any role to any token.
// The mode is taken from the opened file, not from the path, so the file checked is
// the file read. On Windows the check is skipped (see checkNotShared).
func LoadFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("POLICY_FILE: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Config{}, fmt.Errorf("POLICY_FILE: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Config{}, fmt.Errorf("POLICY_FILE %s: not a regular file", path)
	}
	if err := checkNotShared(path, fi.Mode()); err != nil {
		return Config{}, fmt.Errorf("POLICY_FILE %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyFile+1))
	if err != nil {
		return Config{}, fmt.Errorf("POLICY_FILE: %w", err)
	}
	if len(data) > maxPolicyFile {
		return Config{}, fmt.Errorf("POLICY_FILE %s: larger than %d bytes", path, maxPolicyFile)
	}
	return parsePolicyFile("POLICY_FILE "+path, data)
}

// checkNotShared refuses a mode that lets group or others write the file.
func checkNotShared(path string, mode fs.FileMode) error {
	if runtime.GOOS == "windows" {
		// Windows has no group or other bits: os.Stat derives 0666 or 0444 from the
		// read-only attribute, and who may write is decided by ACLs this check cannot
		// read. Operators protect the file with its ACL.
		return nil
	}
	if perm := mode.Perm(); perm&0o022 != 0 {
		return fmt.Errorf("mode %04o lets group or others write it; run: chmod go-w %s", perm, path)
	}
	return nil
}

func parsePolicyFile(where string, data []byte) (Config, error) {
	ms, err := objectMembers(data, 0)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", where, err)
	}
	c := Config{tokensFrom: where + ": tokens_to_roles", rolesFrom: where + ": roles_to_tools"}
	seen := make(map[string]bool)
	for _, m := range ms {
		if seen[m.key] {
			return Config{}, fmt.Errorf("%s: %s appears twice", where, display(m.key))
		}
		seen[m.key] = true
		switch m.key {
		case "tokens_to_roles":
			c.tokens, err = parseTokens(c.tokensFrom, m.value, m.offset)
		case "roles_to_tools":
			c.roles, err = parseRoles(c.rolesFrom, m.value, m.offset)
		default:
			err = fmt.Errorf(`%s: unknown member %s at offset %d; want "tokens_to_roles" and "roles_to_tools"`,
				where, display(m.key), m.offset)
		}
		if err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// parseTokens parses a TOKENS_TO_ROLES object found at offset base of the operator's
// document; where prefixes every error.
//
// Security: keys are tokens, so errors name an entry by its position and offset,
// never by its key.
func parseTokens(where string, data []byte, base int64) ([]tokenEntry, error) {
	if isBlank(data) {
		return nil, nil
	}
	ms, err := objectMembers(data, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	entries := make([]tokenEntry, 0, len(ms))
	first := make(map[[sha256.Size]byte]int, len(ms))
	for i, m := range ms {
		at := fmt.Sprintf("%s: entry %d at offset %d", where, i+1, m.offset)
		digest, err := keyDigest(m.key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		role, err := stringValue(m.value, "role")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if j, dup := first[digest]; dup {
			return nil, fmt.Errorf("%s: entries %d and %d name the same token", where, j, i+1)
		}
		first[digest] = i + 1
		entries = append(entries, tokenEntry{digest: digest, role: role})
	}
	return entries, nil
}

// keyDigest returns SHA-256 of the token a TOKENS_TO_ROLES key stands for.
func keyDigest(key string) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	if key == "" {
		return d, errors.New("empty token key")
	}
	hexDigest, hashed := strings.CutPrefix(key, hashedPrefix)
	if !hashed {
		if err := CheckToken(key); err != nil {
			return d, fmt.Errorf("token %w", err)
		}
		return sha256.Sum256([]byte(key)), nil
	}
	if len(hexDigest) != hex.EncodedLen(sha256.Size) {
		return d, fmt.Errorf(`key starts with %q but is followed by %d characters, want 64 hex digits`,
			hashedPrefix, len(hexDigest))
	}
	if _, err := hex.Decode(d[:], []byte(hexDigest)); err != nil {
		return d, fmt.Errorf(`key starts with %q but is not followed by 64 hex digits`, hashedPrefix)
	}
	return d, nil
}

// parseRoles parses a ROLES_TO_TOOLS object found at offset base of the operator's
// document. Repeated tool names in one list are kept once.
func parseRoles(where string, data []byte, base int64) (map[string][]string, error) {
	if isBlank(data) {
		return nil, nil
	}
	ms, err := objectMembers(data, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	roles := make(map[string][]string, len(ms))
	for i, m := range ms {
		if m.key == "" {
			return nil, fmt.Errorf("%s: entry %d at offset %d: empty role name", where, i+1, m.offset)
		}
		at := fmt.Sprintf("%s: role %s at offset %d", where, display(m.key), m.offset)
		if _, dup := roles[m.key]; dup {
			return nil, fmt.Errorf("%s: appears twice", at)
		}
		if k := kindOf(m.value); k != "a list" {
			return nil, fmt.Errorf("%s: tools are %s, want a list of tool names", at, k)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(m.value, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		tools := make([]string, 0, len(items))
		seen := make(map[string]bool, len(items))
		for j, item := range items {
			name, err := stringValue(item, "tool name")
			if err != nil {
				return nil, fmt.Errorf("%s: item %d: %w", at, j+1, err)
			}
			if !seen[name] {
				seen[name] = true
				tools = append(tools, name)
			}
		}
		roles[m.key] = tools
	}
	return roles, nil
}

// stringValue decodes v, which must be a non-empty JSON string; what names it in
// errors.
func stringValue(v json.RawMessage, what string) (string, error) {
	if k := kindOf(v); k != "a string" {
		return "", fmt.Errorf("%s is %s, want a string", what, k)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if s == "" {
		return "", fmt.Errorf("empty %s", what)
	}
	return s, nil
}

func isBlank(data []byte) bool {
	return strings.TrimSpace(string(data)) == ""
}
