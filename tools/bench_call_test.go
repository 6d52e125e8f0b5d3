package tools

import (
	"context"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkGetVMDetailsCall is one get_vm_details through the whole tools
// path in process (in-memory MCP client and server, middleware, audit, the
// vCenter client and the simulator, caches warm): run it with -benchmem
// for the allocations per call (the simulator's own included).
//
//	go test -run '^$' -bench BenchmarkGetVMDetailsCall -benchmem ./tools
func BenchmarkGetVMDetailsCall(b *testing.B) {
	s := newSession(b)
	params := &mcp.CallToolParams{Name: "get_vm_details", Arguments: map[string]any{"vm_id": "vm-76"}}
	if res, err := s.cs.CallTool(context.Background(), params); err != nil || res.IsError {
		b.Fatal(err, res)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, err := s.cs.CallTool(context.Background(), params); err != nil || res.IsError {
			b.Fatal(err, res)
		}
	}
}
