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
//
// The rate limit is lifted far above what a run sends: the harness's
// default (1000 calls a second, a burst of 1000) refused calls past the
// thousandth, which -benchtime 3000x reaches in under a second.
func BenchmarkGetVMDetailsCall(b *testing.B) {
	s := newSession(b, withRate(1e9, 1<<30))
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
