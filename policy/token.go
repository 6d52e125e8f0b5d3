package policy

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// hashedPrefix marks a TOKENS_TO_ROLES key that holds the SHA-256 of a token
// instead of the token itself.
const hashedPrefix = "sha256:"

// MinTokenLen is the shortest token accepted, in characters. A short token is
// guessed quickly, and scrubbing one out of logs and results would also
// corrupt ordinary text that happens to contain it.
const MinTokenLen = 16

// ErrShortToken is why [CheckToken] refuses a token.
var ErrShortToken = fmt.Errorf("shorter than %d characters: use a random token of at least %d, e.g. from: openssl rand -hex 16", MinTokenLen, MinTokenLen)

// CheckToken refuses a token too short to be a secret ([MinTokenLen]).
//
// Security: the error never quotes the token, nor its length.
func CheckToken(token string) error {
	if utf8.RuneCountInString(token) < MinTokenLen {
		return ErrShortToken
	}
	return nil
}

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
