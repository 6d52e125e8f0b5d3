package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// This file registers a typed tool with the SDK's untyped Server.AddTool
// instead of the generic mcp.AddTool, which resolves both schemas of every
// tool at start-up (a third of it), validates each call's arguments a third
// time (validateArgs has, in the middleware and here) and validates our own
// typed output by unmarshalling and re-marshalling it. What the generic
// handler did for a call is done here once, the same way: arguments
// validated and decoded as the SDK decoded them, a handler error made an
// error result (a *jsonrpc.Error stays a protocol error), the output
// marshalled once into StructuredContent and, when the handler set no
// content, a text block of the same JSON.

// rawHandler adapts a typed handler to the SDK's untyped one.
func rawHandler[In, Out any](input func() *jsonschema.Schema, h mcp.ToolHandlerFor[In, Out]) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		// The middleware has validated these arguments already; a handler
		// reached another way (a test, a future transport), or with other
		// arguments, validates them itself.
		if !argsChecked(ctx, req.Params.Arguments) {
			if err := validateArgs(req.Params.Arguments, input()); err != nil {
				return toolError(err), nil
			}
		}
		markArgsValid(ctx)
		args, err := decodeArgs[In](req.Params.Arguments)
		if err != nil {
			return toolError(err), nil
		}
		res, out, err := h(ctx, req, args)
		if err != nil {
			if wire, ok := err.(*jsonrpc.Error); ok { //nolint:errorlint // as the SDK: only the error itself is a protocol error
				return nil, wire
			}
			return toolError(err), nil
		}
		if res == nil {
			res = &mcp.CallToolResult{}
		}
		if res.InputRequests != nil { // an elicitation: no content with it
			return res, nil
		}
		b, err := marshalOutput(out)
		if err != nil {
			return nil, fmt.Errorf("marshaling output: %w", err)
		}
		res.StructuredContent = json.RawMessage(b)
		switch {
		case res.Content == nil:
			res.Content = []mcp.Content{&mcp.TextContent{Text: string(b)}}
		case len(b) == 0 || b[0] != '{':
			res.Content = append(res.Content, &mcp.TextContent{Text: string(b)})
		}
		return res, nil
	}
}

// wireJSONer is an output that can write its own json.Marshal form from
// JSON it already made (a page: see [page.wireJSON]). It returns itself, so
// that a struct embedding it (whose JSON has more fields) is told apart.
type wireJSONer interface {
	wireJSON() (self any, b []byte, ok bool)
}

// marshalOutput is json.Marshal(out).
func marshalOutput(out any) ([]byte, error) {
	if w, ok := out.(wireJSONer); ok {
		if self, b, ok := w.wireJSON(); ok && reflect.TypeOf(self) == reflect.TypeOf(out) {
			return b, nil
		}
	}
	return json.Marshal(out)
}

// toolError is err as the SDK makes a handler's error: an error result
// whose GetError is err itself (callState.final reads its type).
func toolError(err error) *mcp.CallToolResult {
	var r mcp.CallToolResult
	r.SetError(err)
	return &r
}

// decodeArgs decodes validated arguments as the SDK did: field names
// exactly (sdkUnmarshal), and when a value does not decode
// as it stands (5.0 for an integer) through a map, re-marshalled, as the
// SDK's validation left them. Nothing, or null, is the zero value.
func decodeArgs[In any](raw json.RawMessage) (In, error) {
	var in In
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return in, nil
	}
	if err := sdkUnmarshal(raw, &in); err == nil {
		return in, nil
	}
	in = *new(In)
	m := map[string]any{}
	if err := sdkUnmarshal(raw, &m); err != nil {
		return in, fmt.Errorf("validating \"arguments\": unmarshaling arguments: %w", err)
	}
	again, err := json.Marshal(m)
	if err != nil {
		return in, fmt.Errorf("validating \"arguments\": marshalling with defaults: %w", err)
	}
	err = sdkUnmarshal(again, &in)
	return in, err
}

// sdkUnmarshal decodes arguments as the SDK's decoder did (go-sdk
// internal/json, which matches field names case-sensitively): the
// arguments have passed validateArgs, which refuses every name that is not
// exactly one of the tool's, so encoding/json's case-insensitive matching
// never applies, and no decoder with a 32 KiB read buffer is needed.
func sdkUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
