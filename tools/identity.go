package tools

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// IdentifyFunc resolves the caller of one MCP request. Over stdio every
// request comes from the user who launched the server ([LaunchIdentity]);
// over HTTP each request brings its own bearer token.
type IdentifyFunc func(ctx context.Context, req mcp.Request) (policy.Identity, error)

// LaunchIdentity identifies every request as id: the identity the launch
// token (VSPHERE_MCP_TOKEN) resolved to at start.
func LaunchIdentity(id policy.Identity) IdentifyFunc {
	return func(context.Context, mcp.Request) (policy.Identity, error) { return id, nil }
}
