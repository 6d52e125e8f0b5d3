// Access tools tell the caller what it may do. Inverse: none (read-only).

package tools

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

type whoamiIn struct{}

type whoamiOut struct {
	Role         string   `json:"role"`
	TokenFP      string   `json:"token_fp,omitempty"` // fingerprint of the token, never the token
	Toolsets     []string `json:"toolsets"`           // enabled on this server
	AllowedTools []string `json:"allowed_tools"`
	VCenter      string   `json:"vcenter"` // default vCenter host
	AllowedHosts []string `json:"allowed_hosts"`
	APIMode      string   `json:"api_mode"`
	ReadOnly     bool     `json:"read_only"`
	Version      string   `json:"version"`
}

func whoami(d Deps) Tool {
	return spec[whoamiIn, whoamiOut]{
		Name: "whoami", Title: "Who am I",
		Description: "This session's role, enabled toolsets, allowed tools, vCenter, API mode, read-only flag, version.",
		Toolset:     ToolsetAccess, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "none (answers from the server's own configuration)"},
		Example:    `{}`,
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, _ whoamiIn) (*mcp.CallToolResult, whoamiOut, error) {
			id := identityOf(ctx)
			access := d.Access(id)
			out := whoamiOut{
				Role: access.Role, TokenFP: access.TokenFP, Toolsets: access.Toolsets, AllowedTools: access.Tools,
				AllowedHosts: d.Hosts, ReadOnly: access.ReadOnly, Version: d.Version,
			}
			if out.AllowedHosts == nil {
				out.AllowedHosts = []string{}
			}
			if vc, err := connect(ctx, d, ""); err == nil {
				out.VCenter, out.APIMode = vc.Host(), string(vc.Mode())
			}
			return nil, out, nil
		},
	}.tool()
}
