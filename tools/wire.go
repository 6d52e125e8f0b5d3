package tools

import (
	"bytes"
	"encoding/json"
	"maps"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A tool result is marshalled by the SDK's jsonrpc2 layer once the
// middleware returns it: CallToolResult.MarshalJSON marshals a wire struct,
// whose text block and structured content are each compacted, and the
// whole is compacted again by the encoder that wraps it — four passes over
// a page of 1000 VMs (~200 kB), half of the server's time for such a page.
// The common result (one text block, structured content we marshalled,
// nothing else) is instead written here once, to the same bytes, and the
// encoder's one compaction is all that is left.

// U+2028 and U+2029 in UTF-8.
var lineSep, paraSep = []byte("\u2028"), []byte("\u2029")

// wireResult is a result with its JSON already made.
type wireResult struct {
	*mcp.CallToolResult
	wire []byte
}

// MarshalJSON returns the JSON made by [wireForm].
func (w *wireResult) MarshalJSON() ([]byte, error) { return w.wire, nil }

// wireForm returns r ready to be written, or r itself when its form is not
// the common one. For a request of the sessionless protocol (2026-07-28)
// it writes what the SDK adds to such a result after the middleware: the
// server's identity in _meta (set in r too, so that the SDK finds it there
// and leaves r alone) and resultType "complete".
func wireForm(r *mcp.CallToolResult, params *mcp.CallToolParamsRaw, server *mcp.Implementation) mcp.Result {
	if r == nil || r.InputRequests != nil || r.RequestState != "" || len(r.Content) != 1 {
		return r
	}
	t, ok := r.Content[0].(*mcp.TextContent)
	if !ok || t.Meta != nil || t.Annotations != nil {
		return r
	}
	var sc json.RawMessage
	switch v := r.StructuredContent.(type) {
	case nil:
	case json.RawMessage:
		// json.Marshal writes a RawMessage with <, >, & and U+2028/9
		// escaped; what we marshalled has them escaped already, anything
		// else goes the SDK's way.
		if len(v) == 0 || bytes.ContainsAny(v, "<>&") || bytes.Contains(v, lineSep) || bytes.Contains(v, paraSep) {
			return r
		}
		sc = v
	default:
		return r
	}
	sessionless := false
	if params != nil {
		// As the SDK tells the protocols apart (validateRequestMeta).
		v, ok := params.Meta[mcp.MetaKeyProtocolVersion].(string)
		sessionless = ok && v >= protocolSessionless
	}
	var meta []byte
	if sessionless {
		if server == nil {
			return r
		}
		if _, ok := r.Meta[mcp.MetaKeyServerInfo]; !ok {
			m := make(mcp.Meta, len(r.Meta)+1)
			maps.Copy(m, r.Meta)
			m[mcp.MetaKeyServerInfo] = server
			r.Meta = m
		}
	}
	if len(r.Meta) > 0 {
		var err error
		if meta, err = json.Marshal(r.Meta); err != nil {
			return r
		}
	}
	text, err := json.Marshal(t.Text) // as TextContent.MarshalJSON writes it
	if err != nil {
		return r
	}
	b := make([]byte, 0, len(meta)+len(text)+len(sc)+128)
	b = append(b, '{')
	if meta != nil {
		b = append(append(append(b, `"_meta":`...), meta...), ',')
	}
	b = append(append(b, `"content":[{"type":"text","text":`...), text...)
	b = append(b, "}]"...)
	if sc != nil {
		b = append(append(b, `,"structuredContent":`...), sc...)
	}
	if r.IsError {
		b = append(b, `,"isError":true`...)
	}
	if sessionless {
		b = append(b, `,"resultType":"complete"`...)
	}
	return &wireResult{CallToolResult: r, wire: append(b, '}')}
}

// protocolSessionless is the first protocol version whose requests carry
// it in _meta, and whose results the SDK completes after the middleware.
const protocolSessionless = "2026-07-28"
