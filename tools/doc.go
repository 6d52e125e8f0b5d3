// Package tools is the MCP layer of vsphere-mcp-pro: the catalogue of tools
// and the adapter between MCP requests and policy, audit and vCenter.
//
// A tool is one declaration, a [spec] in its domain file, listed once in
// [All]:
//
//   - vms.go, inventory.go, summaries.go: the inventory toolset
//   - power.go: power and guest power
//   - snapshots.go: VM snapshots
//   - hardware.go (resize) and vms.go (delete): the lifecycle toolset
//   - access.go: whoami
//
// Shared by the domain files: args.go (argument types), resolve.go (one VM
// resolver, filter names to ids), lists.go and pages.go (paged lists),
// tasks.go (following vCenter tasks), confirm.go (the only code that
// branches on confirm), errors.go (errors with a next step), schema.go.
//
// The pipeline in front of every tool is [Middleware] (middleware.go):
// identity.go says who calls, ledger.go keeps the state of calls and of
// questions waiting for the user, scrub.go removes secrets from results,
// recover.go turns panics into results. Policy decides (package policy); the
// middleware enforces and records what it returned (package audit).
//
// The transports (stdio in main, Streamable HTTP in tools/transport) serve
// the server [NewServer] builds. Only this package tree and main import the
// MCP SDK.
package tools
