package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// FuzzStdioFraming feeds any bytes to the stdio transport as its stdin,
// answering every request it delivers as the SDK would. Whatever the
// input: no panic; stdin is read to its end (no bad line ends the session);
// every line written to stdout is one JSON-RPC response, and each refusal
// is a -32700 or -32600 error; nothing delivered came from a line over the
// limit; no request id is delivered twice while in flight.
func FuzzStdioFraming(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "garbage\n", "{\n", "\xff\xfe\n", "\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n",
		"null\n", "[]\n", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n", "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}\n", "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"list_vms\"}}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\",\"params\":{}}\n{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/list\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"method\":\"x\"}\n", "{\"jsonrpc\":\"2.0\",\"id\":1e300,\"method\":\"ping\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n", "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"" + string(bytes.Repeat([]byte("x"), 600)) + "\"}}\n",
	} {
		f.Add([]byte(seed))
	}
	const maxLine = 512
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		st := &Stdio{In: bytes.NewReader(data), Out: &out, MaxLine: maxLine}
		conn, err := st.Connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		inflight := map[jsonrpc.ID]bool{}
		for {
			msg, err := conn.Read(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			b, err := jsonrpc.EncodeMessage(msg)
			if err != nil {
				t.Fatalf("a delivered message does not encode: %v", err)
			}
			if len(b) > 2*maxLine+64 {
				t.Fatalf("delivered a %d-byte message, limit %d", len(b), maxLine)
			}
			if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
				if inflight[req.ID] {
					t.Fatalf("id %v delivered twice while in flight", req.ID.Raw())
				}
				inflight[req.ID] = true
				// Answer some at once, as the SDK would; keep the others in
				// flight until the end.
				if len(inflight)%2 == 1 {
					if err := conn.Write(context.Background(), &jsonrpc.Response{ID: req.ID, Result: json.RawMessage(`{}`)}); err != nil {
						t.Fatal(err)
					}
					delete(inflight, req.ID)
				}
			}
			if len(inflight) > 0 && len(data) > 0 {
				// The end of stdin waits for in-flight answers.
				for id := range inflight {
					if err := conn.Write(context.Background(), &jsonrpc.Response{ID: id, Result: json.RawMessage(`{}`)}); err != nil {
						t.Fatal(err)
					}
					delete(inflight, id)
				}
			}
		}
		if err := st.Err(); err != nil {
			t.Fatalf("Err = %v", err)
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r struct {
				JSONRPC string          `json:"jsonrpc"`
				Result  json.RawMessage `json:"result"`
				Error   *struct {
					Code int64 `json:"code"`
				} `json:"error"`
			}
			var members map[string]json.RawMessage
			_, hasID := members["id"]
			if json.Unmarshal(sc.Bytes(), &members) == nil {
				_, hasID = members["id"]
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.JSONRPC != "2.0" || !hasID || (r.Error == nil) == (r.Result == nil) {
				t.Fatalf("stdout line is not a JSON-RPC response: %q", sc.Text())
			}
			if r.Error != nil && r.Error.Code != jsonrpc.CodeParseError && r.Error.Code != jsonrpc.CodeInvalidRequest {
				t.Fatalf("refusal with code %d", r.Error.Code)
			}
		}
	})
}
