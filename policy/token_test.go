package policy

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

func TestFingerprint(t *testing.T) {
	for _, tt := range []struct{ token, want string }{
		{"", ""},
		{"abc", "sha256:ba7816bf8f01"}, // SHA-256("abc") = ba7816bf8f01cfea…
		{tokAlice, hashedKey(tokAlice)[:len("sha256:")+12]},
	} {
		if got := Fingerprint(tt.token); got != tt.want {
			t.Errorf("Fingerprint(%q) = %q, want %q", tt.token, got, tt.want)
		}
	}
}

// TestLookupRoleEveryPosition checks the branch-free selection: the matching entry is
// found wherever it sits, including first and last, and nothing matches otherwise.
func TestLookupRoleEveryPosition(t *testing.T) {
	var entries []tokenEntry
	for i := range 9 {
		entries = append(entries, tokenEntry{
			digest: sha256.Sum256(fmt.Appendf(nil, "token-%d", i)),
			role:   fmt.Sprintf("role-%d", i),
		})
	}
	for i := range entries {
		token := fmt.Sprintf("token-%d", i)
		if got, ok := lookupRole(entries, token); !ok || got != entries[i].role {
			t.Errorf("lookupRole(token-%d) = %q, %v; want %q, true", i, got, ok, entries[i].role)
		}
	}
	for _, token := range []string{"", "token-9", "token-0 "} {
		if got, ok := lookupRole(entries, token); ok {
			t.Errorf("lookupRole(%q) = %q, true; want no match", token, got)
		}
	}
	if got, ok := lookupRole(nil, "token-0"); ok {
		t.Errorf("lookupRole(no entries) = %q, true; want no match", got)
	}
}
