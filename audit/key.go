package audit

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
)

// MinKeyLen is the shortest chain key accepted, in bytes.
const MinKeyLen = 32

// keyIDLabel separates the key id from every MAC made with the key.
const keyIDLabel = "vsphere-mcp-pro audit key id"

// KeyID returns the id of a chain key that headers carry: 16 hex digits of
// HMAC-SHA256(key, "vsphere-mcp-pro audit key id"). It names the key, so that
// a verifier can say "this file was keyed with another key", and reveals
// nothing of it.
func KeyID(key []byte) string {
	return hex.EncodeToString(lineMAC(key, []byte(keyIDLabel))[:8])
}

// LoadKey reads a chain key from the file at path (the operator's
// AUDIT_KEY_FILE): its bytes without surrounding white space, so that
// `openssl rand -hex 32 > FILE` makes a good key. It refuses a key shorter
// than [MinKeyLen] bytes and, except on Windows, a file whose mode grants
// group or others any access.
//
// Security: whoever reads the key can write lines that verify. The server
// must read it to write, so it protects the log against those who can change
// the file but cannot read the key; keep the file readable by the server's
// user alone, and a copy with whoever verifies. See the package comment for
// what the key proves.
func LoadKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	// Windows has no group or other bits; access there is governed by the ACL.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("audit key %s: mode %04o lets group or others access it; run: chmod 600 %s", path, perm, path)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("audit key %s: not a regular file", path)
	}
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator names this file (AUDIT_KEY_FILE)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	key := bytes.TrimSpace(b)
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("audit key %s: %d bytes, want at least %d (e.g. openssl rand -hex 32 > %s)", path, len(key), MinKeyLen, path)
	}
	return key, nil
}
