package tools

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// session is one test's world: a simulated vCenter, the real server with
// the real guard, and an MCP client connected in memory.
type session struct {
	t     testing.TB
	sim   *vcentersim.Server
	cs    *mcp.ClientSession
	audit *syncBuffer
	mw    *Middleware
	pol   *policy.Policy
	pool  *vcenter.Pool
}

// setup collects the options of newSession.
type setup struct {
	mode         vcenter.Mode
	sim          vcentersim.Options
	policy       policy.Config
	token        string
	enforce      bool
	readOnly     bool
	toolsets     policy.Options // Toolsets, Tools, ExcludeTools only
	rps          float64
	burst        int
	protocol     string
	elicit       func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error)
	clientOpts   func(*mcp.ClientOptions)
	auditWriter  func(*syncBuffer) *audit.Log
	pollInterval time.Duration
	vcenterCfg   func(*vcenter.Config)
	scrub        *redact.Scrubber
	nonces       policy.Nonces
	observer     Observer
	serverWrap   func(*mcp.Server, mcp.Transport) mcp.Transport
}

type option func(*setup)

func withMode(m vcenter.Mode) option          { return func(s *setup) { s.mode = m } }
func withSim(o vcentersim.Options) option     { return func(s *setup) { s.sim = o } }
func withReadOnly() option                    { return func(s *setup) { s.readOnly = true } }
func withToolsets(sets ...string) option      { return func(s *setup) { s.toolsets.Toolsets = sets } }
func withRate(rps float64, burst int) option  { return func(s *setup) { s.rps, s.burst = rps, burst } }
func withProtocol(v string) option            { return func(s *setup) { s.protocol = v } }
func withPollInterval(d time.Duration) option { return func(s *setup) { s.pollInterval = d } }
func withClientOptions(f func(*mcp.ClientOptions)) option {
	return func(s *setup) { s.clientOpts = f }
}
func withAuditLog(f func(*syncBuffer) *audit.Log) option {
	return func(s *setup) { s.auditWriter = f }
}

// withVCenterConfig edits the vCenter client's configuration (timeout,
// retries, body limit) before the pool is built.
func withVCenterConfig(f func(*vcenter.Config)) option { return func(s *setup) { s.vcenterCfg = f } }

// withNonces keeps the approver's redeemed nonces in n (a shared store).
func withNonces(n policy.Nonces) option { return func(s *setup) { s.nonces = n } }

// withObserver gives the middleware an observer (metrics).
func withObserver(o Observer) option { return func(s *setup) { s.observer = o } }

// withScrubber gives the session the process's scrubber, as main does.
func withScrubber(r *redact.Scrubber) option { return func(s *setup) { s.scrub = r } }

// withServerTransport has wrap change the server's side of the in-memory
// connection (and add middleware to the server) before it connects.
func withServerTransport(wrap func(*mcp.Server, mcp.Transport) mcp.Transport) option {
	return func(s *setup) { s.serverWrap = wrap }
}

// withRole runs the session with a token mapped to role; extra roles may be
// defined in rolesToTools (JSON).
func withRole(role, rolesToTools string) option {
	return func(s *setup) {
		s.token, s.enforce = "tok-"+role+"-e8f1-5b0c2a7d", true
		cfg, err := policy.ParseConfig(`{"tok-`+role+`-e8f1-5b0c2a7d":"`+role+`"}`, rolesToTools)
		if err != nil {
			panic(err)
		}
		s.policy = cfg
	}
}

// withElicitation makes the client declare elicitation and answer with h.
func withElicitation(h func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error)) option {
	return func(s *setup) { s.elicit = h }
}

func newSession(t testing.TB, opts ...option) *session {
	t.Helper()
	st := setup{mode: vcenter.ModeAPI, rps: 1000, burst: 1000}
	for _, o := range opts {
		o(&st)
	}
	sim := vcentersim.NewServer(st.sim)
	t.Cleanup(sim.Close)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CACertPEM())
	vcfg := vcenter.Config{
		Host: sim.Host(), User: sim.User(), Password: sim.Password(), Mode: st.mode, RootCAs: roots,
		Backoff: 0, MaxBackoff: time.Millisecond, TaskPollInterval: st.pollInterval, Log: zerolog.Nop(),
	}
	vcfg.Scrub = st.scrub
	if st.vcenterCfg != nil {
		st.vcenterCfg(&vcfg)
	}
	pool, err := vcenter.NewPool(vcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	log := audit.New(buf, audit.WithScrubber(st.scrub))
	if st.auditWriter != nil {
		log = st.auditWriter(buf)
	}
	approver, err := policy.NewSharedApprover(nil, time.Minute, st.nonces)
	if err != nil {
		t.Fatal(err)
	}
	var pol *policy.Policy
	deps := Deps{
		VCenter:  func(h string) (VCenter, error) { return pool.Get(h) },
		Hosts:    pool.Hosts(),
		Access:   func(id policy.Identity) policy.Access { return pol.Describe(id) },
		Approver: approver, Version: "test", Log: zerolog.Nop(),
	}
	catalog := All(deps)
	popts := ToolsetOptions(policy.Options{
		ReadOnly: st.readOnly, AuthEnforce: st.enforce, Toolsets: st.toolsets.Toolsets,
		Rate: policy.Rate{Enabled: true, RPS: st.rps, Burst: st.burst},
	})
	pol, _, err = policy.New(st.policy, Policies(catalog), popts)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := pol.Resolve(st.token)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := NewMiddleware(MiddlewareConfig{
		Policy: pol, Audit: log, Approver: approver, Catalog: catalog,
		Identify: LaunchIdentity(ident), VCenter: pool.Default(), Log: zerolog.Nop(), ApprovalTTL: time.Minute, Scrub: st.scrub,
		Observer: st.observer,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(catalog, mw, ServerOptions{Version: "test"})
	ct, stt := mcp.NewInMemoryTransports()
	var server mcp.Transport = stt
	if st.serverWrap != nil {
		server = st.serverWrap(srv, stt)
	}
	ss, err := srv.Connect(context.Background(), server, nil)
	if err != nil {
		t.Fatal(err)
	}
	copts := &mcp.ClientOptions{}
	if st.clientOpts != nil {
		st.clientOpts(copts)
	}
	if st.elicit != nil {
		copts.ElicitationHandler = st.elicit
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1.0"}, copts)
	var sopts *mcp.ClientSessionOptions
	if st.protocol != "" {
		sopts = &mcp.ClientSessionOptions{ProtocolVersion: st.protocol}
	}
	cs, err := client.Connect(context.Background(), ct, sopts)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, sim: sim, cs: cs, audit: buf, mw: mw, pol: pol, pool: pool}
	t.Cleanup(func() {
		cs.Close()
		ss.Close()
		mw.Close()
		_ = pool.Close(context.Background())
	})
	return s
}

// call runs a tool and returns its result; a protocol error fails the test.
func (s *session) call(name string, args any) *mcp.CallToolResult {
	s.t.Helper()
	res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		s.t.Fatalf("%s: protocol error %v", name, err)
	}
	return res
}

// ok runs a tool that must succeed and decodes its structured result.
func (s *session) ok(name string, args any, out any) {
	s.t.Helper()
	res := s.call(name, args)
	if res.IsError {
		s.t.Fatalf("%s(%v) failed: %s", name, args, textOf(res))
	}
	if out != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s: decode %s: %v", name, b, err)
		}
	}
}

// fails runs a tool that must fail and returns the error text.
func (s *session) fails(name string, args any) string {
	s.t.Helper()
	res := s.call(name, args)
	if !res.IsError {
		b, _ := json.Marshal(res.StructuredContent)
		s.t.Fatalf("%s(%v) succeeded, want an error: %s", name, args, b)
	}
	return textOf(res)
}

// auditLines returns the audit records written so far (the header skipped).
func (s *session) auditLines() []map[string]any {
	s.t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.audit.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			s.t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		// Outcome lines only: a state-changing call's begin line (written
		// before it acts) is checked by the tests of that guarantee.
		if _, header := m["audit_header"]; !header && m["phase"] != "begin" {
			out = append(out, m)
		}
	}
	return out
}

// lastAudit returns the last audit record, failing if there is none.
func (s *session) lastAudit() map[string]any {
	s.t.Helper()
	lines := s.auditLines()
	if len(lines) == 0 {
		s.t.Fatal("no audit line")
	}
	return lines[len(lines)-1]
}

func (s *session) vm(id string) vcentersim.VM {
	s.t.Helper()
	vm, ok := s.sim.VM(id)
	if !ok {
		s.t.Fatalf("simulator has no %s", id)
	}
	return vm
}

func textOf(res *mcp.CallToolResult) string { return ResultText(res) }

// syncBuffer is a bytes.Buffer safe for the audit writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// bothModes runs f once per Automation API dialect.
func bothModes(t *testing.T, f func(t *testing.T, mode vcenter.Mode)) {
	for _, m := range []vcenter.Mode{vcenter.ModeAPI, vcenter.ModeREST} {
		t.Run(string(m), func(t *testing.T) { f(t, m) })
	}
}
