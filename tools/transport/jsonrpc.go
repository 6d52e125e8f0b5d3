package transport

// This file checks one inbound JSON-RPC message before the go-sdk sees it,
// for both transports. The SDK's own reader ends the whole session (and
// over stdio, the process, with exit 0) on the first message it cannot
// decode, answers a duplicate in-flight id with an id-less error nobody
// can match, and answers a call before initialize with error code 0; none
// of these reached the audit log. Here every such message gets the
// JSON-RPC error it deserves (-32700 or -32600, id null where the id is not
// known), and the caller audits it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
)

// rpcError is the JSON-RPC error answer to a refused message, and what the
// audit line says of it.
type rpcError struct {
	id      jsonrpc.ID // the zero ID answers with "id": null
	code    int64
	message string // for the client; never echoes the message beyond its id
	tool    string // the tool of a tools/call, else the method, as far as known
}

func (e *rpcError) Error() string { return fmt.Sprintf("JSON-RPC %d: %s", e.code, e.message) }

// encode renders the error response, one line without its newline.
func (e *rpcError) encode() []byte {
	var id any
	if e.id.IsValid() {
		id = e.id.Raw()
	}
	b, _ := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      any    `json:"id"`
		Error   struct {
			Code    int64  `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}{e.code, e.message}})
	return b
}

// inbound is what checkMessage learnt of a message it let through.
type inbound struct {
	msg    jsonrpc.Message
	method string       // "" for a response
	call   bool         // a request with an id
	tool   string       // params.name of a tools/call
	client audit.Client // params.clientInfo of an initialize
	// newProtocol marks a request of the 2026-07-28 protocol (per-request
	// metadata), which needs no initialize.
	newProtocol bool
	// protocolVersion is params.protocolVersion of an initialize.
	protocolVersion string
}

// maxSafeID bounds numeric ids: the SDK decodes them through float64, so a
// larger one would be answered with another id.
const maxSafeID = 1 << 53

// checkMessage checks one message (a line of stdio, a POST body): valid
// UTF-8 JSON, one JSON-RPC 2.0 object (no batch), no key twice outside the
// tool arguments (those are the middleware's: a duplicate there is an
// invalid_args tool result), an id that is a string or an integer, a
// method that is a string, an id exactly when the method is a request, and
// tools/call parameters the SDK can decode.
func checkMessage(data []byte) (inbound, *rpcError) { return reader{}.check(data) }

func (r reader) check(data []byte) (inbound, *rpcError) {
	data = bytes.TrimRight(data, " \t\r\n")
	parseErr := func(why string) (inbound, *rpcError) {
		return inbound{}, &rpcError{code: jsonrpc.CodeParseError, message: "parse error: " + why}
	}
	invalid := func(id jsonrpc.ID, tool, why string) (inbound, *rpcError) {
		return inbound{}, &rpcError{id: id, code: jsonrpc.CodeInvalidRequest, message: "invalid request: " + why, tool: tool}
	}
	const notJSON = "the message is not valid JSON (one JSON-RPC object per line)"
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return parseErr("the message starts with a byte order mark; send UTF-8 JSON without one")
	case !utf8.Valid(data):
		return parseErr("the message is not valid UTF-8")
	}
	// One scan by json.Valid validates the message, trailing data included;
	// what follows walks bytes known to be JSON.
	switch trimmed := bytes.TrimLeft(data, " \t"); {
	case len(trimmed) == 0 || !json.Valid(data):
		return parseErr(notJSON)
	case trimmed[0] == '[':
		return invalid(jsonrpc.ID{}, "", "JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send one message at a time")
	case trimmed[0] != '{':
		return invalid(jsonrpc.ID{}, "", "a JSON-RPC message is an object")
	}
	m := r.members(data)
	id, idErr := r.messageID(m)
	if idErr != "" {
		return invalid(jsonrpc.ID{}, "", idErr)
	}
	if path, dup := tools.DuplicateKeyOfValid(data, "params.arguments"); dup {
		return invalid(jsonrpc.ID{}, "", path+" appears twice; send each member once")
	}
	if string(m["jsonrpc"]) != `"2.0"` {
		return invalid(id, "", `"jsonrpc" must be "2.0"`)
	}
	in := inbound{call: id.IsValid()}
	rawMethod, isRequest := m["method"]
	if !isRequest {
		// A response to a request of the server (elicitation, ping).
		_, hasResult := m["result"]
		_, hasError := m["error"]
		if !id.IsValid() || hasResult == hasError {
			return invalid(id, "", "neither a request (no method) nor a response (an id and one of result or error)")
		}
		msg, err := jsonrpc.DecodeMessage(data)
		if err != nil {
			return invalid(id, "", "the response could not be decoded")
		}
		in.msg = msg
		return in, nil
	}
	if err := r.str(rawMethod, &in.method); err != nil {
		return invalid(id, "", `"method" must be a string`)
	}
	// The parameters, read once, into their members by exact name, as
	// the SDK matches them (a struct decoding by encoding/json would also
	// take "Name" or "NAME" for the name, and audit a tool the SDK would not
	// call). Only an object has members; each is read on its own, so that
	// one of the wrong type leaves the others as they are.
	p, hasParams := m["params"]
	var pm map[string]json.RawMessage
	if hasParams {
		switch k := firstByte(p); {
		case k == '{':
			pm = r.members(p)
		case k != '[' && string(p) != "null":
			return invalid(id, shortMethod(in.method), `"params" must be an object`)
		}
	}
	rawName, named := pm["name"]
	named = named && firstByte(rawName) == '"'
	var name string
	if named && in.method == "tools/call" {
		_ = r.str(rawName, &name)
	}
	tool := shortMethod(in.method)
	if name != "" {
		tool = name
	}
	// MCP names its notifications notifications/…; everything else is a
	// request and needs an id to be answered.
	notification := strings.HasPrefix(in.method, "notifications/")
	switch {
	case notification && in.call:
		return invalid(id, tool, in.method+" is a notification and takes no id")
	case !notification && !in.call:
		return invalid(jsonrpc.ID{}, tool, in.method+" is a request and needs an id")
	}
	if pm != nil {
		meta, ok := pm["_meta"]
		if ok && firstByte(meta) != '{' && string(meta) != "null" {
			return invalid(id, tool, `"params._meta" must be an object`)
		}
		if in.method == "tools/call" {
			if !named {
				return invalid(id, tool, `tools/call needs "params.name", the tool's name as a string`)
			}
			if r.decodeOnly || !onlyCallMembers(pm) {
				// A member the SDK's type may take (encoding/json matches
				// "Name" or "ARGUMENTS" to its fields too) could make the
				// SDK refuse the call: found out by decoding.
				var ctp mcp.CallToolParamsRaw
				if err := json.Unmarshal(p, &ctp); err != nil {
					return invalid(id, tool, "the tools/call parameters could not be decoded")
				}
			}
			in.tool = name
		}
		if firstByte(meta) == '{' {
			_, in.newProtocol = r.members(meta)[mcp.MetaKeyProtocolVersion]
		}
		if raw, ok := pm["clientInfo"]; ok && firstByte(raw) == '{' {
			var ci mcp.Implementation
			if json.Unmarshal(raw, &ci) == nil {
				in.client = audit.Client{Name: truncate(ci.Name, 64), Version: truncate(ci.Version, 32)}
			}
		}
		if raw, ok := pm["protocolVersion"]; ok && in.method == "initialize" && firstByte(raw) == '"' {
			_ = r.str(raw, &in.protocolVersion)
		}
	} else if in.method == "tools/call" {
		return invalid(id, tool, `tools/call needs "params.name", the tool's name as a string`)
	}
	// What jsonrpc.DecodeMessage makes of a request, from the parts read
	// above: it would decode the whole message once more, with a 32 KiB
	// buffer.
	in.msg = &jsonrpc.Request{ID: id, Method: in.method, Params: m["params"]}
	return in, nil
}

// onlyCallMembers reports whether the tools/call parameters pm have no
// members but a string name, an object or null _meta, and arguments: those
// the SDK's CallToolParamsRaw decodes whatever their value (arguments are
// raw JSON).
func onlyCallMembers(pm map[string]json.RawMessage) bool {
	for k, v := range pm {
		switch k {
		case "name":
			if firstByte(v) != '"' {
				return false
			}
		case "_meta":
			if b := firstByte(v); b != '{' && string(v) != "null" {
				return false
			}
		case "arguments":
		default:
			return false
		}
	}
	return true
}

// messageID returns the id of m (the zero ID when absent), or why it is
// not one: MCP ids are strings or integers, never null.
func (r reader) messageID(m map[string]json.RawMessage) (jsonrpc.ID, string) {
	raw, ok := m["id"]
	if !ok {
		return jsonrpc.ID{}, ""
	}
	switch firstByte(raw) {
	case '"':
		var s string
		if err := r.str(raw, &s); err != nil {
			return jsonrpc.ID{}, `"id" must be a string or an integer`
		}
		id, _ := jsonrpc.MakeID(s)
		return id, ""
	case 'n':
		return jsonrpc.ID{}, `"id" must be a string or an integer, not null`
	case '{', '[', 't', 'f':
		return jsonrpc.ID{}, `"id" must be a string or an integer`
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeID {
		return jsonrpc.ID{}, fmt.Sprintf(`"id" must be a string or an integer between -%d and %d`, int64(maxSafeID), int64(maxSafeID))
	}
	id, _ := jsonrpc.MakeID(f)
	return id, ""
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// shortMethod is a method name fit for an audit line's tool field.
func shortMethod(m string) string { return truncate(m, 64) }

// idString renders an id for a sentence.
func idString(id jsonrpc.ID) string {
	b, _ := json.Marshal(id.Raw())
	return truncate(string(b), 80)
}
