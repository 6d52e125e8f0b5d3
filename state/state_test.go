package state

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// These tests run against miniredis, an in-process fake that runs the Lua
// script and keeps Redis's clock settable; the root package's
// TestSharedStateAcrossReplicas runs the whole server on a real redis-server.

const secret = "s3cr3t-redis-password"

func testConfig(url string) Config {
	return Config{
		URL: url, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		Rate: policy.Rate{Enabled: true, RPS: 2, Burst: 3}, Log: zerolog.Nop(),
	}
}

func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCheckURL(t *testing.T) {
	for _, tt := range []struct {
		url, want, wantErr string
	}{
		{url: "redis://redis:6379/0", want: "redis:6379/0"},
		{url: "redis://redis", want: "redis:6379/0"},
		{url: "rediss://cache.example.com:6380/2", want: "cache.example.com:6380/2"},
		{url: "redis://mcp@redis/1", want: "redis:6379/1"},
		{url: "redis://[::1]:6379", want: "[::1]:6379/0"},
		{url: "redis://:" + secret + "@redis:6379/0", wantErr: "SERVER_STATE_PASSWORD_FILE"},
		{url: "redis://user:" + secret + "@redis:6379/0", wantErr: "holds a password"},
		{url: "redis://user:" + secret + "@redis:bad/0", wantErr: "not a URL"},
		{url: "http://redis:6379", wantErr: `scheme "http"`},
		{url: "unix:///run/redis.sock", wantErr: `scheme "unix"`},
		{url: "redis:///0", wantErr: "no host"},
		{url: "redis://redis:6379/0?skip_verify=true", wantErr: "no query"},
		{url: "redis://redis:6379/zero", wantErr: `database "zero"`},
		{url: "redis://redis:6379/0/1", wantErr: "database"},
		{url: "redis://redis:0/0", wantErr: "port"},
		{url: "", wantErr: "scheme"},
	} {
		got, err := CheckURL(tt.url)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("CheckURL(%q) = %q, %v; want %q", tt.url, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckURL(%q) = %q, %v; want an error with %q", tt.url, got, err, tt.wantErr)
		case err != nil && strings.Contains(err.Error(), secret):
			t.Errorf("CheckURL(%q): the error quotes the password: %v", tt.url, err)
		}
	}
	if _, err := Open(testConfig("redis://:" + secret + "@redis")); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("Open with a password in the URL: %v", err)
	}
}

// TestBucketsMatchTheInMemoryLimiter: the Redis bucket takes the same
// decisions as policy's golang.org/x/time/rate bucket at the same instants:
// burst, refusal with the time to the next token, refill, refusals that
// take nothing, independent keys.
func TestBucketsMatchTheInMemoryLimiter(t *testing.T) {
	m := miniredis.RunT(t)
	s := openStore(t, testConfig("redis://"+m.Addr()))
	mem, err := policy.NewLimiter(true, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for i, step := range []struct {
		key string
		at  time.Duration
	}{
		{"a", 0}, {"a", 0}, {"a", 0}, {"a", 0}, {"a", 100 * time.Millisecond},
		{"b", 100 * time.Millisecond}, {"a", 500 * time.Millisecond}, {"a", 500 * time.Millisecond},
		{"a", 2 * time.Second}, {"a", 2 * time.Second}, {"a", 2 * time.Second}, {"a", 2 * time.Second},
		{"", 2 * time.Second}, {"b", 10 * time.Second}, {"b", 10 * time.Second}, {"b", 10 * time.Second}, {"b", 10 * time.Second},
	} {
		now := t0.Add(step.at)
		m.SetTime(now)
		wantOK, wantWait := mem.AllowAt(step.key, now)
		ok, wait, err := s.Take(step.key)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if ok != wantOK || (!ok && (wait-wantWait).Abs() > time.Millisecond) {
			t.Errorf("step %d (key %q at %v): Take = %v, %v; the in-memory bucket says %v, %v", i, step.key, step.at, ok, wait, wantOK, wantWait)
		}
	}
}

// TestBucketIsSharedAndAtomic: two stores (two replicas) on one Redis,
// many goroutines each, draw on one bucket per key: exactly Burst calls
// pass, whatever the interleaving.
func TestBucketIsSharedAndAtomic(t *testing.T) {
	m := miniredis.RunT(t)
	m.SetTime(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	cfg := testConfig("redis://" + m.Addr())
	cfg.Rate = policy.Rate{Enabled: true, RPS: 0.001, Burst: 7}
	stores := []*Store{openStore(t, cfg), openStore(t, cfg)}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			ok, wait, err := stores[i%2].Take("tenant")
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			} else if wait < 900*time.Second {
				t.Errorf("refused with retry after %v, want about 1000s", wait)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 7 {
		t.Errorf("%d calls allowed across two stores, want the burst of 7", got)
	}
	// The bucket's key expires once it would be full again: memory stays
	// bounded by the tokens active recently.
	if ttl := m.TTL("rate:" + keyPrefix + "tenant"); ttl <= 0 || ttl > 7001*time.Second {
		t.Errorf("bucket key TTL %v, want at most the time to refill 7 tokens", ttl)
	}
}

// TestBucketReloadsItsScript: after SCRIPT FLUSH (a Redis restart, a
// failover) EVALSHA answers NOSCRIPT and the script is sent again.
func TestBucketReloadsItsScript(t *testing.T) {
	m := miniredis.RunT(t)
	s := openStore(t, testConfig("redis://"+m.Addr()))
	if ok, _, err := s.Take("k"); !ok || err != nil {
		t.Fatalf("first take: %v %v", ok, err)
	}
	if err := s.rdb.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := s.Take("k"); !ok || err != nil {
		t.Fatalf("take after SCRIPT FLUSH: %v %v", ok, err)
	}
}

// TestNoncesAreRedeemedOnce: across two stores, of many concurrent
// redeemers of an issued nonce exactly one is told it is fresh; what was
// not issued, or was lost, is refused; the key lives until the approval
// expires plus the clock-skew margin.
func TestNoncesAreRedeemedOnce(t *testing.T) {
	m := miniredis.RunT(t)
	cfg := testConfig("redis://" + m.Addr())
	stores := []*Store{openStore(t, cfg), openStore(t, cfg)}
	nonce := []byte("0123456789abcdef")
	expiry := time.Now().Add(10 * time.Minute)
	if err := stores[0].Issued(nonce, expiry); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].Issued(nonce, expiry); err == nil {
		t.Error("the same nonce issued twice")
	}
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			ok, err := stores[i%2].Redeem(nonce, expiry)
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if got := fresh.Load(); got != 1 {
		t.Errorf("%d redeemers told the nonce was fresh, want 1", got)
	}
	ttl := m.TTL(keyPrefix + "nonce:" + hex.EncodeToString(nonce))
	if ttl < 10*time.Minute || ttl > 10*time.Minute+clockSkew {
		t.Errorf("nonce key TTL %v, want the approval's 10 minutes plus at most %v", ttl, clockSkew)
	}
	// A nonce the store never saw issued (or forgot: a restart without
	// persistence) is not redeemed.
	if ok, err := stores[0].Redeem([]byte("another-nonce-16"), expiry); ok || !errors.Is(err, policy.ErrStateUnknown) {
		t.Errorf("a nonce never issued: %v %v, want ErrStateUnknown", ok, err)
	}
	issued := []byte("issued-nonce-123")
	if err := stores[0].Issued(issued, expiry); err != nil {
		t.Fatal(err)
	}
	m.FlushAll()
	if ok, err := stores[1].Redeem(issued, expiry); ok || !errors.Is(err, policy.ErrStateUnknown) {
		t.Errorf("a nonce the store lost: %v %v, want ErrStateUnknown", ok, err)
	}
	// An approval just expiring still leaves its nonce for the skew margin.
	if err := stores[1].Issued([]byte("expiring-nonce-1"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if ok, err := stores[1].Redeem([]byte("expiring-nonce-1"), time.Now()); !ok || err != nil {
		t.Errorf("expiring nonce: %v %v", ok, err)
	}
	if ttl := m.TTL(keyPrefix + "nonce:" + hex.EncodeToString([]byte("expiring-nonce-1"))); ttl < clockSkew-time.Second {
		t.Errorf("expiring nonce TTL %v, want about %v", ttl, clockSkew)
	}
}

// TestStoreDownAndBack: with Redis gone every operation fails, within the
// timeouts, naming the store but no secret, and is counted; once Redis is
// back the same store works again without being reopened.
func TestStoreDownAndBack(t *testing.T) {
	m := miniredis.RunT(t)
	m.RequireAuth(secret)
	cfg := testConfig("redis://" + m.Addr())
	cfg.Password = secret
	cfg.DialTimeout, cfg.ReadTimeout, cfg.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	var failures sync.Map
	cfg.Failed = func(op string) {
		n, _ := failures.LoadOrStore(op, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
	}
	var log strings.Builder
	cfg.Log = zerolog.New(&syncWriter{w: &log})
	s := openStore(t, cfg)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("ping with the password: %v", err)
	}
	addr := m.Addr()
	m.Close()
	start := time.Now()
	_, _, terr := s.Take("k")
	_, nerr := s.Redeem([]byte("0123456789abcdef"), time.Now().Add(time.Minute))
	if err := s.Issued([]byte("0123456789abcdef"), time.Now().Add(time.Minute)); err == nil {
		t.Error("Issued on a closed Redis succeeded")
	}
	perr := s.Ping(context.Background())
	if took := time.Since(start); took > 4*s.budget {
		t.Errorf("four operations on a dead store took %v, want each within %v", took, s.budget)
	}
	for op, err := range map[string]error{"bucket": terr, "nonce": nerr, "ping": perr} {
		switch {
		case err == nil:
			t.Errorf("%s on a closed Redis succeeded", op)
		case !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), secret):
			t.Errorf("%s error %q: want the address and no password", op, err)
		}
		want := int32(1)
		if op == "nonce" {
			want = 2 // Redeem and Issued
		}
		if n, ok := failures.Load(op); !ok || n.(*atomic.Int32).Load() != want {
			t.Errorf("failures of %s not counted %d times", op, want)
		}
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := s.Take("k"); !ok || err != nil {
		t.Errorf("take after Redis came back: %v %v", ok, err)
	}
	out := log.String()
	if strings.Count(out, "unreachable") != 1 || strings.Count(out, "reachable again") != 1 || strings.Contains(out, secret) {
		t.Errorf("transitions logged:\n%s\nwant one unreachable, one reachable again, no password", out)
	}

	// A wrong password is an error that does not quote either.
	cfg.Password = "wrong-password-xyz"
	bad := openStore(t, cfg)
	if err := bad.Ping(context.Background()); err == nil || strings.Contains(err.Error(), "wrong-password-xyz") || strings.Contains(err.Error(), secret) {
		t.Errorf("ping with a wrong password: %v", err)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestOpenChecksItsConfig(t *testing.T) {
	cfg := testConfig("redis://127.0.0.1:1/0")
	cfg.ReadTimeout = 0
	if _, err := Open(cfg); err == nil {
		t.Error("Open accepted a zero read timeout")
	}
	cfg = testConfig("redis://127.0.0.1:1/0")
	cfg.Rate = policy.Rate{Enabled: true, RPS: 0, Burst: 1}
	if _, err := Open(cfg); err == nil {
		t.Error("Open accepted a zero rate")
	}
	cfg.Rate = policy.Rate{}
	s := openStore(t, cfg)
	if _, _, err := s.Take("k"); err == nil {
		t.Error("Take on a store without a rate succeeded")
	}
}
