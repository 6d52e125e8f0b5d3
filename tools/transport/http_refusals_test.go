package transport

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// session opens a stateful MCP session over raw HTTP with token and
// returns the headers that continue it.
func (r *replica) session(token string) map[string]string {
	r.t.Helper()
	status, hdr, body := r.raw("POST", "/mcp", map[string]string{"Authorization": "Bearer " + token}, initializeBody)
	sid := hdr.Get("Mcp-Session-Id")
	if status != 200 || sid == "" {
		r.t.Fatalf("initialize: %d %s (session %q)", status, body, sid)
	}
	in := map[string]string{"Authorization": "Bearer " + token, "Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-11-25"}
	if status, _, body := r.raw("POST", "/mcp", in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != 202 {
		r.t.Fatalf("initialized: %d %s", status, body)
	}
	return in
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// TestHTTPRefusalsAtEveryLayerAreAudited: whatever layer refuses a
// request — this transport, or the go-sdk's handler behind it — it gets
// one audit line with its own decision. Before, these had none: another
// tenant's session (the SDK's 403), a call before initialize (HTTP 200 with
// JSON-RPC code 0), a missing Mcp-Method header, a 413 body, a duplicate
// in-flight request id, an unknown session.
func TestHTTPRefusalsAtEveryLayerAreAudited(t *testing.T) {
	auth := map[string]string{"Authorization": "Bearer " + readToken}
	meta2026 := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	for _, tt := range []struct {
		name      string
		stateless bool
		method    string
		hdr       func(r *replica) map[string]string
		body      string
		status    int
		rpcCode   int // 0: not a JSON-RPC body
		decision  string
		tool      string
		why       string
	}{
		{name: "a call before initialize", hdr: func(*replica) map[string]string { return auth }, body: listVMsBody,
			status: 400, rpcCode: -32600, decision: "invalid_request", tool: "list_vms", why: "without an MCP session; send initialize first"},
		{name: "another tenant's session", hdr: func(r *replica) map[string]string {
			return with(r.session(opsToken), "Authorization", "Bearer "+readToken)
		}, body: listVMsBody,
			status: 403, rpcCode: -32600, decision: "denied_auth", tool: "list_vms", why: "belongs to another token"},
		{name: "another tenant's event stream", method: "GET", hdr: func(r *replica) map[string]string {
			return with(r.session(opsToken), "Authorization", "Bearer "+readToken)
		},
			status: 403, decision: "denied_auth", why: "belongs to another token"},
		{name: "an unknown session", hdr: func(*replica) map[string]string { return with(auth, "Mcp-Session-Id", "NOSUCHSESSION") }, body: listVMsBody,
			status: 404, decision: "invalid_request", tool: "list_vms", why: "http 404: session not found"},
		{name: "an event stream without a session", method: "GET", hdr: func(*replica) map[string]string { return auth },
			status: 400, decision: "invalid_request", why: "GET requires an Mcp-Session-Id header"},
		{name: "a missing Mcp-Method header", stateless: true, hdr: func(*replica) map[string]string { return with(auth, "Mcp-Protocol-Version", "2026-07-28") },
			body:   `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_vms",` + meta2026 + `}}`,
			status: 400, rpcCode: -32020, decision: "invalid_request", tool: "list_vms", why: "missing required Mcp-Method header"},
		{name: "a body over the limit", hdr: func(*replica) map[string]string { return auth },
			body:   `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_vms","arguments":{"names":["` + strings.Repeat("x", 5000) + `"]}}}`,
			status: 413, decision: "invalid_request", tool: "", why: "exceeds 4096 bytes (SERVER_MAX_BODY_BYTES)"},
		{name: "not JSON", hdr: func(r *replica) map[string]string { return r.session(readToken) }, body: `{"jsonrpc":"2.0",`,
			status: 400, rpcCode: -32700, decision: "invalid_request", why: "not valid JSON"},
		{name: "a batch", hdr: func(r *replica) map[string]string { return r.session(readToken) }, body: `[` + listVMsBody + `]`,
			status: 400, rpcCode: -32600, decision: "invalid_request", why: "batches are not supported"},
		{name: "a duplicate key", hdr: func(r *replica) map[string]string { return r.session(readToken) }, body: `{"jsonrpc":"2.0","id":2,"id":3,"method":"ping"}`,
			status: 400, rpcCode: -32600, decision: "invalid_request", why: `"id" appears twice`},
		{name: "JSON-RPC 1.0", stateless: true, hdr: func(*replica) map[string]string { return auth }, body: `{"jsonrpc":"1.0","id":2,"method":"tools/list"}`,
			status: 400, rpcCode: -32600, decision: "invalid_request", why: `"jsonrpc" must be "2.0"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplica(t, stateless(tt.stateless), withHTTPConfig(func(c *HTTPConfig) { c.MaxBodyBytes = 4096 }))
			hdr := tt.hdr(r)
			before := len(r.auditLines())
			method := tt.method
			if method == "" {
				method = "POST"
			}
			if method == "GET" {
				hdr = with(hdr, "Accept", "text/event-stream")
			}
			status, _, body := r.raw(method, "/mcp", hdr, tt.body)
			if status != tt.status {
				t.Errorf("status %d (%s), want %d", status, body, tt.status)
			}
			if tt.rpcCode != 0 {
				var resp struct {
					Error struct {
						Code int `json:"code"`
					} `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.Error.Code != tt.rpcCode {
					t.Errorf("body %q, want a JSON-RPC error %d", body, tt.rpcCode)
				}
			}
			lines := r.auditLines()[before:]
			if len(lines) != 1 {
				t.Fatalf("%d audit lines, want 1: %v", len(lines), lines)
			}
			l := lines[0]
			if l["decision"] != tt.decision || l["ok"] != false || l["tool"] != tt.tool || !strings.Contains(l["error"].(string), tt.why) || !strings.Contains(l["error"].(string), "from 127.0.0.1") {
				t.Errorf("audit line %v, want decision %s, tool %q, error with %q", l, tt.decision, tt.tool, tt.why)
			}
			if tt.decision != "denied_auth" && l["token_fp"] != policy.Fingerprint(readToken) {
				t.Errorf("token_fp %v", l["token_fp"])
			}
		})
	}
}

// TestHTTPDuplicateInFlightIDIsAudited: a request whose id is in flight on
// its session is answered with an error (the SDK's) and audited (it was
// not).
func TestHTTPDuplicateInFlightIDIsAudited(t *testing.T) {
	r := newReplica(t, withHTTPSim(vcentersim.Options{ManualTasks: true}))
	in := r.session(opsToken)
	slow := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_vm_snapshot","arguments":{"vm_name":"web-01","snapshot_name":"dup"}}}`
	first := make(chan string, 1)
	go func() {
		_, _, body := r.raw("POST", "/mcp", in, slow)
		first <- body
	}()
	waitUntil(t, "the snapshot task to start", func() bool {
		return r.sim.Counters().Routes["POST /sdk/vim25/{release}/VirtualMachine/{moId}/CreateSnapshotEx_Task"] > 0
	})
	status, _, body := r.raw("POST", "/mcp", in, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami"}}`)
	if status != 400 || !strings.Contains(body, "duplicate in-flight request ID 7") {
		t.Errorf("duplicate: %d %s", status, body)
	}
	r.sim.CompleteTasks()
	if body := <-first; !strings.Contains(body, `"id":7,"result"`) {
		t.Errorf("the first call: %s", body)
	}
	got := map[string]string{}
	for _, l := range r.auditLines() {
		got[l["tool"].(string)] = l["decision"].(string)
	}
	if got["whoami"] != "invalid_request" || got["create_vm_snapshot"] != "allowed" {
		t.Errorf("audit %v", got)
	}
}

// TestHTTPSessionCapPerToken: a token may hold SERVER_MAX_SESSIONS_PER_TOKEN
// live sessions; the next initialize is refused (429) and audited
// denied_capacity, other tokens are not affected, and ending a session
// frees its place. (6,000 initialize calls from one token once grew the
// server from 41 to 105 MB.)
func TestHTTPSessionCapPerToken(t *testing.T) {
	r := newReplica(t, withHTTPConfig(func(c *HTTPConfig) { c.MaxSessionsPerToken = 3 }))
	var open []map[string]string
	for range 3 {
		open = append(open, r.session(readToken))
	}
	auth := map[string]string{"Authorization": "Bearer " + readToken}
	status, hdr, body := r.raw("POST", "/mcp", auth, initializeBody)
	if status != http.StatusTooManyRequests || hdr.Get("Mcp-Session-Id") != "" || !strings.Contains(body, "SERVER_MAX_SESSIONS_PER_TOKEN") || hdr.Get("Retry-After") == "" {
		t.Fatalf("fourth session: %d %v %s", status, hdr, body)
	}
	last := r.auditLines()[len(r.auditLines())-1]
	if last["decision"] != "denied_capacity" || last["tool"] != "initialize" || last["token_fp"] != policy.Fingerprint(readToken) {
		t.Errorf("audit line %v", last)
	}
	r.session(opsToken) // another token is not limited by it
	if status, _, body := r.raw("DELETE", "/mcp", open[0], ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	r.session(readToken) // the freed place
	count := 0
	for range r.srv.Sessions() {
		count++
	}
	if count != 4 {
		t.Errorf("%d live sessions, want 3 of the read token and 1 of ops", count)
	}
}

// TestHTTPReadDeadlineHoldsOnEveryPath: a request that announces a body and
// does not send it is answered and its connection closed once
// SERVER_READ_TIMEOUT_S has passed, on the MCP path (with or without a
// token) and on every other path. Before, the deadline was lifted before
// net/http read the rest of the body, and such requests were never
// answered: 2,000 of them held 40 MB for good.
func TestHTTPReadDeadlineHoldsOnEveryPath(t *testing.T) {
	r := newReplica(t, withServe(t.Context()), withHTTPConfig(func(c *HTTPConfig) { c.ReadTimeout = 300 * time.Millisecond }))
	addr := strings.TrimPrefix(r.url, "http://")
	for _, tt := range []struct {
		name, request string
		status        string // in the answer; "" when the connection may just close
	}{
		{"MCP, with a token", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + readToken + "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{", "408"},
		{"MCP, without a token", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{", "408"},
		{"MCP, an event stream with a body", "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + readToken + "\r\nAccept: text/event-stream\r\nContent-Length: 1000\r\n\r\n", "408"},
		{"health", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n", ""},
		{"another path", "POST /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nab", ""},
		{"headers never end", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tt.request); err != nil {
				t.Fatal(err)
			}
			// The guard: far beyond the 300 ms the server must keep to.
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("the server neither answered nor closed the connection: %v (read %q)", err, b)
			}
			if tt.status != "" && !strings.HasPrefix(string(b), "HTTP/1.1 "+tt.status) {
				t.Errorf("answer %q, want status %s", b, tt.status)
			}
		})
	}
	timeouts := 0
	for _, l := range r.auditLines() {
		if strings.Contains(l["error"].(string), "was not received within 300ms (SERVER_READ_TIMEOUT_S)") && l["decision"] == "invalid_request" {
			timeouts++
		}
	}
	if timeouts != 3 {
		t.Errorf("%d audited read timeouts, want 3 (the MCP path):\n%v", timeouts, r.auditLines())
	}
}

// TestHTTPConnectionCap: beyond SERVER_MAX_CONNECTIONS open connections a
// new one is answered 503 and closed before anything is read from it, and
// audited denied_capacity; once a connection closes, new ones are served.
func TestHTTPConnectionCap(t *testing.T) {
	r := newReplica(t, withServe(t.Context()), withHTTPConfig(func(c *HTTPConfig) { c.MaxConnections = 3 }))
	addr := strings.TrimPrefix(r.url, "http://")
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// Each held connection is accepted before the next: one request on each
	// proves it.
	for _, c := range held {
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("held connection: %v %v", resp, err)
		}
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	_ = over.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(over)
	if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 503") || !strings.Contains(string(b), "connection limit") {
		t.Fatalf("connection over the cap: %q %v", b, err)
	}
	lines := r.auditLines()
	if l := lines[len(lines)-1]; l["decision"] != "denied_capacity" || !strings.Contains(l["error"].(string), "3 connections are open, the most allowed (SERVER_MAX_CONNECTIONS)") {
		t.Errorf("audit line %v", l)
	}
	held[0].Close()
	held = held[1:]
	waitUntil(t, "a new connection to be served", func() bool {
		resp, err := r.http.Get(r.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestHTTPConcurrentInitializesKeepTheCap: initializes racing for the last
// place of a token do not exceed the cap.
func TestHTTPConcurrentInitializesKeepTheCap(t *testing.T) {
	r := newReplica(t, withHTTPConfig(func(c *HTTPConfig) { c.MaxSessionsPerToken = 5 }))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 20 {
		wg.Go(func() {
			status, _, _ := r.raw("POST", "/mcp", map[string]string{"Authorization": "Bearer " + readToken}, initializeBody)
			mu.Lock()
			defer mu.Unlock()
			if status == 200 {
				ok++
			}
		})
	}
	wg.Wait()
	if ok != 5 {
		t.Errorf("%d sessions opened, want the cap of 5", ok)
	}
}

// waitUntil spins until cond holds, failing after a few seconds. It waits
// for a state, not for time to pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(time.Millisecond):
		}
	}
}

// TestHTTPEventStreamsArePrimed: a stateful session's event streams open
// with a priming event (an id, empty data) carrying the retry field
// (SEP-1699), so that a client whose stream breaks knows where and when to
// resume. The go-sdk sends no retry field, and no priming event at all
// without an event store or when the request's header names a version
// older than 2025-11-25; the conformance suite warned about both.
func TestHTTPEventStreamsArePrimed(t *testing.T) {
	r := newReplica(t)
	in := r.session(readToken)
	for _, version := range []string{"2025-11-25", "2025-03-26"} {
		status, hdr, body := r.raw("POST", "/mcp", with(in, "Mcp-Protocol-Version", version), `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"whoami"}}`)
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("header %s: %d %v %s", version, status, hdr, body)
		}
		if !strings.HasPrefix(body, fmt.Sprintf("event: prime\nretry: %d\nid: ", retryMillis)) || !strings.Contains(body, "\ndata: \n\n") {
			t.Errorf("header %s: the stream does not open with a priming event and a retry field:\n%.300s", version, body)
		}
		if !strings.Contains(body, `"id":5,"result"`) {
			t.Errorf("header %s: no result:\n%s", version, body)
		}
	}
	// A client of the SDK reads through the priming event.
	if names := r.mustConnect(readToken, "").toolNames(); len(names) == 0 {
		t.Error("no tools listed")
	}
}
