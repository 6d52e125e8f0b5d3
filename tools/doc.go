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
//   - investigate.go, performance.go, events.go, alarms.go, tasklist.go:
//     the observability toolset
//   - tags.go: the tags toolset, and the tags of list_vms and get_vm_details
//   - access.go: whoami
//
// prompts.go holds the MCP prompts, offered when the tools they name are
// enabled; entities.go resolves an entity and a time window for the
// observability tools.
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
