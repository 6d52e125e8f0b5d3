package transport

import (
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// walkCorpus holds messages whose parts a walk of the bytes could read
// otherwise than encoding/json decodes them: escapes in keys and strings,
// white space everywhere, brackets and quotes inside strings, keys beyond
// ASCII, members in another case, the SDK's other call members, and every
// kind of refusal.
var walkCorpus = []string{
	`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{}},"roots":{"listChanged":true}},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"arguments":{"vm_id":"vm-76"},"name":"get_vm_details"}}`,
	` { "jsonrpc" : "2.0" , "id" : 1 , "method" : "tools/call" , "params" : { "name" : "list_vms" , "arguments" : { "limit" : 3 } , "_meta" : null } } `,
	"{\t\"jsonrpc\":\"2.0\",\r\n\"id\":\"a\",\"method\":\"tools/list\",\"params\":{\"cursor\":\"x\"}\n}",
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_vm_details","arguments":{"vm_id":"vm-1","x":["}","{",{"\"]":"\\"}]}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"delete_vm","arguments":{}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_vm","n\u0061me":"list_vms"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"dele\u0074e_vm"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"list_vms"}}`,
	`{"jsonrpc":"2.0","id":"\u00e9\"q","method":"tools/call","params":{"name":"whoami"}}`,
	`{"jsonrpc":"2.0","id":"é","method":"ping"}`,
	`{"jsonr\u0070c":"2.0","\u0069d":3,"m\u0065thod":"ping","p\u0061rams":{}}`,
	`{"jsonrpc":"2.0","id":3,"méthode":"ping","method":"ping"}`,
	`{"jsonrpc":"2\u002e0","id":3,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","_meta":{"io.modelcontextprotocol\/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","_META":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","_m\u0065ta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","Name":5}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","ARGUMENTS":5}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","inputResponses":{"a":{}},"requestState":"s"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","inputResponses":5}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","requestState":7}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","extra":[1,2,{"a":null}],"arguments":null}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":[]}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`,
	`{"jsonrpc":"2.0","id":1,"method":7}`,
	`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":-0,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1e3,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":[1],"method":"ping"}`,
	`{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"a \"b\" {c}"}}`,
	`{"jsonrpc":"2.0","id":4,"method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","method":"tools/list"}`,
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"claude-code","version":"2.1"},"capabilities":{}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025\u002d11-25","clientInfo":{"n\u0061me":"cl\u00e9"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":7,"clientInfo":5}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":5}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"a":1,"a":2}}}`,
	`{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"confirm":false,"confirm":true}}}`,
	`{"jsonrpc":"2.0","id":1,"result":{}}`,
	`{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}`,
	`{"jsonrpc":"2.0","id":1,"result":{},"error":{}}`,
	`{"jsonrpc":"2.0","result":{}}`,
	`{"jsonrpc":"1.0","id":1,"method":"ping"}`,
	`{"id":1,"method":"ping"}`,
	`{}`,
	`{"jsonrpc":"2.0","id":1,"method":"ping"}garbage`,
	`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
	`"ping"`,
	``,
	"\xef\xbb\xbf{}",
	"{\"a\":\"\xff\"}",
}

// outcome is everything checkMessage decides of a message, as text.
func outcome(in inbound, rerr *rpcError) string {
	if rerr != nil {
		return fmt.Sprintf("refused id=%v code=%d tool=%q: %s", rerr.id.Raw(), rerr.code, rerr.tool, rerr.message)
	}
	var msg string
	switch m := in.msg.(type) {
	case *jsonrpc.Request:
		msg = fmt.Sprintf("request id=%v method=%q params=%q nil=%v", m.ID.Raw(), m.Method, m.Params, m.Params == nil)
	case *jsonrpc.Response:
		msg = fmt.Sprintf("response id=%v result=%q error=%v", m.ID.Raw(), m.Result, m.Error)
	default:
		msg = fmt.Sprintf("%T", m)
	}
	return fmt.Sprintf("%s method=%q call=%v tool=%q client=%+v new=%v version=%q",
		msg, in.method, in.call, in.tool, in.client, in.newProtocol, in.protocolVersion)
}

// TestCheckMessageWalkIsDecode: checkMessage reads a message's members by
// walking its bytes where it can; it comes to exactly the answer that
// decoding every part with encoding/json gives.
func TestCheckMessageWalkIsDecode(t *testing.T) {
	walked := 0
	for _, line := range walkCorpus {
		in, rerr := checkMessage([]byte(line))
		got := outcome(in, rerr)
		want := outcome(reader{decodeOnly: true}.check([]byte(line)))
		if got != want {
			t.Errorf("%s\n walked:  %s\n decoded: %s", line, got, want)
		}
		if rerr == nil {
			if _, ok := plainMembers([]byte(line)); ok {
				walked++
			}
		}
	}
	if walked < 20 { // the comparison must cover the walk, not only its fallback
		t.Errorf("only %d messages were let through by a walk", walked)
	}
}

// FuzzCheckMessageWalk is TestCheckMessageWalkIsDecode on any input.
func FuzzCheckMessageWalk(f *testing.F) {
	for _, line := range walkCorpus {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := outcome(checkMessage(data))
		want := outcome(reader{decodeOnly: true}.check(data))
		if got != want {
			t.Errorf("%q\n walked:  %s\n decoded: %s", data, got, want)
		}
	})
}
