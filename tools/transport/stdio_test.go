package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// stdioServer is the real server and middleware on a Stdio transport over
// pipes, as main wires it for stdio.
type stdioServer struct {
	t     *testing.T
	sim   *vcentersim.Server
	audit *syncBuffer
	st    *Stdio
	in    *io.PipeWriter
	out   *bufio.Reader
	done  chan error // Run's result
}

func newStdioServer(t *testing.T, simOpts vcentersim.Options, maxLine int) *stdioServer {
	t.Helper()
	sim := vcentersim.NewServer(simOpts)
	t.Cleanup(sim.Close)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CACertPEM())
	pool, err := vcenter.NewPool(vcenter.Config{
		Host: sim.Host(), User: sim.User(), Password: sim.Password(), Mode: vcenter.ModeAPI, RootCAs: roots,
		MaxBackoff: time.Millisecond, TaskPollInterval: time.Millisecond, Log: zerolog.Nop(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	approver, err := policy.NewApprover(nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var pol *policy.Policy
	deps := tools.Deps{
		VCenter: func(h string) (tools.VCenter, error) { return pool.Get(h) }, Hosts: pool.Hosts(),
		Access: func(id policy.Identity) policy.Access { return pol.Describe(id) }, Approver: approver, Log: zerolog.Nop(),
	}
	catalog := tools.All(deps)
	if pol, _, err = policy.New(policy.Config{}, tools.Policies(catalog), tools.ToolsetOptions(policy.Options{Rate: policy.Rate{Enabled: true, RPS: 1000, Burst: 1000}})); err != nil {
		t.Fatal(err)
	}
	id, err := pol.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	mw, err := tools.NewMiddleware(tools.MiddlewareConfig{
		Policy: pol, Audit: audit.New(buf), Approver: approver, Catalog: catalog, Identify: tools.LaunchIdentity(id),
		VCenter: pool.Default(), Log: zerolog.Nop(), ApprovalTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := tools.NewServer(catalog, mw, tools.ServerOptions{Version: "test"})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &stdioServer{t: t, sim: sim, audit: buf, in: inW, out: bufio.NewReaderSize(outR, 1<<20), done: make(chan error, 1)}
	s.st = &Stdio{In: inR, Out: outW, MaxLine: maxLine, Audit: mw, Identity: id, Log: zerolog.Nop()}
	go func() {
		s.done <- srv.Run(context.Background(), s.st)
		outW.Close()
	}()
	t.Cleanup(func() {
		inW.Close()
		mw.Close()
		_ = pool.Close(context.Background())
	})
	return s
}

// send writes raw bytes to the server's stdin.
func (s *stdioServer) send(b string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, b); err != nil {
		s.t.Fatal(err)
	}
}

// reply reads the next line of stdout, which must be a JSON-RPC message.
func (s *stdioServer) reply() map[string]any {
	s.t.Helper()
	line, err := s.out.ReadBytes('\n')
	if err != nil {
		s.t.Fatalf("stdout: %v (read %q)", err, line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil || m["jsonrpc"] != "2.0" {
		s.t.Fatalf("stdout line is not JSON-RPC: %q", line)
	}
	return m
}

func (s *stdioServer) auditLines() []map[string]any {
	s.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.audit.String()), "\n") {
		var m map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			s.t.Fatalf("audit line %q: %v", line, err)
		}
		if _, header := m["audit_header"]; !header {
			out = append(out, m)
		}
	}
	return out
}

const stdioInit = `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stdio-test","version":"1"}}}` + "\n" +
	`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"

// TestStdioAnswersBadLinesAndKeepsServing: every line that is not a valid
// JSON-RPC message for this server gets its JSON-RPC error on stdout and
// one invalid_request audit line, and the session goes on. The go-sdk's
// own reader ended the session at the first of them (and the process with
// exit 0).
func TestStdioAnswersBadLinesAndKeepsServing(t *testing.T) {
	s := newStdioServer(t, vcentersim.Options{}, 4096)
	s.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms"}}` + "\n")
	if r := s.reply(); r["id"] != 1.0 || errCode(r) != -32600 || !strings.Contains(errMessage(r), "before initialize") {
		t.Fatalf("call before initialize: %v", r)
	}
	s.send(stdioInit)
	if r := s.reply(); r["id"] != "init" || r["result"] == nil {
		t.Fatalf("initialize: %v", r)
	}
	for _, tt := range []struct {
		name, line string
		code       int
		id         any // nil: "id": null
		want       string
	}{
		{"garbage", "garbage", -32700, nil, "not valid JSON"},
		{"open brace", "{", -32700, nil, "not valid JSON"},
		{"invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"p\xffing\"}", -32700, nil, "not valid UTF-8"},
		{"byte order mark", "\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}", -32700, nil, "byte order mark"},
		{"two values", `{"jsonrpc":"2.0","id":4,"method":"ping"} {}`, -32700, nil, "not valid JSON"},
		{"null", "null", -32600, nil, "is an object"},
		{"empty batch", "[]", -32600, nil, "batches are not supported"},
		{"batch", `[{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","id":6,"method":"ping"}]`, -32600, nil, "batches are not supported"},
		{"a number", "42", -32600, nil, "is an object"},
		{"JSON-RPC 1.0", `{"jsonrpc":"1.0","id":7,"method":"ping"}`, -32600, 7.0, `"jsonrpc" must be "2.0"`},
		{"no version", `{"id":8,"method":"ping"}`, -32600, 8.0, `"jsonrpc" must be "2.0"`},
		{"object id", `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, -32600, nil, `"id" must be a string or an integer`},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, -32600, nil, "not null"},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, -32600, nil, "an integer"},
		{"huge id", `{"jsonrpc":"2.0","id":1e300,"method":"ping"}`, -32600, nil, "an integer"},
		{"method not a string", `{"jsonrpc":"2.0","id":9,"method":7}`, -32600, 9.0, `"method" must be a string`},
		{"neither request nor response", `{"jsonrpc":"2.0","id":10}`, -32600, 10.0, "neither a request"},
		{"duplicate key", `{"jsonrpc":"2.0","id":11,"method":"ping","method":"tools/call"}`, -32600, nil, `"method" appears twice`},
		{"duplicate id", `{"jsonrpc":"2.0","id":12,"id":13,"method":"ping"}`, -32600, nil, `"id" appears twice`},
		{"tools/call without an id", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"whoami"}}`, -32600, nil, "needs an id"},
		{"notification with an id", `{"jsonrpc":"2.0","id":14,"method":"notifications/initialized"}`, -32600, 14.0, "takes no id"},
		{"tools/call name not a string", `{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":5}}`, -32600, 15.0, `"params.name"`},
		{"tools/call params a list", `{"jsonrpc":"2.0","id":16,"method":"tools/call","params":["whoami"]}`, -32600, 16.0, `"params.name"`},
		{"params a string", `{"jsonrpc":"2.0","id":17,"method":"tools/list","params":"x"}`, -32600, 17.0, `"params" must be an object`},
		{"line over the limit", `{"jsonrpc":"2.0","id":18,"method":"ping","params":{"x":"` + strings.Repeat("x", 10_000) + `"}}`, -32600, nil, "larger than 4096 bytes"},
		{"unknown method (the SDK's answer)", `{"jsonrpc":"2.0","id":19,"method":"vcenter/format"}`, -32601, 19.0, "method not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.auditLines())
			s.send(tt.line + "\n")
			r := s.reply()
			if errCode(r) != tt.code || r["id"] != tt.id || !strings.Contains(errMessage(r), tt.want) {
				t.Errorf("answer %v, want code %d, id %v, message with %q", r, tt.code, tt.id, tt.want)
			}
			if _, has := r["id"]; !has {
				t.Errorf("answer without an id member: %v", r)
			}
			lines := s.auditLines()
			if len(lines) != before+1 {
				t.Fatalf("%d new audit lines, want 1", len(lines)-before)
			}
			if l := lines[len(lines)-1]; l["decision"] != "invalid_request" || l["ok"] != false || !strings.Contains(l["error"].(string), "stdio: ") {
				t.Errorf("audit line %v", l)
			}
			// Still serving.
			s.send(`{"jsonrpc":"2.0","id":"after","method":"ping"}` + "\n")
			if r := s.reply(); r["id"] != "after" || r["result"] == nil {
				t.Fatalf("ping after the bad line: %v", r)
			}
		})
	}
	s.send(`{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"list_datacenters"}}` + "\n")
	if r := s.reply(); r["id"] != 20.0 || r["result"] == nil {
		t.Fatalf("a tool call after the bad lines: %v", r)
	}
	if l := s.auditLines(); l[len(l)-1]["tool"] != "list_datacenters" || l[len(l)-1]["decision"] != "allowed" {
		t.Errorf("last audit line %v", l[len(l)-1])
	}
	s.in.Close()
	if err := <-s.done; err != nil && !errors.Is(err, io.EOF) {
		t.Errorf("Run: %v", err)
	}
	if err := s.st.Err(); err != nil {
		t.Errorf("Err after a clean end = %v", err)
	}
}

// TestStdioDuplicateInFlightID: a request whose id is still in flight is
// answered with an error carrying that id (the SDK drops it silently: its
// error has no id) and audited; the first request completes.
func TestStdioDuplicateInFlightID(t *testing.T) {
	s := newStdioServer(t, vcentersim.Options{ManualTasks: true}, 0)
	s.send(stdioInit)
	s.reply()
	s.send(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_vm_snapshot","arguments":{"vm_name":"web-01","snapshot_name":"dup"}}}` + "\n")
	// Wait until the snapshot task exists, so that call 7 is in flight.
	for deadline := time.Now().Add(10 * time.Second); s.sim.Counters().Routes["POST /sdk/vim25/{release}/VirtualMachine/{moId}/CreateSnapshotEx_Task"] == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the snapshot task was not started: %v", s.sim.Counters().Routes)
		}
		runtime.Gosched()
	}
	s.send(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami"}}` + "\n")
	r := s.reply()
	if r["id"] != 7.0 || errCode(r) != -32600 || !strings.Contains(errMessage(r), "already in use") {
		t.Fatalf("duplicate: %v", r)
	}
	s.sim.CompleteTasks()
	if r := s.reply(); r["id"] != 7.0 || r["result"] == nil {
		t.Fatalf("the first call 7: %v", r)
	}
	got := map[string]string{}
	for _, l := range s.auditLines() {
		got[l["tool"].(string)] = l["decision"].(string)
	}
	if got["whoami"] != "invalid_request" || got["create_vm_snapshot"] != "allowed" || len(got) != 2 {
		t.Errorf("audit %v", got)
	}
}

// TestStdioIDIsFreeOnceAnswered: an id may be used again as soon as its
// answer is read (JSON-RPC only forbids two in flight at once); the id is
// released before the answer is written, not after.
func TestStdioIDIsFreeOnceAnswered(t *testing.T) {
	s := newStdioServer(t, vcentersim.Options{}, 0)
	s.send(stdioInit)
	s.reply()
	for i := range 300 {
		s.send(`{"jsonrpc":"2.0","id":"again","method":"ping"}` + "\n")
		if r := s.reply(); r["id"] != "again" || r["result"] == nil {
			t.Fatalf("ping %d with the id of the last answered one: %v", i, r)
		}
	}
}

// TestStdioEndOfInputAnswersWhatWasAsked: `echo '{…}' | vsphere-mcp-pro`
// gets its answers: the end of stdin is passed on only once every request
// read has been answered (the SDK writes nothing after it).
func TestStdioEndOfInputAnswersWhatWasAsked(t *testing.T) {
	s := newStdioServer(t, vcentersim.Options{}, 0)
	s.send(stdioInit + `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_datacenters"}}` + "\n" +
		`{"jsonrpc":"2.0","id":3,"method":"tools/list"}` + "\n")
	s.in.Close()
	ids := map[any]bool{}
	for range 3 {
		r := s.reply()
		if r["result"] == nil {
			t.Errorf("answer %v", r)
		}
		ids[r["id"]] = true
	}
	if !ids["init"] || !ids[2.0] || !ids[3.0] {
		t.Errorf("answered %v", ids)
	}
	if err := <-s.done; err != nil && !errors.Is(err, io.EOF) {
		t.Errorf("Run: %v", err)
	}
}

// TestStdioLongLineIsNotHeld: a line far over the limit is skipped as it
// streams in, never held whole.
func TestStdioLongLineIsNotHeld(t *testing.T) {
	const size = 64 << 20
	big := io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"`), &repeater{b: 'x', n: size},
		strings.NewReader("\"}}\n"+`{"jsonrpc":"2.0","id":2,"method":"ping"}`+"\n"))
	var out bytes.Buffer
	st := &Stdio{In: big, Out: &out, MaxLine: 1 << 20}
	conn, err := st.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	msg, err := conn.Read(context.Background())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if req, ok := msg.(*jsonrpc.Request); !ok || req.ID.Raw() != int64(2) {
		t.Errorf("the message after the long line = %#v", msg)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 8<<20 {
		t.Errorf("reading past a %d MiB line allocated %d MiB", size>>20, grown>>20)
	}
	if !strings.Contains(out.String(), "larger than 1048576 bytes") {
		t.Errorf("stdout %q", out.String())
	}
}

// TestStdioWriteFailureEndsTheSession: a client that stops reading stdout
// ends the session with an error the caller can report (exit 1), not a
// clean end.
func TestStdioWriteFailureEndsTheSession(t *testing.T) {
	inR, inW := io.Pipe()
	st := &Stdio{In: inR, Out: failWriter{}}
	conn, err := st.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(inW, "garbage\n") }() // answered with an error: the write fails
	if _, err := conn.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("Read after the failed write = %v, want EOF", err)
	}
	if err := st.Err(); err == nil || !strings.Contains(err.Error(), "write stdout") {
		t.Errorf("Err = %v", err)
	}
	if _, err := st.Connect(context.Background()); err == nil {
		t.Error("a second Connect succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// repeater yields n copies of b.
type repeater struct {
	b byte
	n int
}

func (r *repeater) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func errCode(r map[string]any) int {
	e, _ := r["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

func errMessage(r map[string]any) string {
	e, _ := r["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}
