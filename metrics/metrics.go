// Package metrics exposes the server's Prometheus metrics in the text format
// (serve --http, on SERVER_METRICS_ADDR): tool calls by tool and decision,
// their latency, vCenter requests by method and status, vCenter logins,
// live MCP sessions, audit lines that could not be written, and errors of
// the shared state store.
//
// It owns the set of series (one per [Metrics], never the process-global one, so
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
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
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

// Buckets, in seconds. Tool calls run from milliseconds (a cached list) to
// minutes (a snapshot waiting for its vCenter task); vCenter requests from
// milliseconds to seconds (Prometheus's default buckets).
var (
	callBuckets    = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	requestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// The families, with the help text each is exposed with.
const (
	famCalls        = "vsphere_mcp_tool_calls_total"
	famCallDuration = "vsphere_mcp_tool_call_duration_seconds"
	famVCRequests   = "vsphere_mcp_vcenter_requests_total"
	famVCDuration   = "vsphere_mcp_vcenter_request_duration_seconds"
	famVCLogins     = "vsphere_mcp_vcenter_logins_total"
	famAuditFailed  = "vsphere_mcp_audit_write_failures_total"
	famStoreErrors  = "vsphere_mcp_state_store_errors_total"
	famBuild        = "vsphere_mcp_build_info"
	famSessions     = "vsphere_mcp_sessions_active"
)

var help = map[string]string{
	famCalls:        "Tool calls recorded in the audit log, refusals included, by tool (unknown: not in the catalogue) and policy decision.",
	famCallDuration: "Duration of tool calls as recorded in the audit log, by tool.",
	famVCRequests:   "Requests sent to vCenter (retries of a safe request counted once), by method and HTTP status (none: no answer).",
	famVCDuration:   "Duration of requests to vCenter, retries included, by method.",
	famVCLogins:     "Logins to vCenter (vAPI and VI/JSON sessions), by result (ok, failed).",
	famAuditFailed:  "Audit lines (begin or outcome) that could not be written; state-changing calls are refused meanwhile.",
	famStoreErrors:  "Failed operations of the shared state store (SERVER_STATE_URL), by operation (bucket, nonce, ping).",
	famBuild:        "Always 1; the version of the running server.",
	famSessions:     "Live MCP sessions of this process (stateless servers: requests being served).",
}

// helpLines fills in the empty "# HELP name" line the library writes
// before each family it has a series of, in one pass.
var helpLines = func() *strings.Replacer {
	var pairs []string
	for name, text := range help {
		pairs = append(pairs, "# HELP "+name+"\n", "# HELP "+name+" "+strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(text)+"\n")
	}
	return strings.NewReplacer(pairs...)
}()

func init() {
	// The exposition carries # TYPE lines (and # HELP, filled in by
	// [Metrics.WriteTo]); the setting is the library's, process-wide, and
	// this package is its only user (imports_test.go).
	vm.ExposeMetadata(true)
}

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

// Metrics holds the series of one server. Its methods are safe for
// concurrent use and cheap: they are called on every tool call and every
// vCenter request.
//
// The library (VictoriaMetrics/metrics) was chosen over Prometheus's
// client_golang for what it costs every start, stdio included, where no
// metrics are served: client_golang's package initialisation (its default
// registry's collectors, procfs, protobuf) took about 2 ms of an 8 ms start
// (BENCHMARKS.md).
type Metrics struct {
	set       *vm.Set // one per Metrics, never the library's default set
	tools     map[string]bool
	decisions map[string]bool

	calls        *labelled[*vm.Counter]
	callDuration *labelled[*vm.PrometheusHistogram]
	vcRequests   *labelled[*vm.Counter]
	vcDuration   *labelled[*vm.PrometheusHistogram]
	vcLogins     *labelled[*vm.Counter]
	auditFailed  *vm.Counter
	storeErrors  *labelled[*vm.Counter]

	scrapes chan struct{} // scrapes in flight
}

// labelled are the series of one family, one per label values, made on
// first use: a look-up allocates nothing.
type labelled[T any] struct {
	mu     sync.RWMutex
	series map[[2]string]T
	make   func(name string) T
	name   string
	labels [2]string // label names in the order written (sorted by name, as Prometheus writes them); a second empty: one label
}

func newLabelled[T any](name string, make func(string) T, labels ...string) *labelled[T] {
	l := &labelled[T]{series: map[[2]string]T{}, make: make, name: name}
	copy(l.labels[:], labels)
	return l
}

// get returns the series of values (in the order of the label names).
func (l *labelled[T]) get(values ...string) T {
	var k [2]string
	copy(k[:], values)
	l.mu.RLock()
	s, ok := l.series[k]
	l.mu.RUnlock()
	if ok {
		return s
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.series[k]; ok {
		return s
	}
	s = l.make(seriesName(l.name, l.labels[:], k[:]))
	l.series[k] = s
	return s
}

// seriesName is name{label="value",...}, values escaped as the text format
// requires.
func seriesName(name string, labels, values []string) string {
	var b strings.Builder
	b.WriteString(name)
	sep := byte('{')
	for i, l := range labels {
		if l == "" {
			break
		}
		b.WriteByte(sep)
		sep = ','
		b.WriteString(l)
		b.WriteString(`="`)
		_, _ = labelEscaper.WriteString(&b, values[i]) // a strings.Builder does not fail
		b.WriteByte('"')
	}
	if sep == ',' {
		b.WriteByte('}')
	}
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// maxScrapes is how many scrapes are served at once; more are refused
// with 503.
const maxScrapes = 4

// New makes the series and registers them.
func New(opts Options) *Metrics {
	set := vm.NewSet()
	m := &Metrics{set: set, tools: map[string]bool{}, decisions: map[string]bool{}, scrapes: make(chan struct{}, maxScrapes)}
	for _, t := range opts.Tools {
		m.tools[t] = true
	}
	for _, d := range opts.Decisions {
		m.decisions[d] = true
	}
	histogram := func(buckets []float64) func(string) *vm.PrometheusHistogram {
		return func(name string) *vm.PrometheusHistogram { return set.NewPrometheusHistogramExt(name, buckets) }
	}
	m.calls = newLabelled(famCalls, set.NewCounter, "decision", "tool")
	m.callDuration = newLabelled(famCallDuration, histogram(callBuckets), "tool")
	m.vcRequests = newLabelled(famVCRequests, set.NewCounter, "method", "status")
	m.vcDuration = newLabelled(famVCDuration, histogram(requestBuckets), "method")
	m.vcLogins = newLabelled(famVCLogins, set.NewCounter, "result")
	m.storeErrors = newLabelled(famStoreErrors, set.NewCounter, "op")
	m.auditFailed = set.NewCounter(famAuditFailed)
	set.NewGauge(seriesName(famBuild, []string{"version"}, []string{opts.Version}), nil).Set(1)
	for _, r := range []string{"ok", "failed"} {
		m.vcLogins.get(r)
	}
	if opts.Store {
		for _, op := range storeOps {
			m.storeErrors.get(op)
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
	m.calls.get(decision, tool).Inc()
	m.callDuration.get(tool).Update(max(took, 0).Seconds())
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
	m.vcRequests.get(method, code).Inc()
	m.vcDuration.get(method).Update(max(took, 0).Seconds())
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
	m.vcLogins.get(result).Inc()
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
	m.storeErrors.get(op).Inc()
}

// Sessions reports live MCP sessions through count, asked at every scrape
// (vsphere_mcp_sessions_active). Call it once.
func (m *Metrics) Sessions(count func() int) {
	if m == nil {
		return
	}
	m.set.NewGauge(famSessions, func() float64 { return float64(count()) })
}

// WriteTo writes the metrics in the Prometheus text format (0.0.4): this
// server's families with their help texts, then the Go runtime's and the
// process's (go_*, process_*).
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var ours, b strings.Builder
	m.set.WritePrometheus(&ours)
	_, _ = helpLines.WriteString(&b, ours.String()) // a strings.Builder does not fail
	vm.WriteProcessMetrics(&b)
	vm.WriteFDMetrics(&b)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Handler serves the metrics in the Prometheus text format; beyond
// [maxScrapes] at once it answers 503.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case m.scrapes <- struct{}{}:
			defer func() { <-m.scrapes }()
		default:
			http.Error(w, "too many scrapes at once", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = m.WriteTo(w)
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
