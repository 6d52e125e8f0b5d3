package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// instructions tell the model how this server's tools fit together.
const instructions = "Tools for VMware vCenter. When several vCenters are allowed, every tool takes an optional hostname (default: the configured one). " +
	"VM tools take vm_id (like vm-42, from list_vms) or the exact vm_name; an ambiguous name returns the candidates: call again with vm_id. " +
	"List filters (hosts, clusters, datacenters, folders, resource_pools, datastores) take names or ids. " +
	"Lists are paged: limit 1-1000 (default 100); pass next_cursor back as cursor with the same filters. " +
	"Tools that need confirmation return a preview and change nothing until called again with confirm: true after the user agrees. " +
	"whoami shows what this session may do."

// NewServer returns the MCP server with the catalogue registered behind the
// guard. Every transport (stdio, HTTP, the in-process client of the call
// and tools subcommands) serves this same server.
func NewServer(version string, catalog []Tool, g *Guard, log *slog.Logger) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "vsphere-mcp-pro", Title: "vSphere MCP Pro", Version: version}, &mcp.ServerOptions{
		Instructions: instructions,
		Logger:       log,
		// No logging capability: MCP client logging is deprecated; the
		// server logs to stderr.
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
	})
	Register(srv, catalog)
	srv.AddReceivingMiddleware(g.Audit, g.Recover, g.Enforce) // outermost first: one call, see Guard
	return srv
}

// Local is an in-process client of the server, for the call and tools
// subcommands: they go through the same middleware as any client.
type Local struct {
	cs *mcp.ClientSession
	ss *mcp.ServerSession
}

// ConnectLocal connects an in-memory client to srv.
func ConnectLocal(ctx context.Context, srv *mcp.Server, version string) (*Local, error) {
	ct, st := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		return nil, fmt.Errorf("connect the server: %w", err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "vsphere-mcp-pro-cli", Version: version}, nil)
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		ss.Close()
		return nil, fmt.Errorf("connect the client: %w", err)
	}
	return &Local{cs: cs, ss: ss}, nil
}

// Call runs one tool with the given JSON arguments (nil for none).
func (l *Local) Call(ctx context.Context, name string, args json.RawMessage) (*mcp.CallToolResult, error) {
	var a any
	if len(args) > 0 {
		a = args
	}
	return l.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: a})
}

// Tools lists the tools this session may call.
func (l *Local) Tools(ctx context.Context) ([]*mcp.Tool, error) {
	var out []*mcp.Tool
	for t, err := range l.cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Close ends both sessions.
func (l *Local) Close() {
	l.cs.Close()
	l.ss.Close()
}
