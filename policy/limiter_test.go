package policy

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newTestLimiter(t *testing.T, rps float64, burst int) *Limiter {
	t.Helper()
	l, err := NewLimiter(true, rps, burst)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// step is one call to AllowAt and what it must return.
type step struct {
	key   string
	at    time.Duration // after t0
	ok    bool
	retry time.Duration
}

func TestLimiterSteps(t *testing.T) {
	fpA, fpB := Fingerprint(tokAlice), Fingerprint(tokBob)
	for _, tt := range []struct {
		name       string
		rps        float64
		burst      int
		steps      []step
		wantBucket int // buckets held after the last step
	}{
		{
			name: "burst then refusal with the time to the next token",
			rps:  2, burst: 3,
			steps: []step{
				{fpA, 0, true, 0},
				{fpA, 0, true, 0},
				{fpA, 0, true, 0},
				{fpA, 0, false, 500 * time.Millisecond},
				{fpA, 100 * time.Millisecond, false, 400 * time.Millisecond},
				{fpA, 500 * time.Millisecond, true, 0},
				{fpA, 500 * time.Millisecond, false, 500 * time.Millisecond},
			},
			wantBucket: 1,
		},
		{
			name: "a refusal consumes nothing",
			rps:  1, burst: 1,
			steps: []step{
				{fpA, 0, true, 0},
				{fpA, 0, false, time.Second},
				{fpA, 0, false, time.Second},
				{fpA, 0, false, time.Second},
				{fpA, time.Second, true, 0},
			},
			wantBucket: 1,
		},
		{
			name: "keys are independent; the empty key is a bucket of its own",
			rps:  1, burst: 1,
			steps: []step{
				{fpA, 0, true, 0},
				{fpA, 0, false, time.Second},
				{fpB, 0, true, 0},
				{fpB, 0, false, time.Second},
				{"", 0, true, 0},
				{"", 0, false, time.Second},
				{fpA, 250 * time.Millisecond, false, 750 * time.Millisecond},
			},
			wantBucket: 3,
		},
		{
			name: "fractional rate",
			rps:  3, burst: 1,
			steps: []step{
				{fpA, 0, true, 0},
				{fpA, 0, false, 333333334 * time.Nanosecond},
				{fpA, 333333334 * time.Nanosecond, true, 0},
			},
			wantBucket: 1,
		},
		{
			name: "full buckets are dropped and behave as new",
			rps:  10, burst: 2,
			steps: []step{
				{fpA, 0, true, 0},
				{fpB, 0, true, 0},
				{fpB, 0, true, 0},
				{"", 10 * time.Second, true, 0}, // both refilled long ago: swept
				{fpA, 10 * time.Second, true, 0},
				{fpA, 10 * time.Second, true, 0},
				{fpA, 10 * time.Second, false, 100 * time.Millisecond},
			},
			wantBucket: 2,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLimiter(t, tt.rps, tt.burst)
			for i, s := range tt.steps {
				ok, retry := l.AllowAt(s.key, t0.Add(s.at))
				if ok != s.ok || retry != s.retry {
					t.Errorf("step %d: AllowAt(%q, t0+%v) = %v, %v; want %v, %v", i+1, s.key, s.at, ok, retry, s.ok, s.retry)
				}
			}
			if got := l.size(); got != tt.wantBucket {
				t.Errorf("buckets held = %d, want %d", got, tt.wantBucket)
			}
		})
	}
}

// TestLimiterRetryAfterIsEnough checks, over awkward rates, that retryAfter is the
// exact wait rounded up to the nanosecond and that a call made then is allowed.
func TestLimiterRetryAfterIsEnough(t *testing.T) {
	for _, rps := range []float64{0.3, 1.0 / 7, 3, 7.7, 1000, 1e6} {
		t.Run(fmt.Sprint(rps), func(t *testing.T) {
			l := newTestLimiter(t, rps, 1)
			now := t0
			for range 20 {
				if ok, _ := l.AllowAt("k", now); !ok {
					t.Fatalf("AllowAt(t0+%v) refused", now.Sub(t0))
				}
				ok, retry := l.AllowAt("k", now)
				if ok {
					t.Fatalf("second AllowAt(t0+%v) allowed", now.Sub(t0))
				}
				exact := float64(time.Second) / rps
				if float64(retry) < exact-1 || float64(retry) > exact+2 {
					t.Fatalf("retryAfter = %d ns, want %f ns rounded up", retry, exact)
				}
				now = now.Add(retry)
			}
		})
	}
}

func TestLimiterDisabled(t *testing.T) {
	l, err := NewLimiter(false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if ok, retry := l.AllowAt("k", t0); !ok || retry != 0 {
			t.Fatalf("disabled AllowAt = %v, %v; want true, 0", ok, retry)
		}
	}
}

func TestNewLimiterErrors(t *testing.T) {
	for _, tt := range []struct {
		rps   float64
		burst int
		want  string
	}{
		{0, 10, "RATE_LIMIT_RPS is 0, want a positive number"},
		{-1, 10, "RATE_LIMIT_RPS is -1, want a positive number"},
		{math.NaN(), 10, "RATE_LIMIT_RPS is NaN, want a positive number"},
		{math.Inf(1), 10, "RATE_LIMIT_RPS is +Inf, want a positive number"},
		{5, 0, "RATE_LIMIT_BURST is 0, want at least 1"},
	} {
		_, err := NewLimiter(true, tt.rps, tt.burst)
		if err == nil || err.Error() != tt.want {
			t.Errorf("NewLimiter(true, %v, %d) error = %v, want %s", tt.rps, tt.burst, err, tt.want)
		}
	}
}

// TestLimiterConcurrent lets many goroutines race for one bucket: exactly burst of
// them win at one instant. Run with -race.
func TestLimiterConcurrent(t *testing.T) {
	const burst = 10
	l := newTestLimiter(t, 1, burst)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for i := range 50 {
		wg.Go(func() {
			ok, _ := l.AllowAt(fmt.Sprint(i%2), t0)
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 2*burst {
		t.Errorf("allowed %d of 50 calls over 2 keys, want %d", allowed, 2*burst)
	}
}
