package vcentersim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultUser is the account the simulator accepts when [Options.User] is empty.
const DefaultUser = "administrator@vsphere.local"

// DefaultPassword is the password the simulator accepts when [Options.Password] is empty.
// It is a fixed, public value: the simulator guards nothing.
const DefaultPassword = "vcentersim-VMware1!"

// maxRequestBody bounds what the simulator reads of any request body. vCenter's
// own limit is not documented; every request this project sends is far smaller.
const maxRequestBody = 1 << 20

// Options configure a [Server]. The zero value is a default vCenter 8.0 U3 with
// the default inventory.
type Options struct {
	// VMs selects the inventory. 0 builds the default inventory (a few dozen
	// VMs, see the package documentation); a positive number builds a scaled
	// inventory with exactly that many VMs.
	VMs int

	// Release is the vim25 API version reported as about.apiVersion, one of
	// "8.0.0.0" (vCenter 8.0 GA: no VI/JSON at all), "8.0.1.0", "8.0.2.0"
	// (VI/JSON exists but needs its own login) or "8.0.3.0" (one session is
	// valid on every surface). Empty means [DefaultRelease]; any other value
	// makes NewServer panic.
	Release string

	// SeparateVIJSONSessions makes a release that shares sessions (8.0 U3)
	// keep them apart, as releases before it do: VI/JSON answers a vAPI
	// token with NotAuthenticated and needs its own Login (and /api, /rest
	// refuse a VI/JSON token). It stands for a build on which the unified
	// session is not in effect; the contract asks to verify sharing "on
	// your exact build" (§8), so a client must cope with either.
	SeparateVIJSONSessions bool

	// User and Password are the only accepted credentials, for Basic auth on
	// /api and /rest and for the VI/JSON Login. Empty means [DefaultUser] and
	// [DefaultPassword]. The user name is matched case-insensitively, as SSO does.
	User, Password string

	// SessionIdleTimeout is how long a session may stay unused before it dies
	// (401 / NotAuthenticated). Zero means 30 minutes, VMware's documented default.
	SessionIdleTimeout time.Duration

	// TaskPolls is how many GETs of a task's info see it running, with progress
	// rising, before the next one sees it ended. Zero means 3; a negative value
	// ends a task on its first poll.
	TaskPolls int

	// ManualTasks keeps every task running until [Server.CompleteTasks]: it
	// is the initial value of [Server.HangTasks].
	ManualTasks bool

	// GuestShutdownDelay is how long a guest shutdown keeps the VM powered on
	// (guest state SHUTTING_DOWN), measured on the [Options.Now] clock. Zero
	// powers the VM off as soon as the request is accepted.
	GuestShutdownDelay time.Duration

	// CertHosts are the subject alternative names of the server certificate:
	// IP addresses or DNS names. Empty means 127.0.0.1, ::1 and localhost.
	CertHosts []string

	// Latency and Jitter delay every request by Latency plus a random part of
	// Jitter. [Server.SetLatency] changes them later.
	Latency, Jitter time.Duration

	// Now is the clock for session expiry, task and snapshot times and guest
	// shutdowns. Nil means time.Now. Tests drive time by injecting their own.
	Now func() time.Time

	// Events is the size of the event history: the default history's own
	// events (about 80 on the default inventory), padded with routine
	// events (logins, logouts, DRS moves over the 30 days before the server
	// started) up to Events when it is larger.
	Events int

	// RESTErrorsWithoutErrorType writes every /rest error without
	// value.error_type, leaving only the type name
	// ("com.vmware.vapi.std.errors.not_found") to tell what failed, as 6.x
	// servers did (contract §4). Without it only UNAUTHENTICATED has that
	// shape, the one the contract quotes from a live server (§1.4).
	RESTErrorsWithoutErrorType bool

	// RequestLog is how many of the most recent requests [Server.Requests]
	// keeps; older ones are dropped first. Zero means [DefaultRequestLog].
	// [Server.Counters] stay exact whatever the size.
	RequestLog int
}

// DefaultRequestLog is the size of the request log when [Options.RequestLog]
// is zero: a --simulate server may run for hours, so the log is bounded
// (a few tens of MiB at most) while the counters keep exact totals.
const DefaultRequestLog = 100_000

// Server is a simulated vCenter 8 listening on HTTPS on a loopback port.
// Create one with [NewServer] (or [NewUnstartedServer] then [Server.Start])
// and stop it with [Server.Close].
//
// Every exported method is safe for concurrent use with requests in flight.
type Server struct {
	// URL is the base URL, "https://127.0.0.1:PORT" with no trailing slash.
	// It is set by Start.
	URL string

	opts    Options
	release release
	routes  routeTable
	cert    tls.Certificate
	caPEM   []byte
	caPool  *x509.CertPool

	httpSrv *http.Server
	client  *http.Client

	startOnce sync.Once
	closeOnce sync.Once
	closing   chan struct{} // closed by Close: hung requests and latency sleeps give up
	inflight  sync.WaitGroup

	// mu guards everything below. Handlers run under mu, build their reply
	// from copies, and write it after unlocking.
	mu          sync.Mutex
	inv         *inventory
	sessions    map[string]*session
	tasks       map[string]*task
	taskSeq     int
	faults      []*activeFault
	stats       Counters
	requests    requestLog
	latency     time.Duration
	jitter      time.Duration
	rng         *rand.Rand
	hangTasks   bool
	failNext    *vimFault
	shutdownDue map[string]time.Time // VM id → when its guest shutdown ends
	obs         *obsState            // events, alarms, tags, performance (obs.go)
	chg         *changeState         // libraries, customization specs, Automation API tasks (changes.go)
}

// NewServer starts and returns a simulator configured by opts.
// The caller must Close it.
func NewServer(opts Options) *Server {
	s := NewUnstartedServer(opts)
	s.Start()
	return s
}

// NewUnstartedServer returns a simulator that is configured, with its
// inventory built and its certificates issued, but not yet listening.
// Call [Server.Start] to serve. It panics on an unknown [Options.Release].
func NewUnstartedServer(opts Options) *Server {
	if opts.Release == "" {
		opts.Release = DefaultRelease
	}
	rel, ok := lookupRelease(opts.Release)
	if !ok {
		panic(fmt.Sprintf("vcentersim: unknown Options.Release %q (want one of %s)", opts.Release, strings.Join(serverReleases(), ", ")))
	}
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.SessionIdleTimeout <= 0 {
		opts.SessionIdleTimeout = 30 * time.Minute
	}
	switch {
	case opts.TaskPolls == 0:
		opts.TaskPolls = 3
	case opts.TaskPolls < 0:
		opts.TaskPolls = 0
	}
	if len(opts.CertHosts) == 0 {
		opts.CertHosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	opts.CertHosts = slices.Clone(opts.CertHosts)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RequestLog <= 0 {
		opts.RequestLog = DefaultRequestLog
	}

	cert, caPEM, err := issueCertificates(opts.CertHosts)
	if err != nil {
		panic("vcentersim: issue certificates: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	var inv *inventory
	if opts.VMs > 0 {
		inv = buildScaledInventory(opts.VMs)
	} else {
		inv = buildDefaultInventory()
	}

	s := &Server{
		opts:        opts,
		release:     rel,
		routes:      buildRoutes(),
		cert:        cert,
		caPEM:       caPEM,
		caPool:      pool,
		closing:     make(chan struct{}),
		inv:         inv,
		sessions:    make(map[string]*session),
		tasks:       make(map[string]*task),
		latency:     opts.Latency,
		jitter:      opts.Jitter,
		rng:         rand.New(rand.NewPCG(1, 2)), // fixed seed: jitter is reproducible
		hangTasks:   opts.ManualTasks,
		shutdownDue: make(map[string]time.Time),
		stats:       newCounters(),
		requests:    requestLog{max: opts.RequestLog},
	}
	s.buildHistory()
	s.buildChanges(opts.VMs == 0)
	return s
}

// Start listens on 127.0.0.1:0 and serves HTTPS (TLS 1.2 or later, HTTP/1.1).
// It panics if the server was started before or cannot listen.
func (s *Server) Start() {
	started := false
	s.startOnce.Do(func() {
		started = true
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			panic("vcentersim: listen: " + err.Error())
		}
		s.URL = "https://" + ln.Addr().String()
		tlsConf := &tls.Config{
			Certificates: []tls.Certificate{s.cert},
			MinVersion:   tls.VersionTLS12,
			// HTTP/1.1 only: the connection-reset fault hijacks the connection,
			// which HTTP/2 does not allow.
			NextProtos: []string{"http/1.1"},
		}
		s.httpSrv = &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 30 * time.Second,
			// Handshake failures (a client that does not trust the CA) are the
			// client's business; keep them off the product's stderr.
			ErrorLog: log.New(io.Discard, "", 0),
		}
		s.client = &http.Client{Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: false,
		}}
		go func() { _ = s.httpSrv.Serve(tls.NewListener(ln, tlsConf)) }()
	})
	if !started {
		panic("vcentersim: Server already started")
	}
}

// Close stops listening, ends hung requests, waits for requests in flight to
// finish and closes the idle connections of [Server.Client]. Calling it twice,
// or on a server never started, is safe.
func (s *Server) Close() {
	if s == nil {
		return
	}
	s.closeOnce.Do(func() {
		close(s.closing)
		if s.httpSrv != nil {
			_ = s.httpSrv.Shutdown(context.Background())
		}
		// Shutdown does not wait for hijacked connections (the reset and hang
		// faults); the handlers that own them are tracked here.
		s.inflight.Wait()
		if s.client != nil {
			s.client.CloseIdleConnections()
		}
	})
}

// Host returns "127.0.0.1:PORT", the host part of [Server.URL].
func (s *Server) Host() string {
	return strings.TrimPrefix(s.URL, "https://")
}

// Client returns an HTTP client that trusts the simulator's CA. It has no
// timeout: callers bound requests with a context. Nil before Start.
func (s *Server) Client() *http.Client {
	return s.client
}

// CACertPEM returns the PEM encoding of the self-signed CA that issued the
// server certificate, for tests that write a CA bundle file.
func (s *Server) CACertPEM() []byte {
	return slices.Clone(s.caPEM)
}

// CertPool returns a pool holding only the simulator's CA: what a client
// must trust, and nothing else.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.caPEM)
	return p
}

// User returns the accepted user name.
func (s *Server) User() string { return s.opts.User }

// Password returns the accepted password.
func (s *Server) Password() string { return s.opts.Password }

// now reads the configured clock.
func (s *Server) now() time.Time { return s.opts.Now() }
