package transport

import (
	"bytes"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// TestCheckedRequestIsDecodeMessage: the request checkMessage hands the SDK
// is the one jsonrpc.DecodeMessage makes of the same line.
func TestCheckedRequestIsDecodeMessage(t *testing.T) {
	for _, line := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_vms","arguments":{"limit":3}}}`,
		`{"jsonrpc":"2.0","id":"abc","method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":"","method":"tools/list","params":null}`,
		`{"jsonrpc":"2.0","id":-7,"method":"ping","params":{}}`,
		`{"jsonrpc":"2.0","id":9007199254740992,"method":"tools/list","params":{ "cursor" : "x" }}`,
		`{"jsonrpc":"2.0","id":3.0,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1e3,"method":"tools/list"}`,
		` {"params":{"name":"whoami","_meta":{"progressToken":1}},"method":"tools/call","id":"\u00e9\"q","jsonrpc":"2.0"} `,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`,
		`{"jsonrpc":"2.0","method":"ping","id":5,"params":[]}`,
	} {
		in, rerr := checkMessage([]byte(line))
		if rerr != nil {
			t.Fatalf("%s: refused: %v", line, rerr)
		}
		want, err := jsonrpc.DecodeMessage([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got, ok := in.msg.(*jsonrpc.Request)
		w := want.(*jsonrpc.Request)
		if !ok || got.ID != w.ID || got.Method != w.Method || !bytes.Equal(got.Params, w.Params) || (got.Params == nil) != (w.Params == nil) {
			t.Errorf("%s:\n got %#v\nwant %#v", line, in.msg, want)
		}
	}
}
