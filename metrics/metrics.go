// Package metrics exposes the server's Prometheus metrics in the text format
// (serve --http, on SERVER_METRICS_ADDR): tool calls by tool and decision,
// their latency, vCenter requests by method and status, vCenter logins,
// live MCP sessions, audit lines that could not be written, and errors of
// the shared state store.
//
// It owns the registry (one per [Metrics], never the process-global one, so
// that several servers in one process do not collide) and the label sets.
// Every label value comes from a closed set — the catalogue's tool names,
// policy's decisions, HTTP methods and status codes — and anything else is
// collapsed into one value, so no caller's input can grow the number of
// series.
//
// It knows nothing of MCP, vCenter, policy or the store: the packages that
// observe call its methods through their own hooks (tools.Observer,
// vcenter.Config.OnRequest and OnLogin, state.Config.Failed).
//
// Security: no label carries a token, a fingerprint, an argument, a host
// name or an error text.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Path is where [Metrics.Handler] answers.
const Path = "/metrics"

// A nil *Metrics records nothing: every recording method may be called on it,
// so that a server without metrics needs no checks at the call sites.

// Label values for what is outside the closed sets.
const (
	unknownTool     = "unknown"
	otherDecision   = "other"
	otherMethod     = "OTHER"
	noAnswer        = "none" // a vCenter request that got no HTTP answer
	storeOpsUnknown = "other"
)

// storeOps are the operations of the shared state store.
var storeOps = []string{"bucket", "nonce", "ping"}

// Options are the closed sets of label values and the build.
type Options struct {
	// Tools are the catalogue's tool names; calls of any other name (a
	// typo, a method refused before MCP) count as "unknown".
	Tools []string
	// Decisions are policy's decision values.
	Decisions []string
	// Version is the build's version, for vsphere_mcp_build_info.
	Version string
	// Store says a shared state store is configured: its error counters
	// then start at zero.
	Store bool
}

// Metrics holds the collectors of one server. Its methods are safe for
// concurrent use and cheap: they are called on every tool call and every
// vCenter request.
type Metrics struct {
	reg       *prometheus.Registry
	tools     map[string]bool
	decisions map[string]bool

	calls        *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
	vcRequests   *prometheus.CounterVec
	vcDuration   *prometheus.HistogramVec
	vcLogins     *prometheus.CounterVec
	auditFailed  prometheus.Counter
	storeErrors  *prometheus.CounterVec
}

// New builds the collectors and registers them, with the Go runtime's and
// the process's.
func New(opts Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), tools: map[string]bool{}, decisions: map[string]bool{}}
	for _, t := range opts.Tools {
		m.tools[t] = true
	}
	for _, d := range opts.Decisions {
		m.decisions[d] = true
	}
	// Tool calls run from milliseconds (a cached list) to minutes (a
	// snapshot waiting for its vCenter task).
	callBuckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vsphere_mcp_tool_calls_total",
		Help: "Tool calls recorded in the audit log, refusals included, by tool (unknown: not in the catalogue) and policy decision.",
	}, []string{"tool", "decision"})
	m.callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vsphere_mcp_tool_call_duration_seconds",
		Help:    "Duration of tool calls as recorded in the audit log, by tool.",
		Buckets: callBuckets,
	}, []string{"tool"})
	m.vcRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vsphere_mcp_vcenter_requests_total",
		Help: "Requests sent to vCenter (retries of a safe request counted once), by method and HTTP status (none: no answer).",
	}, []string{"method", "status"})
	m.vcDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vsphere_mcp_vcenter_request_duration_seconds",
		Help:    "Duration of requests to vCenter, retries included, by method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method"})
	m.vcLogins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vsphere_mcp_vcenter_logins_total",
		Help: "Logins to vCenter (vAPI and VI/JSON sessions), by result (ok, failed).",
	}, []string{"result"})
	m.auditFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vsphere_mcp_audit_write_failures_total",
		Help: "Audit lines (begin or outcome) that could not be written; state-changing calls are refused meanwhile.",
	})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vsphere_mcp_state_store_errors_total",
		Help: "Failed operations of the shared state store (SERVER_STATE_URL), by operation (bucket, nonce, ping).",
	}, []string{"op"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vsphere_mcp_build_info",
		Help: "Always 1; the version of the running server.",
	}, []string{"version"})
	build.WithLabelValues(opts.Version).Set(1)
	m.reg.MustRegister(m.calls, m.callDuration, m.vcRequests, m.vcDuration, m.vcLogins, m.auditFailed, m.storeErrors, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{"ok", "failed"} {
		m.vcLogins.WithLabelValues(r)
	}
	if opts.Store {
		for _, op := range storeOps {
			m.storeErrors.WithLabelValues(op)
		}
	}
	return m
}

// SetTools sets the catalogue's tool names (when they were not known at
// [New]); call it before the first call is counted.
func (m *Metrics) SetTools(names []string) {
	if m == nil {
		return
	}
	for _, t := range names {
		m.tools[t] = true
	}
}

// Call counts a tool call and its duration (tools.Observer).
func (m *Metrics) Call(tool, decision string, took time.Duration) {
	if m == nil {
		return
	}
	if !m.tools[tool] {
		tool = unknownTool
	}
	if !m.decisions[decision] {
		decision = otherDecision
	}
	m.calls.WithLabelValues(tool, decision).Inc()
	m.callDuration.WithLabelValues(tool).Observe(max(took, 0).Seconds())
}

// AuditFailed counts an audit line that could not be written
// (tools.Observer).
func (m *Metrics) AuditFailed() {
	if m == nil {
		return
	}
	m.auditFailed.Inc()
}

// VCenterRequest counts a request to vCenter (vcenter.Config.OnRequest).
func (m *Metrics) VCenterRequest(method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodOptions:
	default:
		method = otherMethod
	}
	code := noAnswer
	if status >= 100 && status <= 599 {
		code = strconv.Itoa(status)
	}
	m.vcRequests.WithLabelValues(method, code).Inc()
	m.vcDuration.WithLabelValues(method).Observe(max(took, 0).Seconds())
}

// VCenterLogin counts a vCenter login (vcenter.Config.OnLogin).
func (m *Metrics) VCenterLogin(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.vcLogins.WithLabelValues(result).Inc()
}

// StoreFailed counts a failed operation of the shared state store
// (state.Config.Failed).
func (m *Metrics) StoreFailed(op string) {
	if m == nil {
		return
	}
	if !slices.Contains(storeOps, op) {
		op = storeOpsUnknown
	}
	m.storeErrors.WithLabelValues(op).Inc()
}

// Sessions reports live MCP sessions through count, asked at every scrape
// (vsphere_mcp_sessions_active). Call it once.
func (m *Metrics) Sessions(count func() int) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vsphere_mcp_sessions_active",
		Help: "Live MCP sessions of this process (stateless servers: requests being served).",
	}, func() float64 { return float64(count()) }))
}

// Handler serves the metrics in the Prometheus text format (or what the
// scraper negotiates).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// Timeouts of the metrics listener: scrapes are small and quick.
const (
	readTimeout     = 10 * time.Second
	writeTimeout    = 30 * time.Second
	shutdownTimeout = 5 * time.Second
)

// ListenAndServe serves [Path] on addr until ctx ends; other paths are 404.
// It logs the address it listens on (addr may name port 0).
//
// Security: the endpoint has no authentication: the metrics carry no
// token, argument or host name, but show who is busy with which tool.
// Listen where only the scraper can reach it.
func (m *Metrics) ListenAndServe(ctx context.Context, addr string, log zerolog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("SERVER_METRICS_ADDR=%s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, m.Handler())
	hs := &http.Server{
		Handler: mux, ReadHeaderTimeout: readTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
	}
	log.Info().Str("url", "http://"+ln.Addr().String()+Path).Msg("serving metrics")
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// ServeBeside runs serve (the MCP endpoint) and, when m is not nil, the
// metrics listener on addr beside it, until ctx ends or either fails. When
// the metrics listener cannot start or fails, serving stops too, rather than
// run unobserved without saying so.
func (m *Metrics) ServeBeside(ctx context.Context, addr string, log zerolog.Logger, serve func(context.Context) error) error {
	if m == nil {
		return serve(ctx)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	merr, serr := make(chan error, 1), make(chan error, 1)
	go func() { merr <- m.ListenAndServe(ctx, addr, log) }()
	go func() { serr <- serve(ctx) }()
	select {
	case err := <-serr:
		stop()
		return errors.Join(err, <-merr)
	case err := <-merr:
		stop()
		return errors.Join(err, <-serr)
	}
}
