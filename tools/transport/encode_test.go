package transport

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// TestEncodeResultIsEncodeMessage: the fast path writes exactly the bytes
// the SDK's encoder writes, and declines what it does not handle.
func TestEncodeResultIsEncodeMessage(t *testing.T) {
	results := []any{
		map[string]any{"content": []any{map[string]any{"type": "text", "text": "a \"quoted\" <b>&amp; é \u2028 line\nbreak"}}},
		map[string]any{"structuredContent": map[string]any{"items": []int{1, 2, 3}, "total": 3}},
		[]any{}, "text", 42, true,
	}
	ids := []any{float64(1), float64(0), float64(-7), float64(1 << 52), "abc", "", "with \"quotes\" and <html>"}
	for _, raw := range ids {
		id, err := jsonrpc.MakeID(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range results {
			data, err := json.Marshal(res) // what the SDK does with a result
			if err != nil {
				t.Fatal(err)
			}
			msg := &jsonrpc.Response{ID: id, Result: data}
			want, err := jsonrpc.EncodeMessage(msg)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := encodeResult(msg)
			if !ok {
				t.Fatalf("id %v, result %s: declined", raw, data)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("id %v:\n got %s\nwant %s", raw, got, want)
			}
		}
	}
	id, _ := jsonrpc.MakeID(float64(3))
	for name, msg := range map[string]jsonrpc.Message{
		"an error":     &jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: -32600, Message: "x"}},
		"no result":    &jsonrpc.Response{ID: id},
		"a line break": &jsonrpc.Response{ID: id, Result: json.RawMessage("{\n}")},
		"no id":        &jsonrpc.Response{Result: json.RawMessage(`{}`)},
		"a request":    &jsonrpc.Request{ID: id, Method: "ping"},
	} {
		if _, ok := encodeResult(msg); ok {
			t.Errorf("%s: encoded by the fast path", name)
		}
	}
}
