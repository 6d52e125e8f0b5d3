// Package vcenter is the only code that speaks HTTP to vCenter: sessions,
// the /api and /rest dialects of the Automation API, VI/JSON for snapshots
// and tasks, retries of safe requests, error mapping and the managed-object
// id grammar. It follows shared/vcenter-api.md.
//
// It knows nothing of MCP, roles, rate limits or audit.
package vcenter

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
)

// Mode selects the Automation API dialect.
type Mode string

// The two Automation API dialects.
const (
	ModeAPI  Mode = "api"  // /api, current since 7.0 U2
	ModeREST Mode = "rest" // /rest, deprecated since 7.0 U2
)

// Config configures a [Client]. The zero value of each optional field
// selects the documented default.
type Config struct {
	// Host is the vCenter address as "host" or "host:port"; see [NormalizeHost].
	Host string
	User string
	// Scrub is the process's one scrubber of secrets; the client adds the
	// credentials to it (nil: a scrubber of its own). It removes them from
	// every text that leaves this package.
	Scrub *redact.Scrubber
	// Password is used for logins only.
	//
	// Security: it is never logged, and any echo of it in a vCenter message
	// is replaced by "***" before the message leaves this package.
	Password string
	Mode     Mode

	// RootCAs are the certificate authorities to trust; nil means the
	// system roots, and CABundle's certificates in addition to them.
	RootCAs *x509.CertPool
	// CABundle is VCENTER_CA_BUNDLE (nil: none); see [CABundle].
	CABundle *CABundle
	// Insecure skips certificate verification (INSECURE=true).
	Insecure bool

	// Timeout bounds one logical request, retries included (default 20s).
	Timeout time.Duration
	// Retries is how many times a safe request is retried (default 3);
	// negative means none.
	Retries int
	// Backoff is the first retry wait; it doubles per attempt up to
	// MaxBackoff (defaults 500ms and 10s). A Retry-After header wins.
	Backoff, MaxBackoff time.Duration
	// TaskPollInterval is the wait between two Task info reads (default 500ms).
	TaskPollInterval time.Duration
	// MaxBodyBytes caps a response body (default 8 MiB, see body.go); a
	// larger answer fails with ErrBadAnswer.
	MaxBodyBytes int64
	// Parallelism bounds concurrent requests of one split list (default 6).
	Parallelism int

	Log zerolog.Logger

	// OnRequest, if set, is told of every logical request sent to vCenter
	// (its retries included): the method, vCenter's HTTP status (0 when no
	// answer came) and how long it took. OnLogin, if set, is told of every
	// login, vAPI or VI/JSON, with its error (nil when it succeeded). They
	// feed metrics; they must be quick and safe for concurrent use.
	OnRequest func(method string, status int, took time.Duration)
	OnLogin   func(err error)

	// Now is the clock of the client's caches (names, placements); nil
	// means time.Now. Tests drive it to expire entries without sleeping.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Mode == "" {
		c.Mode = ModeAPI
	}
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Backoff < 0 {
		c.Backoff = 0
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.TaskPollInterval < 0 {
		c.TaskPollInterval = 0
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.Parallelism <= 0 {
		c.Parallelism = 6
	}
}

// Client talks to one vCenter. It is safe for concurrent use and keeps one
// vAPI session (and, before 8.0 U3 or where VI/JSON refuses that one, one
// VI/JSON session) for its lifetime.
type Client struct {
	cfg     Config
	base    string // "https://host:port"
	host    string // normalised "host:port"
	dialect dialect
	http    *retryablehttp.Client
	log     zerolog.Logger

	sess    *session         // the /api or /rest session
	names   *nameCache       // id → name for hosts, clusters, folders, networks
	places  *placeCache      // VM → host and folder (placecache.go)
	bodies  *bodyReader      // reads answers within MaxBodyBytes and the large-body slot
	secrets *redact.Scrubber // replaces the credentials in text from vCenter; see clean

	vimMu      sync.Mutex // guards vimSt and closed
	vimSt      *vimState  // VI/JSON discovery and session, set on first use
	discoverMu sync.Mutex // serialises VI/JSON discovery
	// noVIJSON and noVIJSONUntil cache the discovery of a vCenter without
	// VI/JSON; guarded by vimMu.
	noVIJSON      *noVIJSONError
	noVIJSONUntil time.Time
	closed        bool // set by Close; guarded by vimMu

	lists listMemory  // which list queries hit vCenter's cap (lists.go)
	obs   obsCache    // what observability reads keep: managers, counters, alarm and tag names (observe.go)
	chg   changeCache // what the change operations keep: the provisioning checker (relocate.go)
}

// New returns a client for cfg.Host. It sends nothing until the first call.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	host, err := NormalizeHost(cfg.Host)
	if err != nil {
		return nil, err
	}
	d, err := dialectFor(cfg.Mode)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:     cfg,
		base:    "https://" + host,
		host:    host,
		dialect: d,
		log:     cfg.Log.With().Str("vcenter", host).Logger(),
	}
	c.http = c.newHTTPClient()
	// Security: the one scrubber of the process knows the credentials in
	// every form vCenter may echo them (escaped, base64 of user:password).
	c.secrets = cfg.Scrub
	if c.secrets == nil {
		c.secrets = redact.New()
	}
	c.secrets.AddCredentials(cfg.User, cfg.Password)
	c.sess = &session{login: c.observeLogin(c.vapiLogin), logout: c.vapiLogout}
	c.names = newNameCache()
	c.places = newPlaceCache()
	c.bodies = newBodyReader(cfg.MaxBodyBytes)
	return c, nil
}

// now reads the client's clock (Config.Now).
func (c *Client) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

// Host is the normalised "host:port" of this client's vCenter.
func (c *Client) Host() string { return c.host }

// Mode is the Automation API dialect in use.
func (c *Client) Mode() Mode { return c.cfg.Mode }

// Close logs out of every session this client opened. It is safe to call
// more than once; later calls do nothing.
func (c *Client) Close(ctx context.Context) error {
	c.vimMu.Lock()
	if c.closed {
		c.vimMu.Unlock()
		return nil
	}
	c.closed = true
	var own *session
	if c.vimSt != nil {
		own = c.vimSt.own
	}
	c.vimMu.Unlock()

	var errs []error
	if own != nil {
		errs = append(errs, own.close(ctx))
	}
	errs = append(errs, c.sess.close(ctx))
	c.http.HTTPClient.CloseIdleConnections()
	return errors.Join(errs...)
}

func (c *Client) newHTTPClient() *retryablehttp.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = TLSConfig(c.host, c.cfg.RootCAs, c.cfg.CABundle, c.cfg.Insecure)
	tr.MaxIdleConnsPerHost = 2 * c.cfg.Parallelism
	tr.Proxy = nil // vCenter is reached directly; a proxy would see session tokens
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: tr, CheckRedirect: noRedirects},
		Logger:       leveledLogger{c},
		RetryWaitMin: c.cfg.Backoff,
		RetryWaitMax: c.cfg.MaxBackoff,
		RetryMax:     c.cfg.Retries,
		CheckRetry:   c.checkRetry,
		Backoff:      backoff,
		ErrorHandler: keepLastResponse,
		RequestLogHook: func(_ retryablehttp.Logger, r *http.Request, attempt int) {
			if p, _ := r.Context().Value(progressKey{}).(*progress); p != nil {
				p.attempts.Store(int32(attempt + 1)) //nolint:gosec // attempt ≤ Retries
			}
		},
	}
	return rc
}

// noRedirects stops redirects: vCenter's APIs do not redirect, and following
// one would carry the session header to wherever it points.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NormalizeHost returns h as lower-case "host:port" without a trailing dot,
// with port 443 when none is given. It accepts an optional "https://"
// prefix and trailing "/", and refuses anything else that is not a host.
func NormalizeHost(h string) (string, error) {
	orig := h
	h = strings.TrimSpace(h)
	if rest, ok := strings.CutPrefix(strings.ToLower(h), "https://"); ok {
		h = rest
	}
	h = strings.TrimSuffix(h, "/")
	if h == "" {
		return "", errors.New("empty vCenter host")
	}
	if strings.ContainsAny(h, "/?#@ \t\\") || strings.Contains(h, "://") {
		return "", fmt.Errorf("invalid vCenter host %s: give a host name or host:port, like vcenter.example.com or 10.0.0.5:443", quoteShort(orig))
	}
	host, port := h, "443"
	if hh, pp, err := net.SplitHostPort(h); err == nil {
		host, port = hh, pp
	} else if strings.Count(h, ":") > 1 && !strings.HasPrefix(h, "[") { // bare IPv6
		host = h
	} else if strings.Contains(h, ":") {
		reason := err.Error()
		var ae *net.AddrError
		if errors.As(err, &ae) {
			reason = ae.Err // its Error() repeats the whole input, unquoted
		}
		return "", fmt.Errorf("invalid vCenter host %s: %s", quoteShort(orig), reason)
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return "", fmt.Errorf("invalid vCenter host %s: no host name", quoteShort(orig))
	}
	if strings.Contains(host, ":") {
		if a, err := netip.ParseAddr(host); err != nil || a.Zone() != "" {
			return "", fmt.Errorf("invalid vCenter host %s: not an IPv6 address (zones are not supported)", quoteShort(orig))
		}
	} else if !validHostName(host) {
		return "", fmt.Errorf("invalid vCenter host %s: a host name has only letters, digits, dots, dashes and underscores (write an internationalised name in its xn-- form)", quoteShort(orig))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(port, "+") {
		return "", fmt.Errorf("invalid vCenter host %s: port must be 1-65535", quoteShort(orig))
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil // "0443" and "443" are one port
}

// validHostName reports whether h, lower-cased, is what NormalizeHost
// accepts as a host name or IPv4 address: at most 254 letters, digits, '.',
// '-' and '_', neither starting nor ending with '.' or '-', so that it stays
// the host of an https URL.
func validHostName(h string) bool {
	if len(h) < 1 || len(h) > 254 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0 && i < len(h)-1:
		default:
			return false
		}
	}
	return true
}

// pathOf renders a request path and query for errors and logs.
func pathOf(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// observeLogin tells OnLogin of each login's outcome.
func (c *Client) observeLogin(login func(context.Context) (string, error)) func(context.Context) (string, error) {
	if c.cfg.OnLogin == nil {
		return login
	}
	return func(ctx context.Context) (string, error) {
		tok, err := login(ctx)
		c.cfg.OnLogin(err)
		return tok, err
	}
}
