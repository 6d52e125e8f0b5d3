package tools

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type adapterIn struct {
	Limit int    `json:"limit,omitempty"`
	Name  string `json:"vm_name,omitempty"`
}

type adapterOut struct {
	B string `json:"b"`
	A int    `json:"a"`
}

// TestRawHandlerDoesWhatTheGenericOneDid: the untyped registration decodes
// arguments as the SDK did (5.0 is the integer 5), turns a handler error
// into an error result keeping the error (a *jsonrpc.Error stays a protocol
// error), and marshals the output once into StructuredContent and text.
func TestRawHandlerDoesWhatTheGenericOneDid(t *testing.T) {
	in, err := jsonschema.For[adapterIn](nil)
	if err != nil {
		t.Fatal(err)
	}
	var got adapterIn
	fail := error(nil)
	h := rawHandler(func() *jsonschema.Schema { return in }, func(_ context.Context, _ *mcp.CallToolRequest, a adapterIn) (*mcp.CallToolResult, adapterOut, error) {
		got = a
		return nil, adapterOut{B: "x", A: 1}, fail
	})
	call := func(args string) (*mcp.CallToolResult, error) {
		got = adapterIn{}
		ctx := context.WithValue(context.Background(), callKey{}, &callState{})
		return h(ctx, &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "t", Arguments: json.RawMessage(args)}})
	}
	for args, want := range map[string]adapterIn{
		``: {}, `null`: {}, `{}`: {}, `{"limit":5}`: {Limit: 5}, `{"limit":5.0}`: {Limit: 5}, `{"limit":1e2,"vm_name":"a"}`: {Limit: 100, Name: "a"},
	} {
		res, err := call(args)
		if err != nil || res.IsError || got != want {
			t.Errorf("args %q: got %+v, %v, %v; want %+v", args, got, res, err, want)
			continue
		}
		if s := string(res.StructuredContent.(json.RawMessage)); s != `{"b":"x","a":1}` || ResultText(res) != s {
			t.Errorf("args %q: structured %s, text %q", args, s, ResultText(res))
		}
	}
	for _, bad := range []string{`{"limit":"5"}`, `{"LIMIT":5}`, `{"limit":5,"limit":6}`, `[1]`} {
		if res, _ := call(bad); !res.IsError || !errors.As(res.GetError(), new(*argError)) || got != (adapterIn{}) {
			t.Errorf("args %s: %v, handler saw %+v; want an invalid-arguments result", bad, res, got)
		}
	}
	fail = errors.New("boom")
	if res, err := call(`{}`); err != nil || !res.IsError || ResultText(res) != "boom" || !errors.Is(res.GetError(), fail) {
		t.Errorf("handler error: %v, %v", res, err)
	}
	fail = &jsonrpc.Error{Code: 1, Message: "wire"}
	if res, err := call(`{}`); res != nil || !errors.Is(err, fail) {
		t.Errorf("protocol error: %v, %v", res, err)
	}
}
