package policy

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"
)

// minKeyLen is the shortest approval key accepted, in bytes.
const minKeyLen = 32

// Sentinel errors of [Approver.Verify].
var (
	ErrStateInvalid  = errors.New("approval state is malformed or was altered")
	ErrStateMismatch = errors.New("approval was given for a different call")
	ErrStateExpired  = errors.New("approval has expired")
	ErrStateReplayed = errors.New("approval was already used")
	// ErrStateUnknown is returned by a shared [Nonces] store, and by Verify,
	// for an approval the store never saw issued, or no longer knows (a
	// store restarted without its data): whether it was used cannot be told,
	// so it is refused.
	ErrStateUnknown = errors.New("approval is not known to the shared state store")
)

// Binding is what an approval is for: one tool, with these arguments, on this
// target, by this token. A state issued for one Binding verifies for no other.
type Binding struct {
	Tool string
	// Args are the call's arguments as a JSON object. They are canonicalised
	// (members sorted at every depth, numbers kept as written) and the top-level
	// "confirm" member is dropped, so that the approved retry may differ from the
	// first call only in that member.
	Args     json.RawMessage
	TargetID string // e.g. "vm-42"; "" when the tool has no single target
	TokenFP  string // Fingerprint of the caller's token
}

// MaxApprovalData bounds the opaque data a state carries.
const MaxApprovalData = 1024

// Layout of a state before base64url: version, expiry (Unix nanoseconds), nonce,
// binding digest, caller data, then HMAC-SHA256 of everything before it.
const (
	stateVersion = 1
	nonceLen     = 16
	offExpiry    = 1 // after the version byte
	offNonce     = offExpiry + 8
	offDigest    = offNonce + nonceLen
	headerLen    = offDigest + sha256.Size // data follows
	macLen       = sha256.Size
)

// Approver issues and redeems the opaque RequestState of an elicitation: the server
// asks the user to approve a call, the client echoes the state in a later request,
// and Verify checks that it approves exactly that call, once, in time.
// It is safe for concurrent use.
//
// Security: the state is integrity-protected with HMAC-SHA256 under a per-process key,
// so a client can neither forge one nor move an approval to other arguments, another
// target or another token. Each state carries a random nonce that Verify accepts once;
// used nonces are remembered until their state expires, after which the expiry check
// alone refuses it. They are remembered in this process's memory, so "once" means once
// per process, unless the Approver is built with a shared [Nonces] store
// ([NewSharedApprover]): then once across every process that shares it, and
// only if issued by one of them.
type Approver struct {
	key []byte
	ttl time.Duration
	now func() time.Time // the clock; tests replace it
	// shared, when set, remembers the redeemed nonces instead of used.
	shared Nonces

	mu   sync.Mutex
	used map[[nonceLen]byte]time.Time // redeemed nonce → expiry of its state
}

// NewApprover returns an Approver whose states live for ttl. A nil key draws 32
// random bytes, which suits one process serving one client; otherwise key must hold
// at least 32 bytes.
func NewApprover(key []byte, ttl time.Duration) (*Approver, error) {
	return NewSharedApprover(key, ttl, nil)
}

// NewSharedApprover is [NewApprover] with the redeemed nonces kept in used, a
// store that every replica of a deployment shares, so that an approval is
// redeemed once across all of them; they must share the key too. A nil used
// keeps them in this process's memory, as NewApprover does.
func NewSharedApprover(key []byte, ttl time.Duration, used Nonces) (*Approver, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("approval ttl is %v, want a positive duration", ttl)
	}
	if key == nil {
		key = make([]byte, minKeyLen)
		rand.Read(key) // never fails; see crypto/rand.Read
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("approval key is %d bytes, want at least %d", len(key), minKeyLen)
	}
	return &Approver{
		key:    bytes.Clone(key),
		ttl:    ttl,
		now:    time.Now,
		shared: used,
		used:   make(map[[nonceLen]byte]time.Time),
	}, nil
}

// Issue returns a state approving b, valid for the Approver's ttl, carrying data (at
// most [MaxApprovalData] bytes, e.g. a request id) for [Approver.Verify] to return.
// It fails when b.Args is not a JSON object or data is too long, and, with a
// shared store, with an error wrapping [ErrStoreUnavailable] when the store
// cannot record the approval.
func (a *Approver) Issue(b Binding, data []byte) (string, error) {
	if len(data) > MaxApprovalData {
		return "", fmt.Errorf("approval data is %d bytes, max %d", len(data), MaxApprovalData)
	}
	digest, err := b.digest()
	if err != nil {
		return "", err
	}
	msg := make([]byte, headerLen, headerLen+len(data)+macLen)
	msg[0] = stateVersion
	expiry := a.now().Add(a.ttl)
	binary.BigEndian.PutUint64(msg[offExpiry:offNonce], uint64(expiry.UnixNano()))
	rand.Read(msg[offNonce:offDigest])
	if a.shared != nil {
		if err := a.shared.Issued(msg[offNonce:offDigest], expiry); err != nil {
			return "", fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
		}
	}
	copy(msg[offDigest:headerLen], digest[:])
	msg = append(msg, data...)
	msg = append(msg, a.mac(msg)...)
	return base64.RawURLEncoding.EncodeToString(msg), nil
}

// Verify checks that state was issued by this Approver for b, has not expired and
// was not used before, then marks it used and returns its data. Its errors wrap
// [ErrStateInvalid], [ErrStateExpired], [ErrStateMismatch] or [ErrStateReplayed],
// checked in that order; only a state that passes every check is marked used. With a
// shared store, an error wrapping [ErrStoreUnavailable] says the store could not tell
// whether the state was used: the call must be refused, and the state was not used
// up (unless the store recorded it before failing to answer).
func (a *Approver) Verify(state string, b Binding) ([]byte, error) {
	body, expiry, err := a.open(state)
	if err != nil {
		return nil, err
	}
	want, err := b.digest()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateMismatch, err)
	}
	if subtle.ConstantTimeCompare(want[:], body[offDigest:headerLen]) != 1 {
		return nil, ErrStateMismatch
	}

	var nonce [nonceLen]byte
	copy(nonce[:], body[offNonce:offDigest])
	if a.shared != nil {
		fresh, err := a.shared.Redeem(nonce[:], expiry)
		switch {
		case errors.Is(err, ErrStateUnknown):
			return nil, ErrStateUnknown
		case err != nil:
			return nil, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
		case !fresh:
			return nil, ErrStateReplayed
		}
		return bytes.Clone(body[headerLen:]), nil
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for n, exp := range a.used {
		if !now.Before(exp) {
			delete(a.used, n) // an expired state is refused by the expiry check
		}
	}
	if _, dup := a.used[nonce]; dup {
		return nil, ErrStateReplayed
	}
	a.used[nonce] = expiry
	return bytes.Clone(body[headerLen:]), nil
}

// Peek checks that state was issued by this Approver and has not expired,
// and returns its data, without binding it to a call or using it up. It lets
// a caller recognise the retry of an approved call (to count it once) before
// the handler redeems the state with [Approver.Verify]. Its errors wrap
// ErrStateInvalid or ErrStateExpired.
func (a *Approver) Peek(state string) ([]byte, error) {
	body, _, err := a.open(state)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(body[headerLen:]), nil
}

// open authenticates state and checks its expiry, returning the signed body
// and the expiry.
func (a *Approver) open(state string) ([]byte, time.Time, error) {
	msg, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || len(msg) < headerLen+macLen || len(msg) > headerLen+MaxApprovalData+macLen {
		return nil, time.Time{}, ErrStateInvalid
	}
	body := msg[:len(msg)-macLen]
	if !hmac.Equal(a.mac(body), msg[len(body):]) || body[0] != stateVersion {
		return nil, time.Time{}, ErrStateInvalid
	}
	expiry := time.Unix(0, int64(binary.BigEndian.Uint64(body[offExpiry:offNonce])))
	if !a.now().Before(expiry) {
		return nil, time.Time{}, ErrStateExpired
	}
	return body, expiry, nil
}

// mac returns HMAC-SHA256(key, msg).
func (a *Approver) mac(msg []byte) []byte {
	h := hmac.New(sha256.New, a.key)
	h.Write(msg)
	return h.Sum(nil)
}

// digest hashes the canonical form of b. Each field is length-prefixed so that no
// two different bindings hash the same bytes.
func (b Binding) digest() ([sha256.Size]byte, error) {
	args, err := canonicalArgs(b.Args)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	h := sha256.New()
	for _, field := range [][]byte{[]byte("vsphere-mcp-pro approval v1"), []byte(b.Tool), args, []byte(b.TargetID), []byte(b.TokenFP)} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		h.Write(n[:])
		h.Write(field)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d, nil
}

// Key returns a digest of b that is equal for two bindings exactly when they bind
// the same call (arguments compared canonically, confirm ignored), or "" when the
// arguments are not a JSON object (such a binding matches nothing). Callers use it
// to pair the two halves of an approved call.
func (b Binding) Key() string {
	d, err := b.digest()
	if err != nil {
		return ""
	}
	return hex.EncodeToString(d[:])
}

// canonicalArgs re-encodes a JSON object with sorted members and without its
// top-level "confirm" member. Empty input and null count as {}.
func canonicalArgs(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var args map[string]any
	if err := dec.Decode(&args); err != nil {
		return nil, fmt.Errorf("approval args: want a JSON object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("approval args: data after the JSON object")
	}
	delete(args, "confirm")
	if args == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(args) // encoding/json sorts map keys at every depth
}

// LoadApprovalKey reads APPROVAL_KEY_FILE, the HMAC key that signs
// approvals, shared by replicas so that an approval given on one verifies
// on another. An empty path returns nil: a random key per process.
//
// Security: the key lets its holder forge approvals, so the file must not
// be readable by others nor writable by anyone but its owner. Group read is
// allowed: Kubernetes secret volumes with fsGroup are 0440. On Windows the
// check is skipped (see checkNotShared).
func LoadApprovalKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("APPROVAL_KEY_FILE: %w", err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o027 != 0 {
		return nil, fmt.Errorf("APPROVAL_KEY_FILE: mode %04o lets others read it or group or others write it; run: chmod 600 %s", perm, path)
	}
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator names this file (APPROVAL_KEY_FILE)
	if err != nil {
		return nil, fmt.Errorf("APPROVAL_KEY_FILE: %w", err)
	}
	key := bytes.TrimSpace(b)
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("APPROVAL_KEY_FILE: %d bytes, want at least %d (e.g. openssl rand -hex 32 > %s)", len(key), minKeyLen, path)
	}
	return key, nil
}
