// Command floor is the cold-start floor of BenchmarkStartup: a go-sdk
// server with one tool over stdio, and nothing else.
package main

import (
	"context"
	"log"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type in struct {
	VMID string `json:"vm_id" jsonschema:"the VM"`
}

type out struct {
	Name string `json:"name"`
}

func main() {
	srv := mcp.NewServer(&mcp.Implementation{Name: "floor", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "get_vm", Description: "Get a VM."}, func(context.Context, *mcp.CallToolRequest, in) (*mcp.CallToolResult, out, error) {
		return nil, out{Name: "vm"}, nil
	})
	if err := srv.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatal(err)
	}
}
