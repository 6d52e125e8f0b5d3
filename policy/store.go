package policy

import (
	"errors"
	"time"
)

// The state that replicas of one deployment must share — redeemed approval
// nonces and the per-token rate-limit buckets — sits behind two small
// interfaces. This package keeps both in the process's memory ([Limiter],
// and the Approver's own map); package state keeps them in a shared store
// (SERVER_STATE_URL) so that N replicas behave as one. Policy decides what a
// failing store means for a call; the store only reports that it failed.

// Buckets holds one token bucket per key (the token fingerprint): RPS
// refill, Burst size, a new key starting full, as golang.org/x/time/rate
// does. [Limiter] is the in-memory implementation.
type Buckets interface {
	// Take takes one token from the bucket of key and reports whether there
	// was one. When there was not, nothing is taken and retryAfter is how
	// long until there is. An error means the store could not be used;
	// whether a token was taken is then unknown, and ok is false.
	//
	// Take must return within a bounded time (the store's own timeouts):
	// [Policy.Decide] calls it on every tool call and has no context.
	Take(key string) (ok bool, retryAfter time.Duration, err error)
}

// Nonces is a shared record of the nonces of approvals: issued, then
// redeemed at most once, each remembered until its approval expires (after
// which the expiry check alone refuses it).
//
// Only a nonce the store saw issued can be redeemed: a store that lost its
// memory (a Redis restarted without persistence) then refuses the approvals
// it can no longer vouch for, instead of letting one be used a second time.
type Nonces interface {
	// Issued records nonce as handed out in an approval valid until expiry.
	// An error means the store could not be used: the approval must not be
	// handed out.
	Issued(nonce []byte, expiry time.Time) error
	// Redeem marks nonce used and reports whether this caller redeemed it:
	// true only for a nonce recorded by Issued and not redeemed before;
	// false for a replay. A nonce the store does not know is refused with
	// [ErrStateUnknown]. Any other error means the store could not be used;
	// the approval must then be refused, and may be tried again later.
	//
	// Like [Buckets.Take], both must return within a bounded time.
	Redeem(nonce []byte, expiry time.Time) (fresh bool, err error)
}

// ErrStoreUnavailable is wrapped by the errors of [Approver.Issue] and
// [Approver.Verify] when the shared store of approvals could not be used, and reported to
// [Policy.Decide] as [Call.StoreErr]. The approval was not used up: the same
// call may be approved with it once the store answers again.
var ErrStoreUnavailable = errors.New("the shared state store cannot be used")

// Take is [Limiter.Allow] as a [Buckets]: the memory of this process never
// fails.
func (l *Limiter) Take(key string) (bool, time.Duration, error) {
	ok, wait := l.Allow(key)
	return ok, wait, nil
}

var _ Buckets = (*Limiter)(nil)
