package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// These tests run serve --http --simulate replicas in-process through run,
// the real wiring, and drive them over HTTP with the go-sdk client.

// redisServer is a redis-server process started by a test.
type redisServer struct {
	t        *testing.T
	bin, dir string
	port     int
	password string
	cmd      *exec.Cmd
}

// startRedis starts redis-server on a free loopback port, with a password
// and no persistence. Without the Debian package the test is skipped, and
// fails under CI (VSPHERE_MCP_REQUIRE_REDIS=1, set by .ci/run).
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("VSPHERE_MCP_REQUIRE_REDIS") == "1" {
			t.Fatalf("redis-server is not installed and VSPHERE_MCP_REQUIRE_REDIS=1: apt-get install -y redis-server")
		}
		t.Skip("redis-server is not installed (apt-get install -y redis-server): the shared-state test needs a real Redis")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: port, password: "redis-Pa55-4f2a9c"}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--requirepass", r.password, "--dir", r.dir, "--daemonize", "no", "--loglevel", "warning")
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr(), Password: r.password, MaxRetries: -1})
	defer c.Close()
	waitFor(r.t, "redis-server to answer", func() bool { return c.Ping(context.Background()).Err() == nil })
}

// stop kills redis-server (as a crash would) and waits for it to exit.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// waitFor spins until cond holds, failing after 15 seconds. It waits for a
// state, not for time to pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for !cond() {
		select {
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// httpReplica is one serve --http --simulate process, run in-process.
type httpReplica struct {
	t       *testing.T
	url     string // http://127.0.0.1:port
	metrics string // the metrics URL, when SERVER_METRICS_ADDR is set
	audit   string // AUDIT_LOG_PATH
	stderr  *recorder
}

var (
	servingURL = regexp.MustCompile(`"url":"(http://127\.0\.0\.1:\d+)/mcp"`)
	metricsURL = regexp.MustCompile(`"url":"(http://127\.0\.0\.1:\d+/metrics)"`)
)

// startReplica runs serve --http --simulate with env (plus a port, a host
// and an audit file of its own) until the test ends.
func startReplica(t *testing.T, env ...string) *httpReplica {
	t.Helper()
	r := &httpReplica{t: t, audit: filepath.Join(t.TempDir(), "audit.jsonl"), stderr: &recorder{}}
	env = append(baseEnv(t, "SERVER_HOST=127.0.0.1", "SERVER_PORT=0", "AUDIT_LOG_PATH="+r.audit, "VCENTER_BACKOFF=0"), env...)
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--simulate", "serve", "--http"}, env, strings.NewReader(""), io.Discard, r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("replica exited %d:\n%s", c, r.stderr.String())
		}
	})
	wantMetrics := strings.Contains(strings.Join(env, "\n"), "SERVER_METRICS_ADDR=")
	waitFor(t, "the replica to serve", func() bool {
		select {
		case c := <-code:
			code <- c
			t.Fatalf("replica exited %d before serving:\n%s", c, r.stderr.String())
		default:
		}
		out := r.stderr.String()
		if m := servingURL.FindStringSubmatch(out); m != nil {
			r.url = m[1]
		}
		if m := metricsURL.FindStringSubmatch(out); m != nil {
			r.metrics = m[1]
		}
		return r.url != "" && (!wantMetrics || r.metrics != "")
	})
	return r
}

// bearerTransport adds a token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// connect opens an MCP client of the replica with token; the client
// declares elicitation and answers confirmations itself (by hand, with
// RequestState), so that the test holds the signed approval.
func (r *httpReplica) connect(token string) *mcp.ClientSession {
	r.t.Helper()
	opts := &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept"}, nil
		},
		MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true},
	}
	tr := &mcp.StreamableClientTransport{Endpoint: r.url + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{token}, Timeout: time.Minute}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "replica-test", Version: "1"}, opts).Connect(context.Background(), tr, nil)
	if err != nil {
		r.t.Fatalf("connect: %v\n%s", err, r.stderr.String())
	}
	r.t.Cleanup(func() { cs.Close() })
	return cs
}

func callTool(t *testing.T, cs *mcp.ClientSession, p *mcp.CallToolParams) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), p)
	if err != nil {
		t.Fatalf("%s: protocol error %v", p.Name, err)
	}
	return res
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// auditLines returns the replica's outcome lines (no header, no begin line).
func (r *httpReplica) auditLines() []map[string]any {
	r.t.Helper()
	f, err := os.Open(r.audit)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			r.t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		if _, header := m["audit_header"]; !header && m["phase"] != "begin" {
			out = append(out, m)
		}
	}
	return out
}

// decisions counts the replica's audit lines of tool by decision.
func (r *httpReplica) decisions(tool string) map[string]int {
	out := map[string]int{}
	for _, l := range r.auditLines() {
		if l["tool"] == tool {
			out[l["decision"].(string)]++
		}
	}
	return out
}

func (r *httpReplica) readyz() (int, map[string]any) {
	r.t.Helper()
	resp, err := get(r.url + "/readyz")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// testHTTP is the tests' client for the health and metrics endpoints.
var testHTTP = &http.Client{Timeout: 30 * time.Second}

// get fetches url, bounded by testHTTP's timeout.
func get(url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return testHTTP.Do(req)
}

// scrape fetches the replica's metrics and parses the text format.
func (r *httpReplica) scrape() (map[string]*dto.MetricFamily, string) {
	r.t.Helper()
	resp, err := get(r.metrics)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		r.t.Fatalf("metrics do not parse: %v\n%s", err, body)
	}
	return fams, string(body)
}

// metric is the value of one series (a counter, a gauge, or a histogram's
// count), -1 when it does not exist.
func metric(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		if len(m.Label)*2 != len(labels) {
			continue
		}
		match := true
		for i, l := range m.Label {
			// The exposition sorts labels by name; callers list them so.
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				match = false
			}
		}
		switch {
		case !match:
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

const (
	tokApprover = "tok-approver-1a2b3c4d"
	tokTenant   = "tok-tenant-5e6f7a8b9c"
	tokOps      = "tok-ops-9c0d1e2f3a4b"
)

// TestSharedStateAcrossReplicas: two stateless replicas on one real
// redis-server behave as one. An approval redeemed on A is refused on B
// (while a replica without the store would accept it: the hole the store
// closes); a tenant's calls on both draw on one bucket, exactly its burst;
// with Redis killed mid-run, calls that need it are refused and audited
// (denied_state), reads only where the operator opted in, /readyz says
// so; once Redis is back, calls go through again without a restart, and
// an approval from before Redis lost its memory is refused.
func TestSharedStateAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and three servers: skipped with -short")
	}
	rs := startRedis(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "approval.key")
	pwFile := filepath.Join(dir, "redis.password")
	for name, content := range map[string]string{keyFile: "4f7c2a9e1b3d5f708192a3b4c5d6e7f8091a2b3c4d5e6f70", pwFile: rs.password + "\n"} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const burst = 6
	common := []string{
		"SERVER_STATELESS=true", "APPROVAL_KEY_FILE=" + keyFile,
		`TOKENS_TO_ROLES={"` + tokApprover + `":"admin","` + tokTenant + `":"read","` + tokOps + `":"ops"}`,
		"RATE_LIMIT_RPS=0.001", "RATE_LIMIT_BURST=" + strconv.Itoa(burst),
	}
	shared := append([]string{"SERVER_STATE_URL=redis://" + rs.addr() + "/0", "SERVER_STATE_PASSWORD_FILE=" + pwFile,
		"SERVER_STATE_DIAL_TIMEOUT_S=0.5", "SERVER_STATE_READ_TIMEOUT_S=0.5", "SERVER_STATE_WRITE_TIMEOUT_S=0.5"}, common...)
	a := startReplica(t, append(shared, "SERVER_METRICS_ADDR=127.0.0.1:0")...)
	b := startReplica(t, append(shared, "SERVER_STATE_FAIL_OPEN_READS=true")...)
	alone := startReplica(t, common...) // the same key, no store
	for _, r := range []*httpReplica{a, b, alone} {
		if out := r.stderr.String(); strings.Contains(out, rs.password) {
			t.Fatalf("a replica's stderr holds the Redis password:\n%s", out)
		}
	}
	if !strings.Contains(a.stderr.String(), "shared state (approvals, rate limits) in Redis at "+rs.addr()+"/0") {
		t.Errorf("replica A does not say where its shared state is:\n%s", a.stderr.String())
	}

	t.Run("an approval is redeemed once across replicas", func(t *testing.T) {
		args := map[string]any{"vm_name": "backup-01"}
		onA := a.connect(tokApprover)
		asked := callTool(t, onA, &mcp.CallToolParams{Name: "delete_vm", Arguments: args})
		if asked.InputRequests == nil || asked.RequestState == "" {
			t.Fatalf("no confirmation asked: %s", resultText(asked))
		}
		redeem := func(cs *mcp.ClientSession) *mcp.CallToolResult {
			return callTool(t, cs, &mcp.CallToolParams{Name: "delete_vm", Arguments: args, RequestState: asked.RequestState,
				InputResponses: mcp.InputResponseMap{"confirm": &mcp.ElicitResult{Action: "accept"}}})
		}
		if res := redeem(onA); res.IsError {
			t.Fatalf("the approval on A: %s", resultText(res))
		}
		onB := b.connect(tokApprover)
		res := redeem(onB)
		if !res.IsError || !strings.Contains(resultText(res), "already used") {
			t.Errorf("the same approval on B: %s, want it refused as already used", resultText(res))
		}
		if still := callTool(t, onB, &mcp.CallToolParams{Name: "get_vm_details", Arguments: args}); still.IsError {
			t.Errorf("backup-01 is gone on B's vCenter: %s", resultText(still))
		}
		if got := b.decisions("delete_vm"); got["needs_confirmation"] != 1 || got["allowed"] != 0 {
			t.Errorf("B's audit of delete_vm: %v, want one refusal", got)
		}
		// Without the store the replay goes through: what the store prevents.
		if res := redeem(alone.connect(tokApprover)); res.IsError {
			t.Errorf("the replay on a replica without the store was refused (%s): the test proves nothing", resultText(res))
		}
	})

	t.Run("a tenant draws on one bucket across replicas", func(t *testing.T) {
		sessions := []*mcp.ClientSession{a.connect(tokTenant), b.connect(tokTenant)}
		allowed, limited := 0, 0
		for i := range 2*burst + 2 {
			res := callTool(t, sessions[i%2], &mcp.CallToolParams{Name: "list_vms", Arguments: map[string]any{"limit": 1}})
			switch {
			case !res.IsError:
				allowed++
			case strings.Contains(resultText(res), "rate limit reached"):
				limited++
			default:
				t.Errorf("call %d: %s", i, resultText(res))
			}
		}
		if allowed != burst || limited != burst+2 {
			t.Errorf("%d calls allowed and %d limited across two replicas, want %d and %d (one bucket of %d)", allowed, limited, burst, burst+2, burst)
		}
		da, db := a.decisions("list_vms"), b.decisions("list_vms")
		if da["allowed"]+db["allowed"] != burst || da["denied_rate"]+db["denied_rate"] != burst+2 {
			t.Errorf("audit: A %v, B %v", da, db)
		}
	})

	t.Run("Redis stopped: refused and audited, then recovery", func(t *testing.T) {
		opsA, opsB := a.connect(tokOps), b.connect(tokOps)
		web := map[string]any{"vm_name": "web-01"}
		before := callTool(t, opsA, &mcp.CallToolParams{Name: "get_vm_details", Arguments: web})
		if before.IsError || !strings.Contains(resultText(before), "POWERED_ON") {
			t.Fatalf("web-01 before: %s", resultText(before))
		}
		// An approval asked for before Redis loses its memory.
		approverA := a.connect(tokApprover)
		oldApp := map[string]any{"vm_name": "old-app-01"}
		pending := callTool(t, approverA, &mcp.CallToolParams{Name: "delete_vm", Arguments: oldApp})
		if pending.RequestState == "" {
			t.Fatalf("no confirmation asked: %s", resultText(pending))
		}
		rs.stop()
		refusedOn := func(r *httpReplica, cs *mcp.ClientSession, tool string, args map[string]any) {
			t.Helper()
			res := callTool(t, cs, &mcp.CallToolParams{Name: tool, Arguments: args})
			if !res.IsError || !strings.Contains(resultText(res), "SERVER_STATE_URL") {
				t.Errorf("%s with Redis down: %s, want a refusal naming SERVER_STATE_URL", tool, resultText(res))
			}
			if l := r.auditLines(); len(l) == 0 || l[len(l)-1]["tool"] != tool || l[len(l)-1]["decision"] != "denied_state" || l[len(l)-1]["ok"] != false {
				t.Errorf("audit of %s with Redis down: %v", tool, l[len(l)-1])
			}
		}
		refusedOn(a, opsA, "power_off_vm", web)
		refusedOn(a, opsA, "list_vms", map[string]any{"limit": 1}) // A did not opt in for reads
		refusedOn(b, opsB, "power_off_vm", web)
		if res := callTool(t, opsB, &mcp.CallToolParams{Name: "list_vms", Arguments: map[string]any{"limit": 1}}); res.IsError {
			t.Errorf("a read on B (SERVER_STATE_FAIL_OPEN_READS=true) with Redis down: %s", resultText(res))
		}
		if status, m := a.readyz(); status != 503 || m["state_store"].(map[string]any)["state"] != "down" {
			t.Errorf("A's /readyz with Redis down: %d %v", status, m)
		}
		if status, m := b.readyz(); status != 200 || m["state_store"].(map[string]any)["state"] != "down" {
			t.Errorf("B's /readyz with Redis down (reads fail open): %d %v", status, m)
		}

		rs.start()
		if res := callTool(t, opsA, &mcp.CallToolParams{Name: "power_off_vm", Arguments: web}); res.IsError {
			t.Fatalf("power_off_vm on A once Redis is back: %s\n%s", resultText(res), a.stderr.String())
		}
		if res := callTool(t, opsA, &mcp.CallToolParams{Name: "get_vm_details", Arguments: web}); !strings.Contains(resultText(res), "POWERED_OFF") {
			t.Errorf("web-01 on A after the recovered call: %s", resultText(res))
		}
		if res := callTool(t, opsB, &mcp.CallToolParams{Name: "get_vm_details", Arguments: web}); !strings.Contains(resultText(res), "POWERED_ON") {
			t.Errorf("web-01 on B, whose power_off_vm was refused: %s", resultText(res))
		}
		// Redis came back empty: it cannot vouch that the approval given
		// before was not used, so it is refused, and a new one works.
		accept := mcp.InputResponseMap{"confirm": &mcp.ElicitResult{Action: "accept"}}
		res := callTool(t, approverA, &mcp.CallToolParams{Name: "delete_vm", Arguments: oldApp, RequestState: pending.RequestState, InputResponses: accept})
		if !res.IsError || !strings.Contains(resultText(res), "store was reset") {
			t.Errorf("an approval from before Redis restarted: %s, want it refused", resultText(res))
		}
		fresh := callTool(t, approverA, &mcp.CallToolParams{Name: "delete_vm", Arguments: oldApp})
		if res := callTool(t, approverA, &mcp.CallToolParams{Name: "delete_vm", Arguments: oldApp, RequestState: fresh.RequestState, InputResponses: accept}); res.IsError {
			t.Errorf("a new approval after the restart: %s", resultText(res))
		}
		for _, r := range []*httpReplica{a, b} {
			if !strings.Contains(r.stderr.String(), "shared state store reachable again") {
				t.Errorf("no recovery logged:\n%s", r.stderr.String())
			}
		}
		fams, _ := a.scrape()
		for _, tt := range []struct {
			labels []string
			want   float64
		}{
			{[]string{"op", "bucket"}, 2}, {[]string{"op", "ping"}, 1}, {[]string{"op", "nonce"}, 0},
		} {
			if got := metric(fams, "vsphere_mcp_state_store_errors_total", tt.labels...); got != tt.want {
				t.Errorf("A's store errors %v = %v, want %v", tt.labels, got, tt.want)
			}
		}
		if got := metric(fams, "vsphere_mcp_tool_calls_total", "decision", "denied_state", "tool", "power_off_vm"); got != 1 {
			t.Errorf("A's denied_state power_off_vm calls = %v, want 1", got)
		}
	})
}

// TestMetricsEndpoint scrapes SERVER_METRICS_ADDR after a few calls and
// checks the values: calls by tool and decision, their latency, vCenter
// requests and logins, live sessions, and no token anywhere.
func TestMetricsEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server: skipped with -short")
	}
	r := startReplica(t, `TOKENS_TO_ROLES={"`+tokTenant+`":"read"}`, "SERVER_METRICS_ADDR=127.0.0.1:0")
	cs := r.connect(tokTenant)
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"list_vms", map[string]any{"limit": 2}},
		{"list_vms", map[string]any{"limit": 1}},
		{"get_vm_details", map[string]any{"vm_name": "web-01"}},
		{"power_on_vm", map[string]any{"vm_name": "web-04"}}, // the read role may not
		{"format_datastore", nil},                            // no such tool
		{tokTenant, nil},                                     // a token pasted as a tool name
	} {
		callTool(t, cs, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
	}
	fams, body := r.scrape()
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vsphere_mcp_tool_calls_total", []string{"decision", "allowed", "tool", "list_vms"}, 2},
		{"vsphere_mcp_tool_calls_total", []string{"decision", "allowed", "tool", "get_vm_details"}, 1},
		{"vsphere_mcp_tool_calls_total", []string{"decision", "denied_role", "tool", "power_on_vm"}, 1},
		{"vsphere_mcp_tool_calls_total", []string{"decision", "unknown_tool", "tool", "unknown"}, 2},
		{"vsphere_mcp_tool_call_duration_seconds", []string{"tool", "list_vms"}, 2},
		{"vsphere_mcp_vcenter_logins_total", []string{"result", "ok"}, 1},
		{"vsphere_mcp_vcenter_logins_total", []string{"result", "failed"}, 0},
		{"vsphere_mcp_vcenter_requests_total", []string{"method", "POST", "status", "201"}, 1}, // the login
		{"vsphere_mcp_audit_write_failures_total", nil, 0},
		{"vsphere_mcp_sessions_active", nil, 1},
	} {
		if got := metric(fams, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := metric(fams, "vsphere_mcp_vcenter_requests_total", "method", "GET", "status", "200"); got < 2 {
		t.Errorf("vCenter GETs = %v, want the lists' and the details' requests", got)
	}
	if _, ok := fams["vsphere_mcp_state_store_errors_total"]; ok {
		t.Error("store error series without a store")
	}
	if strings.Contains(body, tokTenant) || strings.Contains(body, policy.Fingerprint(tokTenant)) {
		t.Error("the metrics carry the token or its fingerprint")
	}
}

// TestStdioIgnoresTheSharedState: without serve --http, SERVER_STATE_URL and
// SERVER_METRICS_ADDR are ignored with a warning, and no connection is
// made to the store (a listener standing in for Redis accepts none).
func TestStdioIgnoresTheSharedState(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan bool, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err == nil
	}()
	var stdout, stderr recorder
	env := baseEnv(t, "SERVER_STATE_URL=redis://"+ln.Addr().String()+"/0", "SERVER_METRICS_ADDR=127.0.0.1:0")
	code := run(context.Background(), []string{"--simulate", "call", "list_vms", `{"limit":1}`}, env, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), `"returned": 1`) {
		t.Fatalf("call with SERVER_STATE_URL set: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"SERVER_STATE_URL is ignored without serve --http", "SERVER_METRICS_ADDR is ignored without serve --http"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	ln.Close() // ends the Accept if nothing came
	if <-accepted {
		t.Error("the stdio pipeline connected to the store")
	}
	if strings.Contains(stderr.String(), "serving metrics") {
		t.Error("the stdio pipeline served metrics")
	}
}
