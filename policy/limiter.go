package policy

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per key (RATE_LIMIT, RATE_LIMIT_RPS, RATE_LIMIT_BURST).
// Callers key it by the token fingerprint; the empty key is a bucket like any other.
// It is safe for concurrent use.
//
// Memory stays bounded by the keys active recently: a bucket that has refilled to
// its burst is indistinguishable from a new one, so it is dropped, and a later call
// with that key starts a fresh, full bucket with the same effect.
type Limiter struct {
	enabled bool
	limit   rate.Limit
	burst   int
	refill  time.Duration // time for an empty bucket to fill up; sweep period

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// NewLimiter returns a Limiter allowing rps calls per second per key with bursts of
// burst calls. When enabled is false every call is allowed and rps and burst are not
// checked. Otherwise rps must be a positive finite number and burst at least 1.
func NewLimiter(enabled bool, rps float64, burst int) (*Limiter, error) {
	if !enabled {
		return &Limiter{}, nil
	}
	if math.IsNaN(rps) || math.IsInf(rps, 0) || rps <= 0 {
		return nil, fmt.Errorf("RATE_LIMIT_RPS is %v, want a positive number", rps)
	}
	if burst < 1 {
		return nil, fmt.Errorf("RATE_LIMIT_BURST is %d, want at least 1", burst)
	}
	return &Limiter{
		enabled: true,
		limit:   rate.Limit(rps),
		burst:   burst,
		refill:  seconds(float64(burst) / rps),
		buckets: make(map[string]*rate.Limiter),
	}, nil
}

// Allow is [Limiter.AllowAt] at the current time.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	return l.AllowAt(key, time.Now())
}

// AllowAt takes one token from the bucket of key at time now and reports whether
// there was one. When there was not, nothing is taken, and retryAfter is how long
// from now until the bucket holds a token again; a call at now+retryAfter succeeds
// unless another call with the same key takes the token first.
//
// Passing now explicitly, as rate.Limiter.AllowN does, lets tests run without sleeps.
func (l *Limiter) AllowAt(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if !l.enabled {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, found := l.buckets[key]
	if !found {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	// AllowN changes nothing when it refuses, so a refused call costs no token.
	if b.AllowN(now, 1) {
		return true, 0
	}
	return false, l.untilToken(b, now)
}

// untilToken returns how long from now until a call with b is allowed: the missing
// fraction of a token at b's rate, rounded up to the nanosecond (so 1s, not
// 999.999999ms). It then checks with b's own arithmetic that a whole token is there
// at that moment, so float rounding cannot make the retry fail.
func (l *Limiter) untilToken(b *rate.Limiter, now time.Time) time.Duration {
	d := seconds((1 - b.TokensAt(now)) / float64(l.limit))
	if d >= maxExact {
		return d // hours or days: a nanosecond more or less does not matter
	}
	for step := time.Nanosecond; b.TokensAt(now.Add(d)) < 1; step *= 2 {
		d += step
	}
	return d
}

// maxExact (about 13 days) bounds the waits untilToken corrects.
const maxExact = time.Duration(1) << 50

// seconds converts s seconds to a Duration, rounding up and saturating instead of
// overflowing for absurdly slow rates.
func seconds(s float64) time.Duration {
	ns := math.Ceil(s * float64(time.Second))
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// sweep drops the buckets that are full again, at most once per refill period, so
// its cost is spread over the calls of that period. l.mu must be held.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.refill {
		return
	}
	l.lastSweep = now
	for key, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, key)
		}
	}
}

// size reports how many keys the limiter holds state for; tests use it.
func (l *Limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
