package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ServerOptions configures [NewServer].
type ServerOptions struct {
	Version string
	// Log receives the SDK's own diagnostics.
	Log *slog.Logger
}

// NewServer returns the MCP server: the tools policy enables registered
// behind the middleware, and instructions for the model. Every transport
// (stdio, HTTP, the in-process client of the call and tools subcommands)
// serves this same server.
func NewServer(catalog []Tool, mw *Middleware, opts ServerOptions) *mcp.Server {
	var enabled []Tool
	for _, t := range catalog {
		if mw.policy.Enabled(t.Def.Name) {
			enabled = append(enabled, t)
		}
	}
	caps := &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}}
	ps := enabledPrompts(mw.policy.Enabled) // prompts.go
	if len(ps) > 0 {
		caps.Prompts = &mcp.PromptCapabilities{}
	}
	mw.server = &mcp.Implementation{Name: "vsphere-mcp-pro", Title: "vSphere MCP Pro", Version: opts.Version}
	srv := mcp.NewServer(mw.server, &mcp.ServerOptions{
		Instructions: Instructions(enabled),
		Logger:       opts.Log,
		// No logging capability: MCP client logging is deprecated; the
		// server logs to stderr.
		Capabilities: caps,
	})
	for _, p := range ps {
		srv.AddPrompt(p.def, p.handler)
	}
	// Tools outside the enabled toolsets are not registered at all (each
	// costs start-up time); policy still answers a call to one, since the
	// middleware runs before the SDK looks the name up.
	Register(srv, enabled)
	mw.Install(srv)
	return srv
}

// Instructions is what the server tells the model in its initialize result:
// how names, previews and paging work, and which tool answers which
// question, for the toolsets of the enabled tools. It stays under 2 kB.
func Instructions(enabled []Tool) string {
	on := map[Toolset]bool{}
	for _, t := range enabled {
		on[t.Toolset] = true
	}
	var b strings.Builder
	b.WriteString("Tools for VMware vCenter, limited to this session's role (whoami tells which). " +
		"Names: VM tools take vm_id (like vm-42) or the exact vm_name; an ambiguous name returns the candidates and changes nothing: call again with vm_id. " +
		"List filters (hosts, clusters, datacenters, folders, resource_pools) take names or ids. " +
		"Paging: lists return total, returned and next_cursor; pass next_cursor back as cursor with the same filters; limit is 1-1000 (default 100). " +
		"Changes: a tool that needs confirmation returns a preview (target, current state, exact change) and changes nothing; show it to the user and call again with confirm: true only after they agree; dry_run: true previews a change that acts at once. " +
		"Errors say what failed and end with the next step. When several vCenters are allowed, every tool takes hostname.")
	for _, ts := range toolsets {
		if on[ts.Name] && ts.Guide != "" {
			b.WriteString(" ")
			b.WriteString(ts.Guide)
		}
	}
	return b.String()
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
