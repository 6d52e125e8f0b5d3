// Package transport carries MCP messages between clients and the tools'
// server. It owns the stdio transport clients launch (stdio.go: every line
// that is not a valid JSON-RPC message answered, audited and skipped), the
// checks of one inbound message both share (jsonrpc.go), and the Streamable
// HTTP transport of shared deployments (serve --http): bearer tokens per
// request, Origin and Host checks, body and time limits, session and
// connection caps (sessions.go, conncap.go), the audit of every refusal
// (refusals.go), health endpoints and graceful shutdown.
//
// It reaches the middleware of package tools only through its exported
// constructor options ([HTTPIdentity] is the identity function the middleware
// is built with) and methods ([tools.Middleware.Refused],
// [tools.Middleware.Cancel]); it decides nothing itself: tokens resolve through
// package policy, and refusals are audited with policy's decision.
package transport

// The shared mode: the same server, middleware, policy and audit, served over
// MCP Streamable HTTP to many users at once. Each HTTP request carries its
// caller's bearer token; the token resolves to a role through the same
// policy as the stdio launch token, and that identity travels with each
// JSON-RPC message to the middleware (see [HTTPIdentity]). Requests that
// never reach MCP (no or unknown token, a foreign Origin or Host) are
// refused here and audited here, so the audit log still has one line per
// refused call.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// Paths of the health endpoints; they need no token.
const (
	HealthzPath = "/healthz"
	ReadyzPath  = "/readyz"
)

// Fixed limits of the HTTP server.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// readyCacheTTL collapses readiness probes: every load balancer and
	// replica probing every few seconds must not turn into as many vCenter
	// requests.
	readyCacheTTL = 5 * time.Second
	readyTimeout  = 10 * time.Second
	// Refused requests are audited at most this often per client address,
	// so that an unauthenticated flood cannot fill the audit disk; beyond
	// it they get 429 and no line.
	refusalRPS   = 5
	refusalBurst = 20
	// realm is the WWW-Authenticate realm.
	realm = "vsphere-mcp-pro"
	// eventStoreBytes bounds the events kept for resumption, all sessions
	// together; the oldest go first.
	eventStoreBytes = 8 << 20
	// retryMillis is the SSE retry field: how long a client waits before
	// reconnecting a stream that broke.
	retryMillis = 1000
)

// HTTPConfig configures the Streamable HTTP transport. Every field is given
// by the caller (the defaults live in the configuration's environment tags);
// durations are wall-clock and must be positive.
type HTTPConfig struct {
	// Host and Port are where to listen (SERVER_HOST, SERVER_PORT). Port 0
	// picks a free port, which the start-up log line reports.
	Host string
	Port int
	// Path is the MCP endpoint (MCP_PATH).
	Path string
	// TLSCert and TLSKey are PEM files (SERVER_TLS_CERT, SERVER_TLS_KEY):
	// both or neither. They are read once, at [NewHTTPServer].
	TLSCert, TLSKey string
	// AllowedOrigins are the browser origins ("https://app.example.com")
	// allowed to call (SERVER_ALLOWED_ORIGINS). Requests without an Origin
	// header (every non-browser MCP client) are not affected; loopback
	// origins are allowed on loopback connections.
	AllowedOrigins []string
	// AllowedHosts are the Host header values accepted besides loopback
	// names ("mcp.example.com" or "mcp.example.com:8443";
	// SERVER_ALLOWED_HOSTS). Empty: loopback connections need a loopback
	// Host, others are not checked (a start-up warning says so).
	AllowedHosts []string
	// Stateless serves every request with a fresh MCP session, so that
	// replicas behind a load balancer need no session affinity
	// (SERVER_STATELESS). Server-to-client requests are then impossible:
	// confirmations use confirm: true, or the 2026-07-28 retry (which needs
	// one approval key on every replica).
	Stateless bool
	// MaxBodyBytes bounds a request body (SERVER_MAX_BODY_BYTES); larger
	// ones get 413.
	MaxBodyBytes int64
	// ReadTimeout bounds reading a request body (SERVER_READ_TIMEOUT_S).
	ReadTimeout time.Duration
	// WriteTimeout bounds the response to one POST, the tool call included
	// (SERVER_WRITE_TIMEOUT_S). The standalone event stream (GET) has none.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the wait for in-flight calls when the context
	// of [HTTPServer.Serve] ends (SERVER_SHUTDOWN_TIMEOUT_S).
	ShutdownTimeout time.Duration
	// SessionIdleTimeout closes a stateful session unused for this long
	// (SERVER_SESSION_IDLE_TIMEOUT_S).
	SessionIdleTimeout time.Duration
	// MaxSessionsPerToken bounds the live MCP sessions of one token on a
	// stateful server (SERVER_MAX_SESSIONS_PER_TOKEN); an initialize beyond
	// it gets 429.
	MaxSessionsPerToken int
	// MaxConnections bounds the open connections (SERVER_MAX_CONNECTIONS);
	// one beyond it gets 503 and is closed.
	MaxConnections int
	// Ready reports whether vCenter can be used; /readyz calls it (at most
	// every few seconds) and reports 503 while it fails. Nil: always ready.
	// [VCenterProbe] builds one.
	Ready func(ctx context.Context) error
	// Store reports whether the shared state store (SERVER_STATE_URL)
	// answers; /readyz asks it along with Ready and shows its state. Nil:
	// there is no store.
	Store func(ctx context.Context) error
	// StoreOptional keeps /readyz at 200 while Store fails, because calls
	// that do not need the store can still be served (reads with
	// SERVER_STATE_FAIL_OPEN_READS, or everything but approvals without a
	// rate limit). Otherwise a replica whose store is unreachable is not
	// ready: every call it took would be refused.
	StoreOptional bool
	// SDKLog receives the go-sdk transport's own log; nil discards it.
	SDKLog *slog.Logger
	// Log receives this transport's diagnostics (never stdout).
	Log zerolog.Logger
	// VCenter is the default vCenter host, shown by /readyz.
	VCenter string
}

// HTTPConfigOf takes the HTTP settings from the environment; the caller adds
// Ready, the logs and the vCenter host.
func HTTPConfigOf(e config.Env) HTTPConfig {
	return HTTPConfig{
		// Without the shared store, reads that may fail open, and every call
		// when nothing is rate-limited, can still be served.
		StoreOptional: e.StateFailOpenReads || !e.RateLimit,
		Host:          e.ServerHost, Port: e.ServerPort, Path: e.MCPPath, TLSCert: e.TLSCert, TLSKey: e.TLSKey,
		AllowedOrigins: e.AllowedOrigins, AllowedHosts: e.HTTPHosts, Stateless: e.Stateless,
		MaxBodyBytes: int64(e.MaxBodyBytes), ReadTimeout: config.Seconds(e.ReadTimeoutS),
		WriteTimeout: config.Seconds(e.WriteTimeoutS), ShutdownTimeout: config.Seconds(e.ShutdownTimeout),
		SessionIdleTimeout: config.Seconds(e.SessionIdleS), MaxSessionsPerToken: e.MaxSessionsPerToken,
		MaxConnections: e.MaxConnections,
	}
}

// HTTPServer serves one [mcp.Server] over Streamable HTTP, with a bearer
// token per request, Origin and Host checks, body limits, health endpoints
// and graceful shutdown. It is an [http.Handler]; [HTTPServer.Serve] and
// [HTTPServer.ListenAndServe] run it with timeouts and TLS.
type HTTPServer struct {
	cfg     HTTPConfig
	srv     *mcp.Server
	mw      *tools.Middleware
	policy  *policy.Policy
	log     zerolog.Logger
	anon    http.Handler // the go-sdk handler, for requests without a token
	authed  http.Handler // the same behind auth.RequireBearerToken
	tls     *tls.Config
	origins map[string]bool
	hosts   []string // normalised: "name" or "name:port"

	refusals *policy.Limiter
	sessions *sessions

	readyMu  sync.Mutex
	readyAt  time.Time
	readyErr error
	storeErr error

	draining    atomic.Bool
	inflight    inflight
	streams     context.Context // ends the standalone event streams at shutdown
	stopStreams context.CancelFunc
	served      atomic.Bool
	addr        chan net.Addr // the listening address, once known
}

// identityKey carries the resolved identity from [HTTPServer.ServeHTTP] to
// the token verifier, and identityExtra carries it on in the go-sdk's
// TokenInfo to [HTTPServer.Identify].
type identityKey struct{}

const identityExtra = "vsphere-mcp-pro/identity"

// errNoHTTPIdentity is what the identity function reports for a request
// that did not come through [HTTPServer.ServeHTTP].
var errNoHTTPIdentity = errors.New("the request carries no HTTP identity")

// NewHTTPServer checks cfg and returns the HTTP front of srv, which must
// have been built by [tools.NewServer] with mw, and mw with the identity
// function [HTTPIdentity] of pol: over HTTP the caller is the bearer token of
// each request. The warnings are for the operator's stderr (an exposed
// address, no TLS, no Host check); the error lists every configuration
// mistake.
//
// Security: NewHTTPServer refuses to listen beyond loopback while the
// policy lets anyone in (AUTH_ENFORCE=false, or --simulate without a
// policy): every tool would be open to the network.
func NewHTTPServer(srv *mcp.Server, mw *tools.Middleware, pol *policy.Policy, cfg HTTPConfig) (*HTTPServer, []string, error) {
	if srv == nil || mw == nil || pol == nil {
		return nil, nil, errors.New("http: a server, its middleware and the policy are required")
	}
	var problems, warnings []string
	if strings.TrimSpace(cfg.Host) == "" {
		problems = append(problems, "SERVER_HOST is empty: give the address to listen on, e.g. 127.0.0.1")
	}
	if !strings.HasPrefix(cfg.Path, "/") || cfg.Path == HealthzPath || cfg.Path == ReadyzPath || strings.ContainsAny(cfg.Path, "?# ") {
		problems = append(problems, fmt.Sprintf("MCP_PATH=%q: give a path starting with / other than %s and %s", cfg.Path, HealthzPath, ReadyzPath))
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		problems = append(problems, fmt.Sprintf("SERVER_PORT=%d: give 1 to 65535 (0 picks a free port)", cfg.Port))
	}
	if cfg.MaxBodyBytes < 1024 {
		problems = append(problems, fmt.Sprintf("SERVER_MAX_BODY_BYTES=%d: give at least 1024", cfg.MaxBodyBytes))
	}
	if cfg.MaxSessionsPerToken < 1 {
		problems = append(problems, fmt.Sprintf("SERVER_MAX_SESSIONS_PER_TOKEN=%d: give at least 1", cfg.MaxSessionsPerToken))
	}
	if cfg.MaxConnections < 1 {
		problems = append(problems, fmt.Sprintf("SERVER_MAX_CONNECTIONS=%d: give at least 1", cfg.MaxConnections))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"SERVER_READ_TIMEOUT_S", cfg.ReadTimeout}, {"SERVER_WRITE_TIMEOUT_S", cfg.WriteTimeout},
		{"SERVER_SHUTDOWN_TIMEOUT_S", cfg.ShutdownTimeout}, {"SERVER_SESSION_IDLE_TIMEOUT_S", cfg.SessionIdleTimeout},
	} {
		if d.d <= 0 {
			problems = append(problems, fmt.Sprintf("%s=%g: give a positive number of seconds", d.name, d.d.Seconds()))
		}
	}
	h := &HTTPServer{cfg: cfg, srv: srv, mw: mw, policy: pol, log: cfg.Log, origins: map[string]bool{}, addr: make(chan net.Addr, 1)}
	for _, o := range cfg.AllowedOrigins {
		if strings.TrimSpace(o) == "" {
			continue
		}
		n, err := normalizeOrigin(strings.TrimSpace(o))
		if err != nil {
			problems = append(problems, fmt.Sprintf("SERVER_ALLOWED_ORIGINS: %q: %v", o, err))
			continue
		}
		h.origins[n] = true
	}
	for _, s := range cfg.AllowedHosts {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := normalizeHostEntry(strings.TrimSpace(s))
		if err != nil {
			problems = append(problems, fmt.Sprintf("SERVER_ALLOWED_HOSTS: %q: %v", s, err))
			continue
		}
		h.hosts = append(h.hosts, n)
	}
	switch {
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		problems = append(problems, "SERVER_TLS_CERT and SERVER_TLS_KEY: set both (PEM certificate chain and its key) or neither")
	case cfg.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			problems = append(problems, fmt.Sprintf("SERVER_TLS_CERT/SERVER_TLS_KEY: %v", err))
		}
		h.tls = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	exposed := !isLoopbackName(cfg.Host)
	// Policy.Resolve accepts the empty token only when AUTH_ENFORCE is off.
	_, err := pol.Resolve("")
	open := err == nil
	if exposed && open {
		problems = append(problems, fmt.Sprintf("SERVER_HOST=%s with no token required (AUTH_ENFORCE=false, or --simulate without a policy) would open every tool to the network: "+
			"configure TOKENS_TO_ROLES or POLICY_FILE, or listen on 127.0.0.1", cfg.Host))
	}
	if len(problems) > 0 {
		return nil, nil, errors.New(strings.Join(problems, "\n"))
	}
	if exposed {
		what := "interface " + cfg.Host
		if isUnspecified(cfg.Host) {
			what = "ALL interfaces"
		}
		warnings = append(warnings, fmt.Sprintf("SERVER_HOST=%s: listening on %s; anyone who can reach it and holds a token acts with the vCenter service account", cfg.Host, what))
		if h.tls == nil {
			warnings = append(warnings, "no SERVER_TLS_CERT/SERVER_TLS_KEY: bearer tokens cross the network in clear text unless a TLS proxy sits in front")
		}
		if len(h.hosts) == 0 {
			warnings = append(warnings, "SERVER_ALLOWED_HOSTS is empty: the Host header is checked only on loopback connections; list the names clients use")
		}
	}
	if open {
		warnings = append(warnings, "no token is required on "+cfg.Host+": every local process may call every tool")
	}

	h.refusals, _ = policy.NewLimiter(true, refusalRPS, refusalBurst)
	h.sessions = newSessions()
	h.streams, h.stopStreams = context.WithCancel(context.Background())
	// A stateful session keeps its events (bounded) so that a client whose
	// event stream broke can resume it with Last-Event-ID; the SDK then
	// opens each stream with a priming event, to which auditWriter adds the
	// retry field the SDK does not send.
	var events mcp.EventStore
	if !cfg.Stateless {
		store := mcp.NewMemoryEventStore(nil)
		store.SetMaxBytes(eventStoreBytes)
		events = store
	}
	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		EventStore:     events,
		Stateless:      cfg.Stateless,
		Logger:         cfg.SDKLog,
		SessionTimeout: cfg.SessionIdleTimeout,
		// ServeHTTP checks Host itself, with SERVER_ALLOWED_HOSTS (which
		// the SDK's fixed rule would refuse behind a local proxy) and with
		// an audit line.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        cfg.MaxBodyBytes,
	})
	h.anon = sdk
	// RequireBearerToken puts the TokenInfo in the go-sdk's request context,
	// from where the SDK copies it to every JSON-RPC message of the request
	// and binds each stateful session to its creator's UserID (a session
	// id used with another token gets 403).
	h.authed = auth.RequireBearerToken(func(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		id, ok := r.Context().Value(identityKey{}).(policy.Identity)
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: id.TokenFP, Extra: map[string]any{identityExtra: id}}, nil
	}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(sdk)
	return h, warnings, nil
}

// HTTPIdentity is the middleware's identity function over HTTP: the identity
// resolved from the bearer token of the HTTP request that carried each
// message. It fails for a request that did not come through
// [HTTPServer.ServeHTTP].
func HTTPIdentity(pol *policy.Policy) tools.IdentifyFunc {
	return func(_ context.Context, req mcp.Request) (policy.Identity, error) {
		extra := req.GetExtra()
		if extra == nil || extra.Header == nil {
			return policy.Identity{}, errNoHTTPIdentity
		}
		if ti := extra.TokenInfo; ti != nil {
			if id, ok := ti.Extra[identityExtra].(policy.Identity); ok {
				return id, nil
			}
			return policy.Identity{}, errNoHTTPIdentity
		}
		// No token reached the SDK: ServeHTTP lets that through only when the
		// policy accepts the empty token. Ask it again rather than assume.
		return pol.Resolve("")
	}
}

// ServeHTTP routes /healthz, /readyz and the MCP path; everything else is
// 404.
func (h *HTTPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer gets a write deadline: the response to a POST, the tool
	// call included, and every refusal; the MCP event stream (GET) lifts it.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	switch r.URL.Path {
	case h.cfg.Path:
		h.serveMCP(w, r)
	case HealthzPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case ReadyzPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.serveReady(w)
	default:
		http.NotFound(w, r)
	}
}

// serveMCP is the MCP endpoint: token, body, Host and Origin, token, the
// message and the session, then the go-sdk handler. Every refusal on the
// way, and every error status the SDK answers, is audited.
func (h *HTTPServer) serveMCP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rc := http.NewResponseController(w)
	token, tokErr := bearerToken(r.Header)
	id, resolveErr := h.policy.Resolve(token)
	if tokErr == nil && resolveErr != nil && token == "" {
		tokErr = errMissingToken
	}
	fp := policy.Fingerprint(token)
	// who is the caller as far as known, for the audit lines of refusals.
	who := id
	if resolveErr != nil || tokErr != nil {
		who = policy.Identity{TokenFP: fp}
	}

	body, status, why := h.readBody(w, r, rc, start)
	if why != "" {
		// Security: the body was not read to its end, so the connection is
		// closed after the answer. Otherwise net/http would read the rest
		// of the body, with no deadline left, before answering: a request
		// announcing Content-Length: 1000 and sending nothing was never
		// answered and held its connection forever.
		w.Header().Set("Connection", "close")
		h.refuse(w, r, start, body, who, policy.RefusedRequest, status, why, "")
		return
	}
	if why := h.checkHostOrigin(r); why != "" {
		// Security: a browser page on another origin (DNS rebinding, a
		// cross-site request) is refused even with a valid token, and the
		// token's owner is named in the audit line.
		h.refuse(w, r, start, body, who, policy.RefusedOrigin, http.StatusForbidden, why, "")
		return
	}
	switch {
	case tokErr != nil:
		h.refuse(w, r, start, body, who, policy.RefusedAuth, http.StatusUnauthorized, tokErr.Error(), challenge(tokErr))
		return
	case resolveErr != nil:
		h.refuse(w, r, start, body, who, policy.RefusedAuth, http.StatusUnauthorized, "unknown token "+fp, challenge(errUnknownToken))
		return
	}

	var in inbound
	var res *reservation // the place of the session an initialize opens
	sid := r.Header.Get(sessionIDHeader)
	if r.Method == http.MethodPost {
		var rerr *rpcError
		if in, rerr = checkMessage(body); rerr != nil {
			h.refuseRPC(w, r, start, id, policy.RefusedRequest, http.StatusBadRequest, rerr)
			return
		}
		if !h.cfg.Stateless {
			var ok bool
			if res, ok = h.checkSession(w, r, start, id, in, sid); !ok {
				return
			}
			if res != nil {
				defer res.release()
			}
		}
	} else if sid != "" && !h.cfg.Stateless {
		if owner, known := h.sessions.owner(sid); known && owner != id.TokenFP {
			h.refuse(w, r, start, body, id, policy.RefusedAuth, http.StatusForbidden, "the MCP session belongs to another token", "")
			return
		}
	}

	if sid != "" && !h.cfg.Stateless {
		// A request of a session is served in the version negotiated at
		// its initialize, not in an older one its header names: the SDK
		// keys per-request behaviour on the header, and gives streams their
		// priming event (SEP-1699, 2025-11-25) only when the header says so.
		if v, hv := h.sessions.version(sid), r.Header.Get(protocolVersionHeader); v >= "2025-11-25" && hv != "" && hv < v {
			r.Header.Set(protocolVersionHeader, v)
		}
	}
	switch r.Method {
	case http.MethodGet:
		// The standalone event stream lives as long as the session: no
		// write deadline, but it ends when shutdown begins, since it would
		// otherwise hold the server open until the shutdown timeout.
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(h.streams, cancel)
		defer stop()
		r = r.WithContext(ctx)
		_ = rc.SetWriteDeadline(time.Time{})
	case http.MethodPost:
		h.inflight.add()
		defer h.inflight.done()
	}
	aw := &auditWriter{ResponseWriter: w, h: h, r: r, start: start, id: id, in: in, res: res}
	if token == "" {
		h.anon.ServeHTTP(aw, r)
	} else {
		h.authed.ServeHTTP(aw, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	}
	aw.finish()
}

// readBody reads the request's body, whatever the method, bounded by
// SERVER_MAX_BODY_BYTES and SERVER_READ_TIMEOUT_S. On success the read
// deadline is lifted: a read deadline passing during a long call, or an
// event stream, would cancel its context. On failure it returns the status
// and why.
func (h *HTTPServer) readBody(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, start time.Time) ([]byte, int, string) {
	var body []byte
	if r.Body != nil && r.ContentLength != 0 {
		_ = rc.SetReadDeadline(start.Add(h.cfg.ReadTimeout))
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			var ne net.Error
			switch {
			case errors.As(err, &tooBig):
				return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes (SERVER_MAX_BODY_BYTES)", h.cfg.MaxBodyBytes)
			case errors.As(err, &ne) && ne.Timeout():
				return nil, http.StatusRequestTimeout, fmt.Sprintf("the request body was not received within %s (SERVER_READ_TIMEOUT_S)", h.cfg.ReadTimeout)
			}
			return nil, http.StatusBadRequest, "the request body could not be read"
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	_ = rc.SetReadDeadline(time.Time{})
	return body, 0, ""
}

// checkSession applies the session rules of a stateful server to a POST:
// a message without a session must open one (initialize) or need none
// (ping, server/discover, the 2026-07-28 protocol, which the SDK refuses
// on a stateful server with its own JSON-RPC error); a token may keep at
// most SERVER_MAX_SESSIONS_PER_TOKEN live sessions; a session is used only
// with the token that opened it. The reservation of an initialize must be
// released when the request is done.
func (h *HTTPServer) checkSession(w http.ResponseWriter, r *http.Request, start time.Time, id policy.Identity, in inbound, sid string) (*reservation, bool) {
	if sid != "" {
		if owner, known := h.sessions.owner(sid); known && owner != id.TokenFP {
			// The SDK would answer 403 too, but nothing would be audited.
			h.refuseRPC(w, r, start, id, policy.RefusedAuth, http.StatusForbidden, &rpcError{id: idOf(in), code: jsonrpc.CodeInvalidRequest, tool: toolOf(in),
				message: "invalid request: the MCP session belongs to another token"})
			return nil, false
		}
		return nil, true
	}
	switch {
	case in.method == "initialize":
		res, ok := h.sessions.reserve(id.TokenFP, h.liveSessions, h.cfg.MaxSessionsPerToken)
		if ok {
			res.version = in.protocolVersion
		}
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.SessionIdleTimeout.Seconds())))
			h.refuseRPC(w, r, start, id, policy.RefusedCapacity, http.StatusTooManyRequests, &rpcError{id: idOf(in), code: jsonrpc.CodeInvalidRequest, tool: "initialize",
				message: fmt.Sprintf("invalid request: this token has %d live MCP sessions, the most allowed (SERVER_MAX_SESSIONS_PER_TOKEN); end one (DELETE with its Mcp-Session-Id) or wait for an idle one to expire (SERVER_SESSION_IDLE_TIMEOUT_S)", h.cfg.MaxSessionsPerToken)})
			return nil, false
		}
		return res, true
	case in.method == "ping" || in.method == "server/discover" || in.newProtocol || in.msg == nil:
		return nil, true
	case in.call || in.method != "":
		// The SDK would open a session for it and answer HTTP 200 with
		// JSON-RPC error code 0 ("invalid during session initialization").
		h.refuseRPC(w, r, start, id, policy.RefusedRequest, http.StatusBadRequest, &rpcError{id: idOf(in), code: jsonrpc.CodeInvalidRequest, tool: toolOf(in),
			message: fmt.Sprintf("invalid request: %s without an MCP session; send initialize first, then the Mcp-Session-Id header it returns", shortMethod(in.method))})
		return nil, false
	}
	return nil, true
}

// liveSessions is the set of the server's live session ids.
func (h *HTTPServer) liveSessions() map[string]bool {
	live := map[string]bool{}
	for ss := range h.srv.Sessions() {
		live[ss.ID()] = true
	}
	return live
}

func idOf(in inbound) jsonrpc.ID {
	if req, ok := in.msg.(*jsonrpc.Request); ok {
		return req.ID
	}
	return jsonrpc.ID{}
}

func toolOf(in inbound) string {
	if in.tool != "" {
		return in.tool
	}
	return shortMethod(in.method)
}

// Errors of bearerToken, worded for the WWW-Authenticate challenge.
var (
	errMissingToken   = errors.New("no bearer token: send Authorization: Bearer <token>")
	errMalformedToken = errors.New("malformed Authorization header: send Authorization: Bearer <token>")
	errUnknownToken   = errors.New("unknown token")
)

// bearerToken returns the token of the Authorization header, "" when there
// is none, and errMalformedToken for any other scheme or shape. It parses
// as auth.RequireBearerToken does, so both agree on the token.
func bearerToken(hdr http.Header) (string, error) {
	values := hdr.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errMalformedToken
	}
	fields := strings.Fields(values[0])
	if len(fields) != 2 || !strings.EqualFold(fields[0], "bearer") {
		return "", errMalformedToken
	}
	return fields[1], nil
}

// challenge is the WWW-Authenticate value for a refused token (RFC 6750
// §3: no error code when none was sent).
func challenge(err error) string {
	switch {
	case errors.Is(err, errMissingToken):
		return fmt.Sprintf("Bearer realm=%q", realm)
	case errors.Is(err, errMalformedToken):
		return fmt.Sprintf("Bearer realm=%q, error=\"invalid_request\", error_description=\"malformed Authorization header\"", realm)
	}
	return fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\", error_description=\"unknown token\"", realm)
}

// refuse answers a request that does not reach MCP and has the middleware
// write its audit line, within the refusal rate of the client address
// (beyond it: 429 and no line).
func (h *HTTPServer) refuse(w http.ResponseWriter, r *http.Request, start time.Time, body []byte, id policy.Identity, kind policy.Refusal, status int, why, wwwAuth string) {
	tool, client := peekRPC(body)
	if ok, wait := h.auditRefusal(r, start, id, kind, tool, client, fmt.Sprintf("http %d: %s", status, why)); !ok {
		tooManyRefusals(w, wait)
		return
	}
	if wwwAuth != "" {
		w.Header().Set("WWW-Authenticate", wwwAuth)
	}
	http.Error(w, http.StatusText(status)+": "+why, status)
}

// peekRPC names what a refused body asked for: the tool of a tools/call,
// else the JSON-RPC method; and the client, when it introduced itself.
func peekRPC(body []byte) (string, audit.Client) {
	type message struct {
		Method string `json:"method"`
		Params struct {
			Name       any `json:"name"`
			ClientInfo *struct {
				Name    any `json:"name"`
				Version any `json:"version"`
			} `json:"clientInfo"`
		} `json:"params"`
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		var batch []message
		if json.Unmarshal(body, &batch) != nil || len(batch) == 0 {
			return "", audit.Client{}
		}
		m = batch[0]
	}
	tool := m.Method
	if name, ok := m.Params.Name.(string); ok && m.Method == "tools/call" {
		tool = name
	}
	var c audit.Client
	if ci := m.Params.ClientInfo; ci != nil {
		n, _ := ci.Name.(string)
		v, _ := ci.Version.(string)
		c = audit.Client{Name: truncate(n, 64), Version: truncate(v, 32)}
	}
	return truncate(tool, 64), c
}

// checkHostOrigin returns why the request's Host or Origin is refused, or
// "" when both pass. See docs/http.md for the policy.
//
// Security: the MCP specification requires HTTP servers to validate Origin
// against DNS rebinding: a page on evil.example whose name resolves to
// 127.0.0.1 reaches this server from the user's browser with Host and
// Origin evil.example.
func (h *HTTPServer) checkHostOrigin(r *http.Request) string {
	local := arrivedOnLoopback(r)
	name, _, _ := splitHost(r.Host)
	hostOK := isLoopbackName(name) || h.hostAllowed(r.Host) || (len(h.hosts) == 0 && !local)
	if !hostOK {
		return fmt.Sprintf("Host %q is not allowed (add it to SERVER_ALLOWED_HOSTS)", truncate(r.Host, 100))
	}
	origins := r.Header.Values("Origin")
	if len(origins) == 0 {
		return "" // not a browser: nothing to rebind
	}
	o := origins[0]
	if len(origins) > 1 || o == "null" {
		return fmt.Sprintf("Origin %q is not allowed", truncate(o, 100))
	}
	n, err := normalizeOrigin(o)
	if err != nil {
		return fmt.Sprintf("Origin %q is not allowed", truncate(o, 100))
	}
	if h.origins[n] {
		return ""
	}
	u, _ := url.Parse(n)
	if local && isLoopbackName(u.Hostname()) && isLoopbackName(name) {
		return "" // a local tool (an inspector on localhost) on a local server
	}
	return fmt.Sprintf("Origin %q is not allowed (add it to SERVER_ALLOWED_ORIGINS)", truncate(o, 100))
}

func (h *HTTPServer) hostAllowed(host string) bool {
	name, port, err := splitHost(host)
	if err != nil {
		return false
	}
	for _, a := range h.hosts {
		if a == name || (port != "" && a == name+":"+port) {
			return true
		}
	}
	return false
}

// splitHost splits a Host header into a lower-case name (without brackets
// or trailing dot) and its port ("" when absent).
func splitHost(host string) (name, port string, err error) {
	name = host
	if h, p, e := net.SplitHostPort(host); e == nil {
		name, port = h, p
	} else if strings.Contains(strings.Trim(host, "[]"), ":") && !strings.HasPrefix(host, "[") {
		return "", "", e // a bare IPv6 address must be bracketed
	}
	name = strings.TrimSuffix(strings.ToLower(strings.Trim(name, "[]")), ".")
	if name == "" {
		return "", "", errors.New("empty host")
	}
	return name, port, nil
}

// normalizeHostEntry checks one SERVER_ALLOWED_HOSTS entry.
func normalizeHostEntry(s string) (string, error) {
	if strings.Contains(s, "/") {
		return "", errors.New("give a host name or host:port, without scheme or path")
	}
	name, port, err := splitHost(s)
	if err != nil {
		return "", err
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", errors.New("invalid port")
		}
		return name + ":" + port, nil
	}
	return name, nil
}

// normalizeOrigin returns scheme://host[:port] in lower case, without the
// scheme's default port, or an error for anything that is not an http(s)
// origin.
func normalizeOrigin(s string) (string, error) {
	if s == "*" {
		return "", errors.New("* is not allowed: list each origin")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want scheme://host[:port]")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("want an http or https origin")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// isLoopbackName reports whether a host name or address is loopback.
func isLoopbackName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func isUnspecified(host string) bool {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return host == "" || (err == nil && ip.IsUnspecified())
}

// arrivedOnLoopback reports whether the connection's local address is
// loopback (the request came from this machine).
func arrivedOnLoopback(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || a == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// remoteIP is the peer's address without port. Forwarding headers are not
// trusted: any client can set them.
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// serveReady reports vCenter's login state and the shared state store's,
// probing at most every readyCacheTTL; concurrent probes wait for one.
func (h *HTTPServer) serveReady(w http.ResponseWriter) {
	type vcState struct {
		Host  string `json:"host"`
		State string `json:"state"` // logged_in, login_refused, unavailable, unknown
	}
	type storeState struct {
		State string `json:"state"` // up, down, unknown
	}
	out := struct {
		Status  string      `json:"status"` // ready, not_ready, shutting_down
		VCenter vcState     `json:"vcenter"`
		Store   *storeState `json:"state_store,omitempty"`
	}{Status: "ready", VCenter: vcState{Host: h.cfg.VCenter, State: "unknown"}}
	if h.cfg.Store != nil {
		out.Store = &storeState{State: "unknown"}
	}
	if h.draining.Load() {
		out.Status = "shutting_down"
		writeJSON(w, http.StatusServiceUnavailable, out)
		return
	}
	h.readyMu.Lock()
	if h.readyAt.IsZero() || time.Since(h.readyAt) >= readyCacheTTL {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		h.readyErr, h.storeErr = nil, nil
		if h.cfg.Ready != nil {
			h.readyErr = h.cfg.Ready(ctx)
		}
		if h.cfg.Store != nil {
			h.storeErr = h.cfg.Store(ctx)
		}
		cancel()
		h.readyAt = time.Now()
		if h.readyErr != nil {
			h.log.Warn().Err(h.readyErr).Str("vcenter", h.cfg.VCenter).Msg("not ready")
		}
		if h.storeErr != nil {
			h.log.Warn().Err(h.storeErr).Bool("store_optional", h.cfg.StoreOptional).Msg("shared state store unreachable")
		}
	}
	err, serr := h.readyErr, h.storeErr
	h.readyMu.Unlock()
	ready := true
	if out.Store != nil {
		out.Store.State = "up"
		if serr != nil {
			out.Store.State = "down"
			ready = h.cfg.StoreOptional
		}
	}
	switch {
	case h.cfg.Ready == nil:
	case err == nil:
		out.VCenter.State = "logged_in"
	case errors.Is(err, vcenter.ErrInvalidLogin) || errors.Is(err, vcenter.ErrUnauthenticated):
		out.VCenter.State, ready = "login_refused", false
	default:
		out.VCenter.State, ready = "unavailable", false
	}
	if ready {
		writeJSON(w, http.StatusOK, out)
		return
	}
	// The reasons stay in the server's log: /readyz needs no token.
	out.Status = "not_ready"
	writeJSON(w, http.StatusServiceUnavailable, out)
}

// Sessions is the number of live MCP sessions (metrics); on a stateless
// server, the requests being served.
func (h *HTTPServer) Sessions() int {
	n := 0
	for range h.srv.Sessions() {
		n++
	}
	return n
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// VCenterProbe returns a readiness check for [HTTPConfig.Ready]: the
// default vCenter answers a small authenticated request (its datacenter
// list), logging in first if the shared session is not there yet.
func VCenterProbe(get func(hostname string) (tools.VCenter, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		vc, err := get("")
		if err != nil {
			return err
		}
		_, _, err = vc.ListDatacenters(ctx, vcenter.DatacenterFilter{})
		return err
	}
}

// ListenAndServe listens on Host:Port and runs [HTTPServer.Serve].
func (h *HTTPServer) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(strings.Trim(h.cfg.Host, "[]"), strconv.Itoa(h.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on SERVER_HOST=%s SERVER_PORT=%d: %w", h.cfg.Host, h.cfg.Port, err)
	}
	return h.Serve(ctx, ln)
}

// Serve serves on ln (TLS when configured) until ctx ends, then shuts down
// gracefully: /readyz turns 503 and the listener closes; in-flight calls
// run to completion (within ShutdownTimeout, after which they are cut off)
// while their clients' event streams stay open to carry progress and
// results; then the standalone event streams end and the MCP sessions
// close. Serve returns once nothing is running, so the caller can log out
// of vCenter and close the audit log next. It may be called once.
func (h *HTTPServer) Serve(ctx context.Context, ln net.Listener) error {
	if !h.served.CompareAndSwap(false, true) {
		ln.Close()
		return errors.New("http: Serve called twice")
	}
	// Security: ReadTimeout bounds reading every request, body included,
	// on every path (health, 404s); the MCP endpoint lifts it only once
	// the body is read, for long calls and event streams.
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(readHeaderTimeout, h.cfg.ReadTimeout),
		ReadTimeout:       h.cfg.ReadTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         h.tls,
		ErrorLog:          log.New(diagWriter{h}, "", 0),
	}
	closed := make(chan struct{})
	hs.RegisterOnShutdown(func() { // runs once the listener is closed
		h.log.Info().Int("calls", h.inflight.count()).Msg("stopped accepting connections; finishing in-flight calls")
		close(closed)
	})
	scheme := "http"
	if h.tls != nil {
		scheme = "https"
	}
	ln = &capListener{Listener: ln, h: h, max: int64(h.cfg.MaxConnections)}
	h.addr <- ln.Addr()
	h.log.Info().Str("url", scheme+"://"+ln.Addr().String()+h.cfg.Path).Bool("stateless", h.cfg.Stateless).Msg("serving MCP over HTTP")
	errc := make(chan error, 1)
	go func() {
		if h.tls != nil {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		h.stopStreams()
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	h.log.Info().Dur("timeout", h.cfg.ShutdownTimeout).Msg("shutting down")
	h.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), h.cfg.ShutdownTimeout)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- hs.Shutdown(sctx) }()
	select {
	case <-h.inflight.idle():
	case <-sctx.Done():
	}
	// Only now: a client whose event stream drops may give up its session,
	// and with it the answer to a call still running.
	h.stopStreams()
	var err error
	<-closed
	if serr := <-shut; serr != nil {
		hs.Close()
		err = fmt.Errorf("http shutdown: calls still running after %s were cut off", h.cfg.ShutdownTimeout)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("http: %w", serr)
	}
	// Calls still running now were cut off, or their clients left: end
	// them (each writes its audit line), since closing a session waits for
	// its calls.
	h.mw.Cancel()
	for ss := range h.srv.Sessions() {
		ss.Close()
	}
	h.log.Info().Msg("HTTP server stopped")
	return err
}

// inflight counts the POSTs being served, so that shutdown can tell when
// the last call has answered.
type inflight struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0; nil until idle asks
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.zero != nil {
		close(f.zero)
		f.zero = nil
	}
}

func (f *inflight) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// idle returns a channel closed when no POST is being served.
func (f *inflight) idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	if f.zero == nil {
		f.zero = make(chan struct{})
	}
	return f.zero
}

// Addr returns the address Serve listens on, waiting until it is known or
// ctx ends.
func (h *HTTPServer) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case a := <-h.addr:
		h.addr <- a
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// diagWriter sends net/http's own messages (TLS handshake errors and the
// like) to the diagnostic log.
type diagWriter struct{ h *HTTPServer }

func (d diagWriter) Write(p []byte) (int, error) {
	d.h.log.Warn().Str("http", strings.TrimSpace(string(p))).Msg("http server")
	return len(p), nil
}

// truncate cuts s to at most n bytes, on a character boundary, marking the
// cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
