package tools

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestClientOfMatchesTheSDK: the audit's client, read from _meta without
// the SDK's re-encoding, is what ServerRequest.ClientInfo says, for plain
// and unusual values alike.
func TestClientOfMatchesTheSDK(t *testing.T) {
	for _, meta := range []map[string]any{
		nil,
		{mcp.MetaKeyClientInfo: map[string]any{"name": "claude", "version": "1.2"}},
		{mcp.MetaKeyClientInfo: map[string]any{"name": "claude", "version": "1.2", "title": "Claude"}},
		{mcp.MetaKeyClientInfo: map[string]any{"name": "claude", "version": "1.2", "icons": []any{map[string]any{"src": "x"}}}},
		{mcp.MetaKeyClientInfo: map[string]any{"name": 7, "version": "1.2"}},
		{mcp.MetaKeyClientInfo: map[string]any{"Name": "other", "version": "1.2"}},
		{mcp.MetaKeyClientInfo: map[string]any{"name": "claude"}},
		{mcp.MetaKeyClientInfo: "claude"},
		{mcp.MetaKeyClientInfo: &mcp.Implementation{Name: "typed", Version: "3"}},
	} {
		req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "whoami", Meta: meta}}
		var want struct{ name, version string }
		if ci := req.ClientInfo(); ci != nil {
			want.name, want.version = ci.Name, ci.Version
		}
		got := clientOf(req)
		if got.Name != want.name || got.Version != want.version {
			t.Errorf("meta %v: client %+v, the SDK says %+v", meta, got, want)
		}
	}
}
