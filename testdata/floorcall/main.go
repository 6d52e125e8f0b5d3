// Command floorcall is the floor of the per-call benchmarks
// (bench_call_test.go): a go-sdk server over stdio with one tool,
// get_vm_details, that does nothing but answer the CallToolResult stored in
// the file FLOOR_RESULT, the answer the real server gave. What the real
// server takes beyond it is its own work and vCenter's.
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	raw, err := os.ReadFile(os.Getenv("FLOOR_RESULT"))
	if err != nil {
		log.Fatal(err)
	}
	var res mcp.CallToolResult
	if err := json.Unmarshal(raw, &res); err != nil {
		log.Fatal(err)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "floorcall", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "get_vm_details", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return &res, nil })
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatal(err)
	}
}
