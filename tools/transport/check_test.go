package transport

import (
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// TestCheckMessageOneScan covers the branches of checkMessage that decide
// "not JSON" by its one json.Valid scan (what follows walks the bytes
// without checking them): the answer is the one a separate check would
// give, wherever in the message the fault is.
func TestCheckMessageOneScan(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		code       int64
		want       string
	}{
		{"empty", "", jsonrpc.CodeParseError, "not valid JSON"},
		{"blanks", " \t ", jsonrpc.CodeParseError, "not valid JSON"},
		{"a broken batch", `[{"jsonrpc":"2.0"`, jsonrpc.CodeParseError, "not valid JSON"},
		{"a broken string", `"abc`, jsonrpc.CodeParseError, "not valid JSON"},
		{"an object, then garbage", `{"jsonrpc":"2.0","id":1,"method":"ping"}x`, jsonrpc.CodeParseError, "not valid JSON"},
		{"an object, unterminated", `{"jsonrpc":"2.0","id":1,"method":"ping"`, jsonrpc.CodeParseError, "not valid JSON"},
		{"an object, a bad value deep inside", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"a":[1,}}}`, jsonrpc.CodeParseError, "not valid JSON"},
		{"a batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, jsonrpc.CodeInvalidRequest, "batches are not supported"},
		{"a string", `"ping"`, jsonrpc.CodeInvalidRequest, "is an object"},
		{"true", "true", jsonrpc.CodeInvalidRequest, "is an object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, rerr := checkMessage([]byte(tt.line))
			if rerr == nil {
				t.Fatalf("%q accepted", tt.line)
			}
			if rerr.code != tt.code || !strings.Contains(rerr.message, tt.want) {
				t.Errorf("%q: code %d %q, want code %d with %q", tt.line, rerr.code, rerr.message, tt.code, tt.want)
			}
		})
	}
}

// TestCheckMessageToolName: the tool a refused tools/call is audited
// under comes from the one decoding of its parameters, and is what a
// decoding of the name alone gives, even when another member has the
// wrong type.
func TestCheckMessageToolName(t *testing.T) {
	for _, tt := range []struct {
		name, line, tool string
	}{
		{"named", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"power_on_vm"}}`, "power_on_vm"},
		{"clientInfo of the wrong type, before the name", `{"jsonrpc":"2.0","method":"tools/call","params":{"clientInfo":5,"name":"power_on_vm"}}`, "power_on_vm"},
		{"protocolVersion of the wrong type, after the name", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"power_on_vm","_meta":{"a":1},"protocolVersion":7}}`, "power_on_vm"},
		{"a name that is not a string", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":5}}`, "tools/call"},
		{"an empty name", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":""}}`, "tools/call"},
		{"params a list", `{"jsonrpc":"2.0","method":"tools/call","params":["power_on_vm"]}`, "tools/call"},
		{"another method", `{"jsonrpc":"2.0","method":"tools/list","params":{"name":"power_on_vm"}}`, "tools/list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// No id: each is refused as a request without one, which
			// names the tool.
			_, rerr := checkMessage([]byte(tt.line))
			if rerr == nil {
				t.Fatalf("%s accepted", tt.line)
			}
			if rerr.tool != tt.tool {
				t.Errorf("refused under tool %q (%s), want %q", rerr.tool, rerr.message, tt.tool)
			}
		})
	}
}

// TestCheckMessageExactMembers: the parameters' members are found by their
// exact names, as the SDK finds them, each on its own. A "Name" or a
// "_META" is no member checkMessage reads (encoding/json's struct
// decoding, which it used, matches names without regard to case), the
// protocol version in _meta marks the 2026-07-28 protocol for every
// method, and a member of the wrong type spoils no other.
func TestCheckMessageExactMembers(t *testing.T) {
	const newMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	for _, tt := range []struct {
		name, line  string
		refused     string // what the refusal says, or "" when let through
		tool        string // in.tool, or the refusal's tool
		newProtocol bool
		client      string
		version     string
	}{
		{"a name in capitals", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"NAME":"power_on_vm"}}`, `needs "params.name"`, "tools/call", false, "", ""},
		{"both spellings", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_vm_details","Name":"delete_vm"}}`, "", "get_vm_details", false, "", ""},
		{"a call of the new protocol", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms",` + newMeta + `}}`, "", "list_vms", true, "", ""},
		{"a list of the new protocol", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + newMeta + `}}`, "", "", true, "", ""},
		{"the version key in capitals", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","_meta":{"IO.MODELCONTEXTPROTOCOL/PROTOCOLVERSION":"2026-07-28"}}}`, "", "list_vms", false, "", ""},
		{"_meta in capitals on a call", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","_META":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, "", "list_vms", false, "", ""},
		{"_meta in capitals, of the wrong type", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_META":5}}`, "", "", false, "", ""},
		{"_meta of the wrong type", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":5}}`, `"params._meta" must be an object`, "tools/list", false, "", ""},
		{"an initialize", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"claude-code","version":"2.1"},"capabilities":{}}}`, "", "", false, "claude-code", "2025-11-25"},
		{"an initialize with capabilities of the wrong type", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"claude-code","version":"2.1"},"capabilities":7}}`, "", "", false, "claude-code", "2025-11-25"},
		{"an initialize with a version of the wrong type", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":7,"clientInfo":{"name":"claude-code"}}}`, "", "", false, "claude-code", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, rerr := checkMessage([]byte(tt.line))
			switch {
			case tt.refused != "" && rerr == nil:
				t.Fatalf("let through, want a refusal saying %q", tt.refused)
			case tt.refused != "":
				if !strings.Contains(rerr.message, tt.refused) || rerr.tool != tt.tool {
					t.Errorf("refused under %q: %s; want under %q, saying %q", rerr.tool, rerr.message, tt.tool, tt.refused)
				}
				return
			case rerr != nil:
				t.Fatalf("refused: %s", rerr.message)
			}
			if in.tool != tt.tool || in.newProtocol != tt.newProtocol || in.client.Name != tt.client || in.protocolVersion != tt.version {
				t.Errorf("tool %q, new protocol %v, client %q, version %q; want %q, %v, %q, %q",
					in.tool, in.newProtocol, in.client.Name, in.protocolVersion, tt.tool, tt.newProtocol, tt.client, tt.version)
			}
		})
	}
}
