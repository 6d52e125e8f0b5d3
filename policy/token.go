package policy

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// hashedPrefix marks a TOKENS_TO_ROLES key that holds the SHA-256 of a token
// instead of the token itself.
const hashedPrefix = "sha256:"

// fingerprintHexLen is how many hex digits of the digest [Fingerprint] keeps: 48 bits
// tell tokens apart in logs and limiter keys without making the digest recoverable.
const fingerprintHexLen = 12

// tokenEntry is one TOKENS_TO_ROLES entry; only the digest of the token is kept.
type tokenEntry struct {
	digest [sha256.Size]byte
	role   string
}

// Fingerprint returns a short, stable identifier of token that is safe to log:
// "sha256:" followed by the first 12 hex digits of SHA-256(token). It returns "" for
// the empty token.
func Fingerprint(token string) string {
	if token == "" {
		return ""
	}
	d := sha256.Sum256([]byte(token))
	return hashedPrefix + hex.EncodeToString(d[:])[:fingerprintHexLen]
}

// lookupRole returns the role of the entry whose digest is SHA-256(token).
//
// Security: the time taken depends only on the number of entries, never on the token
// or on which entry matches. Every digest is compared with crypto/subtle, the loop
// never exits early, and the match is selected without a branch; the only branch is
// on whether anything matched at all, which the caller reveals anyway.
func lookupRole(entries []tokenEntry, token string) (string, bool) {
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range entries {
		eq := subtle.ConstantTimeCompare(d[:], entries[i].digest[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return "", false
	}
	return entries[found].role, true
}
