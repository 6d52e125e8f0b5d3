package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sdkWire is what the SDK's jsonrpc2 layer writes for a result: an encoder
// without HTML escaping, its newline trimmed.
func sdkWire(t testing.TB, r any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// TestWireFormIsTheSDKs: a result written by wireForm reaches the wire as the
// same bytes the SDK's own marshalling writes, and results of another form
// (or of the sessionless protocol, which the SDK changes after the
// middleware) are left to the SDK.
func TestWireFormIsTheSDKs(t *testing.T) {
	marshal := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	text := func(s string) []mcp.Content { return []mcp.Content{&mcp.TextContent{Text: s}} }
	odd := "a \"quoted\" <b>&amp; é \u2028 \u2029 tab\t nul\x00 bad\xff\xfe line\nbreak \\ /"
	out := marshal(map[string]any{"items": []string{odd, "<script>", "x&y"}, "total": 3})
	newProtocol := &mcp.CallToolParamsRaw{Meta: mcp.Meta{mcp.MetaKeyProtocolVersion: "2026-07-28"}}
	cases := []struct {
		name   string
		r      *mcp.CallToolResult
		params *mcp.CallToolParamsRaw
		fast   bool
	}{
		{"text and structured content", &mcp.CallToolResult{Content: text(string(out)), StructuredContent: out}, nil, true},
		{"text only", &mcp.CallToolResult{Content: text(odd)}, nil, true},
		{"an error", &mcp.CallToolResult{Content: text("VM is powered on: power it off first"), IsError: true}, &mcp.CallToolParamsRaw{Name: "x"}, true},
		{"empty text", &mcp.CallToolResult{Content: text("")}, nil, true},
		{"a page", &mcp.CallToolResult{Content: text(`{"total":0}`), StructuredContent: json.RawMessage(`{"total":0,"returned":0,"items":[]}`)}, nil, true},
		{"other params meta", &mcp.CallToolResult{Content: text("x")}, &mcp.CallToolParamsRaw{Meta: mcp.Meta{"progressToken": 1}}, true},
		{"structured content with raw HTML", &mcp.CallToolResult{Content: text("x"), StructuredContent: json.RawMessage(`{"a":"<b>"}`)}, nil, false},
		{"structured content with U+2028", &mcp.CallToolResult{Content: text("x"), StructuredContent: json.RawMessage("{\"a\":\"\u2028\"}")}, nil, false},
		{"structured content not compact", &mcp.CallToolResult{Content: text("x"), StructuredContent: json.RawMessage("{ \"a\" : [1, 2] }")}, nil, true},
		{"structured content as a map", &mcp.CallToolResult{Content: text("x"), StructuredContent: map[string]any{"a": 1}}, nil, false},
		{"result meta", &mcp.CallToolResult{Meta: mcp.Meta{"k": "v<>", "a": []int{1}}, Content: text("x")}, nil, true},
		{"two blocks", &mcp.CallToolResult{Content: append(text("x"), &mcp.TextContent{Text: "y"})}, nil, false},
		{"annotated", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x", Annotations: &mcp.Annotations{Priority: 1}}}}, nil, false},
		{"block meta", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x", Meta: mcp.Meta{"k": 1}}}}, nil, false},
		{"an image", &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{Data: []byte("png"), MIMEType: "image/png"}}}, nil, false},
		{"no content", &mcp.CallToolResult{}, nil, false},
		{"request state", &mcp.CallToolResult{Content: text("x"), RequestState: "s"}, nil, false},
		// The SDK changes these after the middleware: written by wireForm
		// only with the server's identity (TestWireFormOnTheWire).
		{"sessionless protocol, no server identity", &mcp.CallToolResult{Content: text(string(out)), StructuredContent: out}, newProtocol, false},
	}
	for _, c := range cases {
		want := sdkWire(t, c.r)
		res := wireForm(c.r, c.params, nil)
		if _, fast := res.(*wireResult); fast != c.fast {
			t.Errorf("%s: written by wireForm = %v, want %v", c.name, fast, c.fast)
		}
		if got := sdkWire(t, res); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
	if res := wireForm(nil, nil, nil); res.(*mcp.CallToolResult) != nil {
		t.Errorf("nil result became %v", res)
	}
}

// FuzzWireForm: for any text and structured content we could marshal, the
// bytes on the wire are the SDK's.
func FuzzWireForm(f *testing.F) {
	f.Add("plain", "vm-42", false)
	f.Add("<b>&\u2028\u2029\"\\\x00\xff", "é\t\n", true)
	f.Fuzz(func(t *testing.T, text, name string, isError bool) {
		sc, err := json.Marshal(map[string]any{"name": name, "items": []string{text, name}})
		if err != nil {
			t.Skip()
		}
		for _, r := range []*mcp.CallToolResult{
			{Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: json.RawMessage(sc), IsError: isError},
			{Content: []mcp.Content{&mcp.TextContent{Text: text}}, IsError: isError},
		} {
			want := sdkWire(t, r)
			if got := sdkWire(t, wireForm(r, nil, nil)); !bytes.Equal(got, want) {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		}
	})
}

// TestPageWireJSONIsMarshal: a page written from the JSON paginate kept is
// json.Marshal of the page, for full, cut, last and empty pages and for
// items whose JSON needs escapes; and a struct embedding a page (more fields)
// or a page whose items were replaced is marshalled in full.
func TestPageWireJSONIsMarshal(t *testing.T) {
	d := Deps{pages: newPageCache(4, time.Minute)}
	items := make([]vmItem, 2500)
	for i := range items {
		items[i] = vmItem{ID: fmt.Sprintf("vm-%d", i), Name: fmt.Sprintf("web <%d> & \u2028 \"q\" é", i), PowerState: "POWERED_ON", CPUs: i % 7, MemoryMiB: int64(i) << 10}
	}
	items[7].Name = strings.Repeat("long", 20000) // a page cut at its first item
	fetch := func() ([]vmItem, error) { return items, nil }
	pages, cursor := 0, ""
	for {
		p, _, err := paginate(d, "k", pageArgs{Limit: 1000, Cursor: cursor}, fetch)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(p)
		got, err := marshalOutput(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("page %d: err %v\n got %.300s\nwant %.300s", pages, err, got, want)
		}
		if _, _, ok := p.wireJSON(); !ok {
			t.Errorf("page %d (%d items) was marshalled again", pages, p.Returned)
		}
		pages++
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if pages < 4 {
		t.Errorf("%d pages, want the cut ones too", pages)
	}
	empty, _, err := paginate(d, "e", pageArgs{}, func() ([]vmItem, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := marshalOutput(empty); string(got) != `{"total":0,"returned":0,"items":[]}` {
		t.Errorf("empty page = %s", got)
	}
	p, _, _ := paginate(d, "k", pageArgs{Limit: 3}, fetch)
	type withTotals struct {
		Sum int `json:"sum"`
		page[vmItem]
	}
	w := withTotals{Sum: 9, page: p}
	if got, want := mustMarshalOutput(t, w), mustJSON(t, w); got != want || !strings.Contains(got, `"sum":9`) {
		t.Errorf("embedding page:\n got %s\nwant %s", got, want)
	}
	p.Items = []vmItem{{ID: "vm-1"}, {ID: "vm-2"}, {ID: "vm-3"}}
	if got, want := mustMarshalOutput(t, p), mustJSON(t, p); got != want {
		t.Errorf("replaced items:\n got %s\nwant %s", got, want)
	}
}

func mustMarshalOutput(t *testing.T, v any) string {
	t.Helper()
	b, err := marshalOutput(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWireFormOnTheWire: every tool result reaches the client as the same
// bytes whether wireForm wrote it or the SDK marshalled it, on both
// protocols (the sessionless one completes results after the middleware).
// Each call is made twice in one session, the second time with a
// middleware outside ours that hands the SDK the result itself.
func TestWireFormOnTheWire(t *testing.T) {
	for _, protocol := range []string{"", "2025-11-25", "2025-06-18"} {
		t.Run("protocol="+protocol, func(t *testing.T) {
			var (
				mu     sync.Mutex
				log    bytes.Buffer
				viaSDK atomic.Bool
				fast   atomic.Int64
			)
			s := newSession(t, withProtocol(protocol), withServerTransport(func(srv *mcp.Server, tr mcp.Transport) mcp.Transport {
				srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
					return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
						res, err := next(ctx, method, req)
						if w, ok := res.(*wireResult); ok {
							fast.Add(1)
							if viaSDK.Load() {
								return w.CallToolResult, err
							}
						}
						return res, err
					}
				})
				return recorder{tr, lockedWriter{&mu, &log}}
			}))
			results := func() []string {
				mu.Lock()
				defer mu.Unlock()
				var out []string
				for line := range strings.SplitSeq(log.String(), "\n") {
					msg, ok := strings.CutPrefix(line, "write: ")
					var m struct {
						Result json.RawMessage `json:"result"`
					}
					if ok && json.Unmarshal([]byte(msg), &m) == nil && bytes.Contains(m.Result, []byte(`"content"`)) {
						out = append(out, string(m.Result))
					}
				}
				log.Reset()
				return out
			}
			calls := []struct {
				name string
				args map[string]any
			}{
				{"list_vms", map[string]any{"limit": 3}},
				{"list_vms", map[string]any{"names": []string{"<no such VM> & \u2028"}}},
				{"get_vm_details", map[string]any{"vm_id": "vm-76"}},
				{"get_vm_details", map[string]any{"vm_id": "vm-999999"}}, // an error result
				{"delete_vm", map[string]any{"vm_id": "vm-82"}},          // a preview
				{"list_hosts", nil},
				{"whoami", nil},
			}
			for _, c := range calls {
				viaSDK.Store(false)
				s.call(c.name, c.args)
				ours := results()
				viaSDK.Store(true)
				s.call(c.name, c.args)
				sdk := results()
				if len(ours) != 1 || len(sdk) != 1 {
					t.Fatalf("%s: %d and %d results logged", c.name, len(ours), len(sdk))
				}
				if ours[0] != sdk[0] {
					t.Errorf("%s %v:\n ours %.400s\n  sdk %.400s", c.name, c.args, ours[0], sdk[0])
				}
			}
			if fast.Load() != int64(2*len(calls)) {
				t.Errorf("wireForm wrote %d of %d results", fast.Load(), 2*len(calls))
			}
		})
	}
}

// recorder is a transport that logs each message its side writes, as
// "write: " and the message's JSON, before it is sent (so a result is in
// the log by the time the client has it).
type recorder struct {
	mcp.Transport
	w io.Writer
}

func (r recorder) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := r.Transport.Connect(ctx)
	return recordingConn{c, r.w}, err
}

type recordingConn struct {
	mcp.Connection
	w io.Writer
}

func (c recordingConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.w, "write: %s\n", data)
	return c.Connection.Write(ctx, msg)
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
