package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// Two tenants of one shared deployment.
const (
	readToken = "tok-http-read-3f9a"
	opsToken  = "tok-http-ops-b21c"
)

// replica is one HTTP deployment of the real server and guard on a
// simulated vCenter, as main wires it for serve --http.
type replica struct {
	t       *testing.T
	sim     *vcentersim.Server
	pool    *vcenter.Pool
	audit   *syncBuffer
	mw      *tools.Middleware
	pol     *policy.Policy
	catalog []tools.Tool
	srv     *mcp.Server
	h       *HTTPServer
	url     string // scheme://host:port, without the MCP path
	http    *http.Client
	// served waits for Serve to return (withServe only).
	served func() error
}

// httpSetup collects the options of newReplica.
type httpSetup struct {
	cfg      HTTPConfig
	sim      *vcentersim.Server // shared with another replica; nil starts one
	simOpts  vcentersim.Options
	tokens   string // TOKENS_TO_ROLES; "" means no policy (every tool, no token)
	rps      float64
	burst    int
	approver *policy.Approver
	diag     io.Writer
	password string
	// serve runs HTTPServer.Serve on a loopback listener instead of
	// httptest, for shutdown and TLS.
	serve context.Context
}

type httpOption func(*httpSetup)

func withHTTPConfig(f func(*HTTPConfig)) httpOption { return func(s *httpSetup) { f(&s.cfg) } }
func withHTTPRate(rps float64, burst int) httpOption {
	return func(s *httpSetup) { s.rps, s.burst = rps, burst }
}
func withSharedSim(sim *vcentersim.Server) httpOption {
	return func(s *httpSetup) { s.sim = sim }
}
func withHTTPSim(o vcentersim.Options) httpOption { return func(s *httpSetup) { s.simOpts = o } }
func withApprover(a *policy.Approver) httpOption  { return func(s *httpSetup) { s.approver = a } }
func withDiag(w io.Writer) httpOption             { return func(s *httpSetup) { s.diag = w } }
func withNoPolicy() httpOption                    { return func(s *httpSetup) { s.tokens = "" } }
func withServe(ctx context.Context) httpOption    { return func(s *httpSetup) { s.serve = ctx } }
func withVCenterPassword(p string) httpOption     { return func(s *httpSetup) { s.password = p } }

// testConfig is a complete HTTPConfig, as the environment's defaults give it,
// on a free port.
func testConfig() HTTPConfig {
	return HTTPConfig{
		Host: "127.0.0.1", Port: 0, Path: "/mcp", MaxBodyBytes: 1 << 20,
		ReadTimeout: 30 * time.Second, WriteTimeout: 10 * time.Minute,
		ShutdownTimeout: 30 * time.Second, SessionIdleTimeout: 30 * time.Minute,
		MaxSessionsPerToken: 32, MaxConnections: 1024,
	}
}

func newReplica(t *testing.T, opts ...httpOption) *replica {
	t.Helper()
	st := httpSetup{rps: 1000, burst: 1000, tokens: `{"` + readToken + `":"read","` + opsToken + `":"ops"}`, cfg: testConfig()}
	for _, o := range opts {
		o(&st)
	}
	sim := st.sim
	if sim == nil {
		sim = vcentersim.NewServer(st.simOpts)
		t.Cleanup(sim.Close)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CACertPEM())
	password := sim.Password()
	if st.password != "" {
		password = st.password
	}
	pool, err := vcenter.NewPool(vcenter.Config{
		Host: sim.Host(), User: sim.User(), Password: password, Mode: vcenter.ModeAPI, RootCAs: roots,
		MaxBackoff: time.Millisecond, TaskPollInterval: time.Millisecond, Log: zerolog.Nop(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	approver := st.approver
	if approver == nil {
		if approver, err = policy.NewApprover(nil, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var pol *policy.Policy
	deps := tools.Deps{
		VCenter:  func(h string) (tools.VCenter, error) { return pool.Get(h) },
		Hosts:    pool.Hosts(),
		Access:   func(id policy.Identity) policy.Access { return pol.Describe(id) },
		Approver: approver, Version: "test", Log: zerolog.Nop(),
	}
	catalog := tools.All(deps)
	pcfg, enforce := policy.Config{}, false
	if st.tokens != "" {
		if pcfg, err = policy.ParseConfig(st.tokens, ""); err != nil {
			t.Fatal(err)
		}
		enforce = true
	}
	popts := tools.ToolsetOptions(policy.Options{AuthEnforce: enforce, Rate: policy.Rate{Enabled: true, RPS: st.rps, Burst: st.burst}})
	if pol, _, err = policy.New(pcfg, tools.Policies(catalog), popts); err != nil {
		t.Fatal(err)
	}
	diag := zerolog.Nop()
	if st.diag != nil {
		diag = zerolog.New(st.diag)
	}
	mw, err := tools.NewMiddleware(tools.MiddlewareConfig{
		Policy: pol, Audit: audit.New(buf), Approver: approver, Catalog: catalog,
		Identify: HTTPIdentity(pol), VCenter: pool.Default(), Log: diag, ApprovalTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := tools.NewServer(catalog, mw, tools.ServerOptions{Version: "test"})
	cfg := st.cfg
	cfg.Log, cfg.VCenter = diag, pool.Default()
	if cfg.Ready == nil {
		cfg.Ready = VCenterProbe(deps.VCenter)
	}
	h, _, err := NewHTTPServer(srv, mw, pol, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{t: t, sim: sim, pool: pool, audit: buf, mw: mw, pol: pol, catalog: catalog, srv: srv, h: h}
	if st.serve == nil {
		ts := httptest.NewServer(h)
		r.url, r.http = ts.URL, ts.Client()
		t.Cleanup(ts.Close)
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- h.Serve(st.serve, ln) }()
		r.served = sync.OnceValue(func() error { return <-done })
		t.Cleanup(func() {
			if err := r.served(); err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
		r.url, r.http = "http://"+ln.Addr().String(), &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		if h.tls != nil {
			r.url = "https://" + ln.Addr().String()
		}
	}
	t.Cleanup(func() {
		mw.Close()
		_ = pool.Close(context.Background())
	})
	return r
}

// bearer adds a token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(r)
}

// tenant is an MCP client of a replica, over Streamable HTTP.
type tenant struct {
	t  *testing.T
	cs *mcp.ClientSession
}

// connect opens an MCP session with token; protocol "" takes the client's
// default (2026-07-28, which falls back to 2025-11-25 on a stateful server).
func (r *replica) connect(token, protocol string, copts *mcp.ClientOptions) (*tenant, error) {
	r.t.Helper()
	transport := &mcp.StreamableClientTransport{
		Endpoint:   r.url + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{token, r.http.Transport}},
	}
	var sopts *mcp.ClientSessionOptions
	if protocol != "" {
		sopts = &mcp.ClientSessionOptions{ProtocolVersion: protocol}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "tenant", Version: "1.0"}, copts).Connect(context.Background(), transport, sopts)
	if err != nil {
		return nil, err
	}
	r.t.Cleanup(func() { cs.Close() })
	return &tenant{r.t, cs}, nil
}

func (r *replica) mustConnect(token, protocol string) *tenant {
	r.t.Helper()
	tn, err := r.connect(token, protocol, nil)
	if err != nil {
		r.t.Fatalf("connect with %q: %v", token, err)
	}
	return tn
}

func (tn *tenant) call(name string, args any) *mcp.CallToolResult {
	tn.t.Helper()
	res, err := tn.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		tn.t.Fatalf("%s: protocol error %v", name, err)
	}
	return res
}

func (tn *tenant) toolNames() []string {
	tn.t.Helper()
	var names []string
	for tool, err := range tn.cs.Tools(context.Background(), nil) {
		if err != nil {
			tn.t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// auditLines returns the replica's audit records (the header skipped).
func (r *replica) auditLines() []map[string]any {
	r.t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.audit.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			r.t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		// Outcome lines only: a state-changing call's begin line (written
		// before it acts) is checked by the tests of that guarantee.
		if _, header := m["audit_header"]; !header && m["phase"] != "begin" {
			out = append(out, m)
		}
	}
	return out
}

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

func textOf(res *mcp.CallToolResult) string { return tools.ResultText(res) }

// answer is an elicitation handler that accepts (or declines) the deletion of
// backup-01 and counts the questions.
func answer(action string, asked *atomic.Int32) func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	return func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		asked.Add(1)
		if !strings.Contains(req.Params.Message, "backup-01") || !strings.Contains(req.Params.Message, "vm-82") {
			return nil, nil
		}
		return &mcp.ElicitResult{Action: action}, nil
	}
}

// rawPost sends one JSON-RPC body to the MCP endpoint with the given
// headers (Host via "Host").
func (r *replica) raw(method, path string, hdr map[string]string, body string) (int, http.Header, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const (
	initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-client","version":"0.1"}}}`
	listVMsBody    = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_vms","arguments":{"limit":1}}}`
)

// eachHTTPMode runs f on a stateful replica and on a stateless one with
// clients of both protocol eras.
func eachHTTPMode(t *testing.T, f func(t *testing.T, stateless bool, protocol string)) {
	for _, m := range []struct {
		name      string
		stateless bool
		protocol  string
	}{
		{"stateful", false, ""},
		{"stateless/2026-07-28", true, ""},
		{"stateless/2025-11-25", true, "2025-11-25"},
	} {
		t.Run(m.name, func(t *testing.T) { f(t, m.stateless, m.protocol) })
	}
}

func stateless(on bool) httpOption {
	return withHTTPConfig(func(c *HTTPConfig) { c.Stateless = on })
}

// TestHTTPTenantsSeeOnlyTheirRolesTools: one deployment, two tokens; each
// client lists and calls only what its role allows, and each call is
// audited with its own token fingerprint.
func TestHTTPTenantsSeeOnlyTheirRolesTools(t *testing.T) {
	eachHTTPMode(t, func(t *testing.T, sl bool, protocol string) {
		r := newReplica(t, stateless(sl))
		reader, ops := r.mustConnect(readToken, protocol), r.mustConnect(opsToken, protocol)
		if got, want := reader.toolNames(), r.pol.Allowed("read"); !slices.Equal(got, want) {
			t.Errorf("read tenant lists %v, want %v", got, want)
		}
		if got, want := ops.toolNames(), r.pol.Allowed("ops"); !slices.Equal(got, want) {
			t.Errorf("ops tenant lists %v, want %v", got, want)
		}
		if slices.Contains(reader.toolNames(), "power_on_vm") || !slices.Contains(ops.toolNames(), "power_on_vm") {
			t.Fatal("power_on_vm must be listed for ops only")
		}

		for _, tt := range []struct {
			tn    *tenant
			token string
			role  string
		}{{reader, readToken, "read"}, {ops, opsToken, "ops"}} {
			var who struct {
				Role    string `json:"role"`
				TokenFP string `json:"token_fp"`
			}
			res := tt.tn.call("whoami", nil)
			b, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, &who); err != nil || who.Role != tt.role || who.TokenFP != policy.Fingerprint(tt.token) {
				t.Errorf("whoami with the %s token = %s", tt.role, b)
			}
		}
		if res := reader.call("power_on_vm", map[string]any{"vm_name": "web-02"}); !res.IsError || !strings.Contains(textOf(res), `not allowed for role "read"`) {
			t.Errorf("read tenant powering on: %s", textOf(res))
		}
		if res := ops.call("power_on_vm", map[string]any{"vm_name": "web-02"}); res.IsError {
			t.Errorf("ops tenant powering on: %s", textOf(res))
		}
		if vm, _ := r.sim.VM("vm-71"); vm.Name != "web-02" || vm.PowerState != vcentersim.PoweredOn {
			t.Error("web-02 is not powered on in the simulator")
		}

		lines := r.auditLines()
		want := []struct{ tool, decision, role, token string }{
			{"whoami", "allowed", "read", readToken},
			{"whoami", "allowed", "ops", opsToken},
			{"power_on_vm", "denied_role", "read", readToken},
			{"power_on_vm", "allowed", "ops", opsToken},
		}
		if len(lines) != len(want) {
			t.Fatalf("audit has %d lines, want %d: %v", len(lines), len(want), lines)
		}
		for i, w := range want {
			l := lines[i]
			if l["tool"] != w.tool || l["decision"] != w.decision || l["role"] != w.role || l["token_fp"] != policy.Fingerprint(w.token) {
				t.Errorf("audit line %d = %v, want %+v", i, l, w)
			}
		}
		if s := r.audit.String(); strings.Contains(s, readToken) || strings.Contains(s, opsToken) {
			t.Error("a token appears in the audit log")
		}
	})
}

// TestHTTPTenantsAreLimitedSeparately: the rate limit is per token, so one
// tenant flooding the server does not use up another's calls.
func TestHTTPTenantsAreLimitedSeparately(t *testing.T) {
	eachHTTPMode(t, func(t *testing.T, sl bool, protocol string) {
		// 2 calls per token, then practically never again within the test.
		r := newReplica(t, stateless(sl), withHTTPRate(0.0001, 2))
		flooder, other := r.mustConnect(readToken, protocol), r.mustConnect(opsToken, protocol)

		const flood = 24
		var wg sync.WaitGroup
		results := make(chan *mcp.CallToolResult, flood)
		for range flood {
			wg.Go(func() { results <- flooder.call("list_datacenters", nil) })
		}
		// The other tenant's calls go through while the flood runs.
		for i := range 2 {
			if res := other.call("list_datacenters", nil); res.IsError {
				t.Errorf("other tenant's call %d refused during the flood: %s", i+1, textOf(res))
			}
		}
		wg.Wait()
		close(results)
		allowed := 0
		for res := range results {
			switch {
			case !res.IsError:
				allowed++
			case !strings.Contains(textOf(res), "rate limit"):
				t.Errorf("flood call failed otherwise: %s", textOf(res))
			}
		}
		if allowed != 2 {
			t.Errorf("flooder got %d calls through, want its burst of 2", allowed)
		}
		if res := other.call("list_datacenters", nil); !res.IsError || !strings.Contains(textOf(res), "rate limit") {
			t.Errorf("other tenant's third call: %s, want its own limit", textOf(res))
		}

		count := map[[2]string]int{}
		for _, l := range r.auditLines() {
			count[[2]string{l["token_fp"].(string), l["decision"].(string)}]++
		}
		want := map[[2]string]int{
			{policy.Fingerprint(readToken), "allowed"}:     2,
			{policy.Fingerprint(readToken), "denied_rate"}: flood - 2,
			{policy.Fingerprint(opsToken), "allowed"}:      2,
			{policy.Fingerprint(opsToken), "denied_rate"}:  1,
		}
		if !mapsEqual(count, want) {
			t.Errorf("audit lines by (token_fp, decision) = %v, want %v", count, want)
		}
	})
}

func mapsEqual[K comparable](a, b map[K]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestHTTPRefusedRequestsAreAudited: requests without a usable token or
// from a foreign origin never reach MCP or vCenter; each gets one audit
// line naming the token by fingerprint only.
func TestHTTPRefusedRequestsAreAudited(t *testing.T) {
	const wrong = "not-a-token-91ce"
	for _, tt := range []struct {
		name       string
		hdr        map[string]string
		status     int
		challenge  string // WWW-Authenticate must contain it; "" means absent
		role, fp   string
		errContain string
		decision   string
	}{
		{"missing token", nil, 401, `Bearer realm="vsphere-mcp-pro"`, "", "", "no bearer token", "denied_auth"},
		{"wrong token", map[string]string{"Authorization": "Bearer " + wrong}, 401, `error="invalid_token"`, "", policy.Fingerprint(wrong), "unknown token", "denied_auth"},
		{"not a bearer token", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, `error="invalid_request"`, "", "", "malformed Authorization", "denied_auth"},
		{"valid token from a foreign origin", map[string]string{"Authorization": "Bearer " + readToken, "Origin": "http://evil.example.com"},
			403, "", "read", policy.Fingerprint(readToken), `Origin "http://evil.example.com" is not allowed`, "denied_origin"},
		{"DNS rebinding: foreign Host and Origin", map[string]string{"Authorization": "Bearer " + readToken, "Host": "evil.example.com:8000", "Origin": "http://evil.example.com:8000"},
			403, "", "read", policy.Fingerprint(readToken), `Host "evil.example.com:8000" is not allowed`, "denied_origin"},
		{"opaque origin", map[string]string{"Authorization": "Bearer " + opsToken, "Origin": "null"},
			403, "", "ops", policy.Fingerprint(opsToken), `Origin "null"`, "denied_origin"},
		{"wrong token from a foreign origin", map[string]string{"Authorization": "Bearer " + wrong, "Origin": "https://evil.example.com"},
			403, "", "", policy.Fingerprint(wrong), "is not allowed", "denied_origin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplica(t)
			status, hdr, body := r.raw("POST", "/mcp", tt.hdr, listVMsBody)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, body, tt.status)
			}
			if got := hdr.Get("WWW-Authenticate"); (tt.challenge == "") != (got == "") || !strings.Contains(got, tt.challenge) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			lines := r.auditLines()
			if len(lines) != 1 {
				t.Fatalf("audit = %v, want one line", lines)
			}
			l := lines[0]
			if l["tool"] != "list_vms" || l["decision"] != tt.decision || l["ok"] != false || l["role"] != tt.role || l["token_fp"] != tt.fp ||
				!strings.Contains(l["error"].(string), tt.errContain) || !strings.Contains(l["error"].(string), "from 127.0.0.1") {
				t.Errorf("audit line = %v", l)
			}
			if s := r.audit.String(); strings.Contains(s, wrong) || strings.Contains(s, readToken) || strings.Contains(s, opsToken) {
				t.Error("a token appears in the audit log")
			}
			if n := r.sim.Counters().Requests; n != 0 {
				t.Errorf("a refused request reached vCenter (%d requests)", n)
			}
		})
	}
}

// TestHTTPReplayFromAnotherOrigin: a request of an established session,
// token and session id included, replayed from a browser page on another
// origin, or with another tenant's token, is refused.
func TestHTTPReplayFromAnotherOrigin(t *testing.T) {
	r := newReplica(t, withHTTPConfig(func(c *HTTPConfig) { c.AllowedOrigins = []string{"https://console.example.com"} }))
	auth := map[string]string{"Authorization": "Bearer " + readToken}
	status, hdr, body := r.raw("POST", "/mcp", auth, initializeBody)
	sid := hdr.Get("Mcp-Session-Id")
	if status != 200 || sid == "" {
		t.Fatalf("initialize: %d %s (session %q)", status, body, sid)
	}
	in := map[string]string{"Authorization": "Bearer " + readToken, "Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-11-25"}
	if status, _, body := r.raw("POST", "/mcp", in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != 202 {
		t.Fatalf("initialized: %d %s", status, body)
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range in {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	// The genuine request works, from no origin or the allowed one.
	for _, h := range []map[string]string{in, with(map[string]string{"Origin": "https://console.example.com"})} {
		if status, _, body := r.raw("POST", "/mcp", h, listVMsBody); status != 200 || !strings.Contains(body, `"total"`) {
			t.Fatalf("genuine call: %d %s", status, body)
		}
	}
	// Replayed from elsewhere.
	if status, _, body := r.raw("POST", "/mcp", with(map[string]string{"Origin": "https://evil.example.com"}), listVMsBody); status != 403 {
		t.Errorf("replay from another origin: %d %s, want 403", status, body)
	}
	if status, _, body := r.raw("POST", "/mcp", with(map[string]string{"Origin": "https://console.example.com:8443"}), listVMsBody); status != 403 {
		t.Errorf("replay from another port of the allowed host: %d %s, want 403", status, body)
	}
	// The session belongs to the read token: the ops token cannot use it.
	if status, _, body := r.raw("POST", "/mcp", with(map[string]string{"Authorization": "Bearer " + opsToken}), listVMsBody); status != 403 {
		t.Errorf("session used with another token: %d %s, want 403", status, body)
	}

	lines := r.auditLines()
	var refused []map[string]any
	for _, l := range lines {
		if l["decision"] == "denied_origin" {
			refused = append(refused, l)
		}
	}
	if len(lines) != 5 || len(refused) != 2 {
		t.Fatalf("audit = %v, want 2 allowed, 2 denied_origin and 1 denied_auth lines", lines)
	}
	if l := lines[4]; l["decision"] != "denied_auth" || l["token_fp"] != policy.Fingerprint(opsToken) || l["role"] != "ops" ||
		!strings.Contains(l["error"].(string), "http 403: invalid request: the MCP session belongs to another token") {
		t.Errorf("the use of another token's session: %v", l)
	}
	for _, l := range refused {
		if l["tool"] != "list_vms" || l["role"] != "read" || l["token_fp"] != policy.Fingerprint(readToken) || !strings.Contains(l["error"].(string), "http 403: Origin") {
			t.Errorf("refused line = %v", l)
		}
	}
}

// TestHTTPHostAndOrigin pins the DNS rebinding policy of docs/http.md.
func TestHTTPHostAndOrigin(t *testing.T) {
	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}
	lan := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8000}
	for _, tt := range []struct {
		name    string
		hosts   []string
		origins []string
		local   net.Addr
		host    string
		origin  string
		ok      bool
	}{
		{"loopback name on loopback", nil, nil, loop, "127.0.0.1:8000", "", true},
		{"localhost", nil, nil, loop, "localhost:8000", "", true},
		{"IPv6 loopback", nil, nil, loop, "[::1]:8000", "", true},
		{"foreign name on loopback (rebinding)", nil, nil, loop, "evil.example.com:8000", "", false},
		{"proxy name on loopback, listed", []string{"mcp.example.com"}, nil, loop, "mcp.example.com", "", true},
		{"listed name with its port", []string{"mcp.example.com:8443"}, nil, lan, "mcp.example.com:8443", "", true},
		{"listed name, other port", []string{"mcp.example.com:8443"}, nil, lan, "mcp.example.com:9443", "", false},
		{"case and trailing dot", []string{"MCP.example.com"}, nil, lan, "mcp.EXAMPLE.com.", "", true},
		{"unlisted name when a list is set", []string{"mcp.example.com"}, nil, lan, "other.example.com", "", false},
		{"any name off loopback without a list", nil, nil, lan, "10.1.2.3:8000", "", true},
		{"loopback origin on loopback", nil, nil, loop, "127.0.0.1:8000", "http://localhost:6274", true},
		{"loopback origin arriving off loopback", nil, nil, lan, "10.1.2.3:8000", "http://localhost:6274", false},
		{"foreign origin", nil, nil, loop, "127.0.0.1:8000", "http://evil.example.com", false},
		{"listed origin", nil, []string{"https://app.example.com"}, lan, "10.1.2.3", "https://app.example.com", true},
		{"listed origin with default port", nil, []string{"https://app.example.com:443"}, lan, "10.1.2.3", "https://APP.example.com", true},
		{"listed origin, other scheme", nil, []string{"https://app.example.com"}, lan, "10.1.2.3", "http://app.example.com", false},
		{"null origin", nil, nil, loop, "127.0.0.1:8000", "null", false},
		{"not an origin", nil, nil, loop, "127.0.0.1:8000", "localhost", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &HTTPServer{origins: map[string]bool{}}
			for _, o := range tt.origins {
				n, err := normalizeOrigin(o)
				if err != nil {
					t.Fatal(err)
				}
				h.origins[n] = true
			}
			for _, s := range tt.hosts {
				n, err := normalizeHostEntry(s)
				if err != nil {
					t.Fatal(err)
				}
				h.hosts = append(h.hosts, n)
			}
			req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
			req.Host = tt.host
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, tt.local))
			if why := h.checkHostOrigin(req); (why == "") != tt.ok {
				t.Errorf("Host %q Origin %q: refused %q, want ok=%v", tt.host, tt.origin, why, tt.ok)
			}
		})
	}
}

// TestHTTPBodyLimit: a body over SERVER_MAX_BODY_BYTES is refused before
// anything else reads it.
func TestHTTPBodyLimit(t *testing.T) {
	r := newReplica(t, withHTTPConfig(func(c *HTTPConfig) { c.MaxBodyBytes = 4096 }))
	big := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_vms","arguments":{"names":["` + strings.Repeat("x", 5000) + `"]}}}`
	for _, token := range []string{readToken, ""} {
		if status, _, body := r.raw("POST", "/mcp", map[string]string{"Authorization": "Bearer " + token}, big); status != http.StatusRequestEntityTooLarge {
			t.Errorf("token %q: status %d %s, want 413", token, status, body)
		}
	}
	if status, _, _ := r.raw("POST", "/mcp", map[string]string{"Authorization": "Bearer " + readToken}, initializeBody); status != 200 {
		t.Errorf("a small body: status %d", status)
	}
}

// TestHTTPHealth: /healthz is liveness; /readyz reports vCenter's login
// state without a token, and probes vCenter at most every few seconds.
func TestHTTPHealth(t *testing.T) {
	r := newReplica(t)
	get := func(r *replica, path string) (int, map[string]any) {
		t.Helper()
		status, _, body := r.raw("GET", path, nil, "")
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		return status, m
	}
	if status, m := get(r, "/healthz"); status != 200 || m["status"] != "ok" {
		t.Errorf("/healthz: %d %v", status, m)
	}
	status, m := get(r, "/readyz")
	vc, _ := m["vcenter"].(map[string]any)
	if status != 200 || m["status"] != "ready" || vc["state"] != "logged_in" || vc["host"] != r.pool.Default() {
		t.Errorf("/readyz: %d %v", status, m)
	}
	before := r.sim.Counters()
	if before.Logins["api"] != 1 {
		t.Errorf("logins %v, want the one shared session", before.Logins)
	}
	if status, _ := get(r, "/readyz"); status != 200 || r.sim.Counters().Requests != before.Requests {
		t.Errorf("a second probe right away: %d, %d vCenter requests, want the cached answer", status, r.sim.Counters().Requests-before.Requests)
	}
	if status, _, _ := r.raw("POST", "/healthz", nil, "{}"); status != 405 {
		t.Errorf("POST /healthz: %d", status)
	}
	if status, _, _ := r.raw("GET", "/other", nil, ""); status != 404 {
		t.Errorf("GET /other: %d", status)
	}

	refused := newReplica(t, withVCenterPassword("wrong-password-1"))
	status, m = get(refused, "/readyz")
	vc, _ = m["vcenter"].(map[string]any)
	if status != 503 || m["status"] != "not_ready" || vc["state"] != "login_refused" {
		t.Errorf("/readyz with a refused login: %d %v", status, m)
	}
	if status, _ := get(refused, "/healthz"); status != 200 {
		t.Errorf("/healthz with a refused login: %d, want 200 (alive)", status)
	}
}

// TestHTTPReadyzReportsTheStore: /readyz shows the shared state store's
// state; a store that is down makes the replica not ready unless calls can
// be served without it (StoreOptional).
func TestHTTPReadyzReportsTheStore(t *testing.T) {
	down := func(context.Context) error { return errors.New("dial tcp 10.0.0.9:6379: connection refused") }
	up := func(context.Context) error { return nil }
	for _, tt := range []struct {
		name       string
		store      func(context.Context) error
		optional   bool
		wantStatus int
		wantState  any // nil: no state_store member
	}{
		{"no store", nil, false, 200, nil},
		{"store up", up, false, 200, "up"},
		{"store down", down, false, 503, "down"},
		{"store down, reads fail open", down, true, 200, "down"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplica(t, withHTTPConfig(func(c *HTTPConfig) { c.Store, c.StoreOptional = tt.store, tt.optional }))
			status, _, body := r.raw("GET", "/readyz", nil, "")
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			st, _ := m["state_store"].(map[string]any)
			var state any
			if st != nil {
				state = st["state"]
			}
			vc, _ := m["vcenter"].(map[string]any)
			if status != tt.wantStatus || state != tt.wantState || vc["state"] != "logged_in" || strings.Contains(body, "10.0.0.9") {
				t.Errorf("/readyz: %d %s; want %d with state_store %v", status, body, tt.wantStatus, tt.wantState)
			}
		})
	}
}

// lineSignal is a log writer that tells the test when a line with a given
// text lands.
type lineSignal struct {
	text string
	seen chan struct{}
	once sync.Once
}

func (w *lineSignal) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.text)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestHTTPGracefulShutdown: when the context ends, the listener closes at
// once, but a call in flight runs to completion and its client gets the
// answer; Serve returns after it, and then the vCenter logout happens.
func TestHTTPGracefulShutdown(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	draining := &lineSignal{text: "stopped accepting connections", seen: make(chan struct{})}
	r := newReplica(t, withServe(ctx), withHTTPSim(vcentersim.Options{ManualTasks: true}), withDiag(draining))
	started := make(chan struct{})
	var once sync.Once
	tn, err := r.connect(opsToken, "", &mcp.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) { once.Do(func() { close(started) }) },
	})
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		params := &mcp.CallToolParams{Name: "create_vm_snapshot", Arguments: map[string]any{"vm_name": "web-02", "snapshot_name": "before-shutdown"}}
		params.SetProgressToken("shutdown")
		res, err := tn.cs.CallTool(context.Background(), params)
		done <- outcome{res, err}
	}()
	<-started // the snapshot task runs in vCenter
	stop()
	<-draining.seen // Shutdown has closed the listener

	if _, err := net.Dial("tcp", strings.TrimPrefix(r.url, "http://")); err == nil {
		t.Error("the listener still accepts connections during shutdown")
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "shutting_down") {
		t.Errorf("/readyz while draining: %d %s", rec.Code, rec.Body)
	}

	r.sim.CompleteTasks()
	out := <-done
	if out.err != nil || out.res.IsError {
		t.Fatalf("in-flight call: %v %v", out.err, out.res)
	}
	if len(r.sim.Snapshots("vm-71")) != 1 {
		t.Errorf("snapshots of web-02: %v", r.sim.Snapshots("vm-71"))
	}
	a := r.auditLines()
	if len(a) != 1 || a[0]["ok"] != true || a[0]["tool"] != "create_vm_snapshot" {
		t.Errorf("audit = %v", a)
	}
	// Serve returns; main then logs out of vCenter.
	if err := r.served(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := r.pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := r.sim.Counters().Logouts["api"]; n != 1 {
		t.Errorf("logouts %d, want 1", n)
	}
}

// TestHTTPStatelessReplicasShareApprovals: behind a load balancer the
// retry of an approved 2026-07-28 call may land on another replica; with
// one approval key on every replica it verifies there, and with another
// key it does not.
func TestHTTPStatelessReplicasShareApprovals(t *testing.T) {
	key := bytes.Repeat([]byte("k"), 32)
	approver := func(key []byte) *policy.Approver {
		a, err := policy.NewApprover(key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	sim := vcentersim.NewServer(vcentersim.Options{})
	t.Cleanup(sim.Close)
	admin := `{"` + readToken + `":"admin"}`
	one := newReplica(t, stateless(true), withSharedSim(sim), withApprover(approver(key)), func(s *httpSetup) { s.tokens = admin })
	two := newReplica(t, stateless(true), withSharedSim(sim), withApprover(approver(key)), func(s *httpSetup) { s.tokens = admin })
	other := newReplica(t, stateless(true), withSharedSim(sim), withApprover(approver(bytes.Repeat([]byte("o"), 32))), func(s *httpSetup) { s.tokens = admin })

	copts := func() *mcp.ClientOptions {
		return &mcp.ClientOptions{
			ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
				return &mcp.ElicitResult{Action: "accept"}, nil
			},
			MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true},
		}
	}
	connect := func(r *replica) *tenant {
		tn, err := r.connect(readToken, "", copts())
		if err != nil {
			t.Fatal(err)
		}
		return tn
	}
	args := map[string]any{"vm_name": "backup-01"}
	ask := connect(one)
	res, err := ask.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "delete_vm", Arguments: args})
	if err != nil || res.InputRequests == nil || res.RequestState == "" {
		t.Fatalf("no confirmation asked: %v %+v", err, res)
	}
	retry := func(r *replica) *mcp.CallToolResult {
		res, err := connect(r).cs.CallTool(context.Background(), &mcp.CallToolParams{
			Name: "delete_vm", Arguments: args, RequestState: res.RequestState,
			InputResponses: mcp.InputResponseMap{"confirm": &mcp.ElicitResult{Action: "accept"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := retry(other); !got.IsError || !strings.Contains(textOf(got), "could not be verified") {
		t.Errorf("retry on a replica with another key: %s", textOf(got))
	}
	if _, ok := sim.VM("vm-82"); !ok {
		t.Fatal("backup-01 deleted with an approval from another key")
	}
	if got := retry(two); got.IsError {
		t.Fatalf("retry on the other replica: %s", textOf(got))
	}
	if _, ok := sim.VM("vm-82"); ok {
		t.Error("the approved delete did not happen")
	}
	if l := two.auditLines(); len(l) != 1 || l[0]["decision"] != "allowed" || l[0]["token_fp"] != policy.Fingerprint(readToken) {
		t.Errorf("audit of the replica that acted: %v", l)
	}
}

// TestHTTPTLS serves MCP over TLS from SERVER_TLS_CERT and SERVER_TLS_KEY.
func TestHTTPTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	ctx, stop := context.WithCancel(context.Background())
	r := newReplica(t, withServe(ctx), withHTTPConfig(func(c *HTTPConfig) { c.TLSCert, c.TLSKey = certFile, keyFile }))
	t.Cleanup(stop) // runs before the replica's cleanup waits for Serve
	r.http.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	tn := r.mustConnect(readToken, "")
	if res := tn.call("whoami", nil); res.IsError {
		t.Fatal(textOf(res))
	}
	plain := &http.Client{}
	if resp, err := plain.Get(strings.Replace(r.url, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on the TLS port")
		}
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestHTTPConfig: mistakes stop the start; exposure is warned about.
func TestHTTPConfig(t *testing.T) {
	build := func(cfg HTTPConfig, enforce bool) ([]string, error) {
		pcfg := policy.Config{}
		if enforce {
			var err error
			if pcfg, err = policy.ParseConfig(`{"`+readToken+`":"read"}`, ""); err != nil {
				t.Fatal(err)
			}
		}
		catalog := tools.All(tools.Deps{})
		pol, _, err := policy.New(pcfg, tools.Policies(catalog), tools.ToolsetOptions(policy.Options{AuthEnforce: enforce}))
		if err != nil {
			t.Fatal(err)
		}
		approver, _ := policy.NewApprover(nil, time.Minute)
		mw, err := tools.NewMiddleware(tools.MiddlewareConfig{Policy: pol, Audit: audit.New(io.Discard), Approver: approver,
			Catalog: catalog, Identify: HTTPIdentity(pol), ApprovalTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		_, warnings, err := NewHTTPServer(tools.NewServer(catalog, mw, tools.ServerOptions{}), mw, pol, cfg)
		return warnings, err
	}
	with := func(f func(*HTTPConfig)) HTTPConfig {
		c := testConfig()
		f(&c)
		return c
	}
	for _, tt := range []struct {
		name    string
		cfg     HTTPConfig
		enforce bool
		err     string // "" means no error
		warn    []string
	}{
		{"defaults", testConfig(), true, "", nil},
		{"defaults without a policy", testConfig(), false, "", []string{"no token is required"}},
		{"all interfaces", with(func(c *HTTPConfig) { c.Host = "0.0.0.0" }), true, "", []string{"ALL interfaces", "clear text", "SERVER_ALLOWED_HOSTS is empty"}},
		{"all interfaces without a policy", with(func(c *HTTPConfig) { c.Host = "0.0.0.0" }), false, "would open every tool to the network", nil},
		{"a LAN address without a policy", with(func(c *HTTPConfig) { c.Host = "10.1.2.3" }), false, "would open every tool", nil},
		{"path without slash", with(func(c *HTTPConfig) { c.Path = "mcp" }), true, "MCP_PATH", nil},
		{"path on a health endpoint", with(func(c *HTTPConfig) { c.Path = "/readyz" }), true, "MCP_PATH", nil},
		{"cert without key", with(func(c *HTTPConfig) { c.TLSCert = "cert.pem" }), true, "set both", nil},
		{"unreadable cert", with(func(c *HTTPConfig) { c.TLSCert = "/nonexistent/cert.pem"; c.TLSKey = "/nonexistent/key.pem" }), true, "SERVER_TLS_CERT/SERVER_TLS_KEY", nil},
		{"wildcard origin", with(func(c *HTTPConfig) { c.AllowedOrigins = []string{"*"} }), true, "SERVER_ALLOWED_ORIGINS", nil},
		{"origin with a path", with(func(c *HTTPConfig) { c.AllowedOrigins = []string{"https://app.example.com/x"} }), true, "SERVER_ALLOWED_ORIGINS", nil},
		{"host with a scheme", with(func(c *HTTPConfig) { c.AllowedHosts = []string{"https://mcp.example.com"} }), true, "SERVER_ALLOWED_HOSTS", nil},
		{"port out of range", with(func(c *HTTPConfig) { c.Port = 70000 }), true, "SERVER_PORT", nil},
		{"tiny body limit", with(func(c *HTTPConfig) { c.MaxBodyBytes = 10 }), true, "SERVER_MAX_BODY_BYTES", nil},
		{"no host", with(func(c *HTTPConfig) { c.Host = "" }), true, "SERVER_HOST is empty", nil},
		{"zero timeout", with(func(c *HTTPConfig) { c.ReadTimeout = 0 }), true, "SERVER_READ_TIMEOUT_S=0", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			warnings, err := build(tt.cfg, tt.enforce)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			all := strings.Join(warnings, "\n")
			for _, w := range tt.warn {
				if !strings.Contains(all, w) {
					t.Errorf("warnings %q lack %q", warnings, w)
				}
			}
			if len(tt.warn) == 0 && len(warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings)
			}
		})
	}
}

// TestHTTPIdentifyNeedsHTTP: a message that did not come through the HTTP
// front has no identity, so the guard refuses it.
func TestHTTPIdentifyNeedsHTTP(t *testing.T) {
	pol, _, err := policy.New(policy.Config{}, nil, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := HTTPIdentity(pol)(context.Background(), &mcp.CallToolRequest{}); !errors.Is(err, errNoHTTPIdentity) {
		t.Errorf("Identify without HTTP = %v", err)
	}
}

// TestHTTPNoPolicyOnLoopback: --simulate without a policy serves loopback
// clients without a token (what the conformance suite does).
func TestHTTPNoPolicyOnLoopback(t *testing.T) {
	r := newReplica(t, withNoPolicy())
	tn := r.mustConnect("", "")
	on := map[tools.Toolset]bool{}
	for _, ts := range tools.Toolsets() {
		on[ts.Name] = ts.Default || ts.Always
	}
	want := 0
	for _, tool := range r.catalog {
		if on[tool.Toolset] {
			want++
		}
	}
	if len(tn.toolNames()) != want {
		t.Errorf("lists %d tools, want all %d of the default toolsets", len(tn.toolNames()), want)
	}
	if res := tn.call("list_datacenters", nil); res.IsError {
		t.Error(textOf(res))
	}
	if l := r.auditLines(); len(l) != 1 || l[0]["role"] != policy.RoleUnrestricted || l[0]["token_fp"] != "" {
		t.Errorf("audit = %v", l)
	}
}

// TestHTTPConfirmations: confirmation over HTTP in each mode. A stateful
// session can ask the user (elicitation on the call's stream); a stateless
// 2026-07-28 client answers by calling again; a stateless older client
// cannot be asked (no session to send the question on) and gets the
// preview, then confirms with confirm: true.
func TestHTTPConfirmations(t *testing.T) {
	for _, tt := range []struct {
		name      string
		stateless bool
		protocol  string
		wantAsked int32
	}{
		{"stateful", false, "", 1},
		{"stateless/2026-07-28", true, "", 1},
		{"stateless/2025-11-25", true, "2025-11-25", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplica(t, stateless(tt.stateless), func(s *httpSetup) { s.tokens = `{"` + opsToken + `":"admin"}` })
			var asked atomic.Int32
			tn, err := r.connect(opsToken, tt.protocol, &mcp.ClientOptions{ElicitationHandler: answer("accept", &asked)})
			if err != nil {
				t.Fatal(err)
			}
			res := tn.call("delete_vm", map[string]any{"vm_name": "backup-01"})
			var out struct {
				Status string `json:"status"`
			}
			b, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, &out); err != nil || res.IsError {
				t.Fatalf("delete_vm: %s %s", b, textOf(res))
			}
			if asked.Load() != tt.wantAsked {
				t.Errorf("asked %d times, want %d", asked.Load(), tt.wantAsked)
			}
			if tt.wantAsked == 0 {
				if out.Status != "needs_confirmation" {
					t.Fatalf("result %+v, want the preview", out)
				}
				if _, ok := r.sim.VM("vm-82"); !ok {
					t.Fatal("the preview deleted the VM")
				}
				if res := tn.call("delete_vm", map[string]any{"vm_name": "backup-01", "confirm": true}); res.IsError {
					t.Fatalf("confirmed delete: %s", textOf(res))
				}
			} else if out.Status != "done" {
				t.Fatalf("result %+v, want done", out)
			}
			if _, ok := r.sim.VM("vm-82"); ok {
				t.Error("backup-01 still exists")
			}
			decisions := []string{}
			for _, l := range r.auditLines() {
				decisions = append(decisions, l["decision"].(string))
			}
			want := []string{"allowed"}
			if tt.wantAsked == 0 {
				want = []string{"needs_confirmation", "allowed"}
			}
			if !slices.Equal(decisions, want) {
				t.Errorf("audit decisions %v, want %v", decisions, want)
			}
		})
	}
}

// TestHTTPShutdownCutsOffLateCalls: a call still running when the
// shutdown timeout expires is cancelled like a client's cancellation (its
// vCenter task too), writes its audit line before Serve returns, and Serve
// returns instead of waiting for it forever.
func TestHTTPShutdownCutsOffLateCalls(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := newReplica(t, withServe(ctx), withHTTPSim(vcentersim.Options{ManualTasks: true}),
		withHTTPConfig(func(c *HTTPConfig) { c.ShutdownTimeout = time.Nanosecond }))
	started := make(chan struct{})
	var once sync.Once
	tn, err := r.connect(opsToken, "", &mcp.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) { once.Do(func() { close(started) }) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The client would try to resume its broken stream (the server gives
	// event ids and a retry field) until its retries run out: end it with
	// the test.
	callCtx, cancelCall := context.WithCancel(context.Background())
	defer cancelCall()
	go func() {
		params := &mcp.CallToolParams{Name: "create_vm_snapshot", Arguments: map[string]any{"vm_name": "web-02", "snapshot_name": "cut-off"}}
		params.SetProgressToken("late")
		_, _ = tn.cs.CallTool(callCtx, params)
	}()
	<-started
	stop()
	if err := r.served(); err == nil || !strings.Contains(err.Error(), "cut off") {
		t.Fatalf("Serve = %v, want the cut-off error", err)
	}
	r.served = func() error { return nil } // the error was expected
	a := r.auditLines()
	if len(a) != 1 || a[0]["tool"] != "create_vm_snapshot" || a[0]["ok"] != false {
		t.Fatalf("audit = %v, want the cut-off call's line", a)
	}
	if task, _ := a[0]["task"].(map[string]any); task == nil || task["state"] != string(audit.TaskCancelled) {
		t.Errorf("task = %v, want cancelled in vCenter", a[0]["task"])
	}
}
