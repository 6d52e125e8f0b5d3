// Package state keeps the state that the replicas of one serve --http
// deployment must share — issued and redeemed approval nonces and the per-token
// rate-limit buckets — in Redis (SERVER_STATE_URL), so that N replicas
// behave as one: an approval is redeemed once across all of them, and a
// token's calls on every replica draw on one bucket. [Store] implements
// policy's [policy.Buckets] and [policy.Nonces]; what a failing store means
// for a call is policy's decision, not this package's.
//
// It owns the Redis connection (go-redis: pooled, reconnecting by itself,
// every operation bounded by the configured timeouts), the key layout, and
// the check of SERVER_STATE_URL. It knows nothing of MCP, HTTP or vCenter.
//
// Security: the password comes from SERVER_STATE_PASSWORD_FILE, never from
// the URL, which is refused when it holds one, so that the URL can sit in
// logs and errors; no error of this package quotes a password.
package state

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// keyPrefix starts every key this package writes, so that the server's keys
// are told apart from others in a shared Redis. Buckets are under
// "rate:"+keyPrefix (redis_rate adds "rate:").
const keyPrefix = "vsphere-mcp-pro:"

// clockSkew is how long a redeemed nonce is kept beyond its approval's
// expiry. The expiry is checked against each replica's own clock; a replica
// whose clock is behind would otherwise still accept an approval whose
// nonce Redis has already forgotten.
const clockSkew = time.Minute

// Config configures a [Store]. The durations must be positive.
type Config struct {
	// URL is SERVER_STATE_URL: redis://host[:port][/db], or rediss:// for
	// TLS, with an optional ACL user name (redis://user@host). See [CheckURL].
	URL string
	// Password is the content of SERVER_STATE_PASSWORD_FILE; "" for none.
	Password string
	// RootCAs are the authorities trusted for rediss:// (SERVER_STATE_CA_BUNDLE);
	// nil means the system's.
	RootCAs *x509.CertPool
	// DialTimeout bounds opening a connection, ReadTimeout and WriteTimeout
	// one command's reply and request (SERVER_STATE_DIAL_TIMEOUT_S,
	// SERVER_STATE_READ_TIMEOUT_S, SERVER_STATE_WRITE_TIMEOUT_S). Their sum
	// bounds every operation of the Store, waiting for a pooled connection
	// included.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// Rate is the bucket of every key: RATE_LIMIT_RPS refill, RATE_LIMIT_BURST
	// size. Every replica must use the same.
	Rate policy.Rate
	// Failed, if set, is told of every operation that failed ("bucket",
	// "nonce" or "ping"), for metrics. It must be quick.
	Failed func(op string)
	// Log receives the store's transitions (unreachable, reachable again).
	Log zerolog.Logger
}

// Store is the shared state in Redis. It is safe for concurrent use. It
// opens connections on first use and reopens them after Redis comes back:
// an operation while Redis is unreachable fails within the timeouts.
type Store struct {
	rdb     *redis.Client
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
	budget  time.Duration // bound of one operation
	addr    string        // for logs and errors: host:port/db
	failed  func(op string)
	log     zerolog.Logger
	down    atomic.Bool // the last operation failed
}

var (
	_ policy.Buckets = (*Store)(nil)
	_ policy.Nonces  = (*Store)(nil)
)

// CheckURL checks SERVER_STATE_URL and returns what it names, host:port/db,
// for messages. Its errors never quote the URL's user information.
func CheckURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// Security: url.Parse's error quotes the whole URL, password included.
		return "", errors.New("not a URL: give redis://host:6379/0, or rediss:// for TLS")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "", fmt.Errorf("scheme %q: give redis://host:6379/0, or rediss:// for TLS", u.Scheme)
	}
	if _, ok := u.User.Password(); ok {
		// Security: nothing of this URL is quoted; even its escaped
		// fragment may spell the password ("#\x00…" is "%00…").
		return "", errors.New("the URL holds a password: put it in the file named by SERVER_STATE_PASSWORD_FILE and remove it from the URL")
	}
	if u.Hostname() == "" {
		return "", errors.New("no host: give redis://host:6379/0")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%s: no query or fragment (timeouts are SERVER_STATE_*_TIMEOUT_S)", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q: give 1 to 65535", p)
		}
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "0"
	}
	if n, err := strconv.Atoi(db); err != nil || n < 0 || strings.Contains(db, "/") {
		return "", fmt.Errorf("database %q: give a number, e.g. redis://%s/0", db, u.Host)
	}
	host := u.Host
	if u.Port() == "" {
		host += ":6379"
	}
	return host + "/" + db, nil
}

// Open checks cfg and returns a Store; it does not connect (see
// [Store.Ping]).
func Open(cfg Config) (*Store, error) {
	addr, err := CheckURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("SERVER_STATE_URL: %w", err)
	}
	if cfg.DialTimeout <= 0 || cfg.ReadTimeout <= 0 || cfg.WriteTimeout <= 0 {
		return nil, errors.New("state: the dial, read and write timeouts must be positive")
	}
	if cfg.Rate.Enabled && (math.IsNaN(cfg.Rate.RPS) || cfg.Rate.RPS <= 0 || cfg.Rate.Burst < 1) {
		return nil, fmt.Errorf("state: rate %v/s with burst %d: want a positive rate and burst", cfg.Rate.RPS, cfg.Rate.Burst)
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("SERVER_STATE_URL %s: %w", addr, err)
	}
	opt.Password = cfg.Password
	if opt.TLSConfig != nil {
		opt.TLSConfig = &tls.Config{ServerName: opt.TLSConfig.ServerName, MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	}
	budget := cfg.DialTimeout + cfg.WriteTimeout + cfg.ReadTimeout
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.DialTimeout, cfg.ReadTimeout, cfg.WriteTimeout
	opt.ContextTimeoutEnabled = true
	opt.PoolTimeout = budget
	// Security: a command that may have reached Redis is never re-sent. A
	// second SET NX would find the first one's nonce and refuse the
	// approval it was redeeming; a second bucket script would charge the
	// call twice. A connection Redis closed meanwhile is noticed when it is
	// taken from the pool, before anything is written to it.
	opt.MaxRetries = -1
	// Dialing sends nothing, but every attempt costs up to DialTimeout and
	// the operation's budget holds one.
	opt.DialerRetries = 1
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	s := &Store{
		rdb:    redis.NewClient(opt),
		budget: budget,
		addr:   addr,
		failed: cfg.Failed,
		log:    cfg.Log.With().Str("state_store", addr).Logger(),
	}
	libraryLog.Do(func() { redis.SetLogger(redisLog{s.log}) })
	s.limiter = redis_rate.NewLimiter(s.rdb)
	if cfg.Rate.Enabled {
		// One token every 1/RPS seconds: redis_rate counts Rate events per
		// Period, and RPS may be fractional.
		period := time.Duration(math.Ceil(float64(time.Second) / cfg.Rate.RPS))
		s.limit = redis_rate.Limit{Rate: 1, Period: period, Burst: cfg.Rate.Burst}
	}
	return s, nil
}

// Addr is what the store connects to, host:port/db, without credentials.
func (s *Store) Addr() string { return s.addr }

// Nonces is the store as policy's record of redeemed approvals; nil (this
// process's memory) for a nil Store, never a typed nil.
func (s *Store) Nonces() policy.Nonces {
	if s == nil {
		return nil
	}
	return s
}

// Take takes one token from the bucket of key ([policy.Buckets]). The bucket
// is a GCRA in one Lua script run atomically by Redis on Redis's own clock
// (redis_rate; EVALSHA, loading the script when Redis answers NOSCRIPT), so
// the replicas' clocks do not matter. It behaves as golang.org/x/time/rate's
// bucket: a new key starts full with Burst tokens, a refusal takes nothing.
func (s *Store) Take(key string) (bool, time.Duration, error) {
	if s.limit.Rate == 0 {
		return false, 0, errors.New("state: Take on a store configured without a rate")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.budget)
	defer cancel()
	res, err := s.limiter.Allow(ctx, keyPrefix+key, s.limit)
	if err = s.result("bucket", err); err != nil {
		return false, 0, err
	}
	if res.Allowed > 0 {
		return true, 0, nil
	}
	return false, max(res.RetryAfter, time.Nanosecond), nil
}

// Values of a nonce's key.
const (
	nonceIssued = "issued"
	nonceUsed   = "used"
)

// redeem turns an issued nonce into a used one, atomically (Redis runs a
// script alone): 1 for the one caller that redeemed it, 0 for a replay, -1
// for a nonce Redis does not know.
var redeem = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
elseif v == ARGV[2] then
  return 0
end
return -1
`)

// Issued records a nonce handed out in an approval ([policy.Nonces]) with
// SET NX; the key expires a minute after the approval (see clockSkew).
func (s *Store) Issued(nonce []byte, expiry time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.budget)
	defer cancel()
	set, err := s.rdb.SetNX(ctx, nonceKey(nonce), nonceIssued, nonceTTL(expiry)).Result()
	if err = s.result("nonce", err); err != nil {
		return err
	}
	if !set { // 16 random bytes twice: not in this universe's lifetime
		return errors.New("state: approval nonce already recorded")
	}
	return nil
}

// Redeem marks an issued nonce used ([policy.Nonces]), in one script (run
// by EVALSHA, sent again when Redis answers NOSCRIPT): of any number of
// replicas redeeming one nonce at once, exactly one is told it was fresh.
// A nonce Redis does not know — never issued through this store, or
// forgotten by a Redis that restarted without persistence — is refused:
// whether it was used before cannot be told.
func (s *Store) Redeem(nonce []byte, expiry time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.budget)
	defer cancel()
	got, err := redeem.Run(ctx, s.rdb, []string{nonceKey(nonce)}, nonceIssued, nonceUsed, nonceTTL(expiry).Milliseconds()).Int()
	if err = s.result("nonce", err); err != nil {
		return false, err
	}
	if got < 0 {
		s.log.Warn().Msg("approval refused: the shared state store does not know its nonce (expired, not issued through this store, or lost by a Redis restart); the user is asked again")
		return false, policy.ErrStateUnknown
	}
	return got == 1, nil
}

func nonceKey(nonce []byte) string { return keyPrefix + "nonce:" + hex.EncodeToString(nonce) }

// nonceTTL keeps a nonce's key until its approval expires, plus the skew
// margin; a nonce expiring now still gets the margin.
func nonceTTL(expiry time.Time) time.Duration {
	return max(time.Until(expiry), time.Millisecond) + clockSkew
}

// Ping checks that Redis answers, within the store's timeouts or ctx,
// whichever ends first; /readyz calls it.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.budget)
	defer cancel()
	return s.result("ping", s.rdb.Ping(ctx).Err())
}

// Close closes the connections; later operations fail.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	return s.rdb.Close()
}

// libraryLog installs go-redis's logger, which is one per process: its pool
// reports failed dials, which the store's transitions already say, so they go
// to the diagnostic log at debug level rather than as plain text on stderr.
var libraryLog sync.Once

type redisLog struct{ log zerolog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug().Str("component", "go-redis").Msg(fmt.Sprintf(format, v...))
}

// result words a failed operation and logs the store's transitions: the
// first failure after a success, and the first success after a failure.
func (s *Store) result(op string, err error) error {
	if err == nil {
		if s.down.Swap(false) {
			s.log.Info().Msg("shared state store reachable again")
		}
		return nil
	}
	if s.failed != nil {
		s.failed(op)
	}
	err = fmt.Errorf("state store %s: %s: %w", s.addr, op, err)
	if !s.down.Swap(true) {
		s.log.Warn().Err(err).Msg("shared state store unreachable: calls that need it are refused (denied_state)")
	}
	return err
}
