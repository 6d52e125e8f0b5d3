package tools

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// Tool is one entry of the catalogue: the MCP definition, what policy needs
// to know of it, and how to register it on a server.
type Tool struct {
	Def *mcp.Tool
	// Level is the least default role that includes the tool.
	Level policy.Level
	// Confirm marks a tool that changes nothing without confirm: true (or
	// the user's approval through elicitation). It is separate from the
	// destructiveHint annotation: power_off_vm has the hint, not the flag.
	Confirm bool
	add     func(*mcp.Server)
}

// Policy describes the tool to the policy package.
func (t Tool) Policy() policy.Tool {
	return policy.Tool{
		Name:        t.Def.Name,
		ReadOnly:    t.Def.Annotations.ReadOnlyHint,
		Destructive: t.Def.Annotations.DestructiveHint != nil && *t.Def.Annotations.DestructiveHint,
		Confirm:     t.Confirm,
		Level:       t.Level,
	}
}

// VCenter is every vCenter call the tools make; *vcenter.Client implements
// it. Each domain file declares the part it uses.
type VCenter interface {
	Host() string
	Mode() vcenter.Mode
	vmAPI
	powerAPI
	hardwareAPI
	snapshotAPI
	inventoryAPI
}

// Deps is what the tools need from the process.
type Deps struct {
	// VCenter returns the client for hostname, or the default vCenter for
	// "". It refuses hosts outside ALLOWED_VCENTER_HOSTS.
	VCenter func(hostname string) (VCenter, error)
	// Hosts lists the allowed vCenter hosts (for whoami).
	Hosts []string
	// Access answers whoami's "what may I do" for an identity.
	Access func(policy.Identity) policy.Access
	// Approver signs and checks elicitation approvals.
	Approver *policy.Approver
	Version  string
	Log      zerolog.Logger
	// ProgressEvery is the minimum time between two progress notifications.
	ProgressEvery time.Duration
	// pages caches list results between pages of one listing.
	pages *pageCache
}

// All returns the catalogue in product order. Nothing registers itself:
// this list is the single place a tool is added.
func All(d Deps) []Tool {
	d.pages = newPageCache(8, 2*time.Minute)
	constructors := []func(Deps) Tool{
		// Inventory.
		listVMs,
		getVMDetails,
		listHosts,
		listDatastores,
		listNetworks,
		listDatacenters,
		listClusters,
		listResourcePools,
		listFolders,
		getDatastoreUsage,
		getResourceUtilizationSummary,
		// Power.
		powerOnVM,
		powerOffVM,
		restartVM,
		suspendVM,
		shutdownVMGuest,
		rebootVMGuest,
		// Snapshots.
		listVMSnapshots,
		createVMSnapshot,
		revertVMSnapshot,
		deleteVMSnapshot,
		// Lifecycle and hardware.
		deleteVM,
		modifyVMResources,
		// Access.
		whoami,
	}
	// Each constructor infers its schemas by reflection; they are
	// independent, so they run side by side (start-up time).
	catalog := make([]Tool, len(constructors))
	var wg sync.WaitGroup
	for i, build := range constructors {
		wg.Go(func() {
			catalog[i] = build(d)
			hostnameArg(catalog[i].Def, d.Hosts)
		})
	}
	wg.Wait()
	return catalog
}

// hostnameArg offers the hostname argument only where there is a choice:
// with several allowed vCenters it lists them as an enum; with one it is
// left out, as it could only name the default.
func hostnameArg(def *mcp.Tool, hosts []string) {
	in := def.InputSchema.(*jsonschema.Schema)
	if len(hosts) < 2 {
		delete(in.Properties, "hostname")
		return
	}
	p := in.Properties["hostname"]
	if p == nil { // whoami reports every host instead
		return
	}
	p.Enum = make([]any, len(hosts))
	for i, h := range hosts {
		p.Enum[i] = h
	}
}

// Policies describes the catalogue to the policy package.
func Policies(catalog []Tool) []policy.Tool {
	out := make([]policy.Tool, len(catalog))
	for i, t := range catalog {
		out[i] = t.Policy()
	}
	return out
}

// Register adds every tool of the catalogue to srv. Which tools a caller
// sees and may call is decided per request by [Guard].
//
// The SDK resolves and checks every schema as a tool is added, which is
// most of the server's start-up time, so the tools are added from one
// goroutine per CPU (adding is safe for concurrent use); tools/list orders
// them by name whatever the order of adding.
func Register(srv *mcp.Server, catalog []Tool) {
	var wg sync.WaitGroup
	next := make(chan Tool)
	for range min(runtime.GOMAXPROCS(0), len(catalog)) {
		wg.Go(func() {
			for t := range next {
				t.add(srv)
			}
		})
	}
	for _, t := range catalog {
		next <- t
	}
	close(next)
	wg.Wait()
}

// kind is what a tool does to vCenter, which fixes its annotations.
type kind int

const (
	kindRead        kind = iota // reads only
	kindWrite                   // changes state, loses nothing (power on, snapshot)
	kindDestructive             // may lose state (hard power off, delete, revert)
)

// annotations returns all four hints for a kind. OpenWorldHint is false
// everywhere: the tools reach only the allow-listed vCenters. The title is
// the tool's own (Tool.Title), not repeated here.
func annotations(k kind, idempotent bool) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{
		ReadOnlyHint:    k == kindRead,
		DestructiveHint: new(k == kindDestructive),
		IdempotentHint:  idempotent,
		OpenWorldHint:   new(false),
	}
}

// newTool builds a catalogue entry from a typed handler. Schemas are
// inferred from In and Out, normalised (no "null" unions) and then edited
// by edit, if given, before registration; the handler is wrapped so the
// audit record knows the arguments passed validation.
func newTool[In, Out any](def *mcp.Tool, level policy.Level, confirm bool, edit func(in, out *schema), h mcp.ToolHandlerFor[In, Out]) Tool {
	in, out := inferSchema[In](), inferSchema[Out]()
	if edit != nil {
		edit(in, out)
	}
	compactOutput(out.s)
	// Unknown arguments are refused by the handler (strictArgs), with a
	// message naming the valid ones, rather than advertised as
	// additionalProperties:false in every schema of tools/list.
	in.s.AdditionalProperties = nil
	def.InputSchema, def.OutputSchema = in.s, out.s
	if def.Annotations == nil || def.Annotations.DestructiveHint == nil || def.Annotations.OpenWorldHint == nil {
		panic(fmt.Sprintf("tool %q: set all four annotations", def.Name))
	}
	wrapped := func(ctx context.Context, req *mcp.CallToolRequest, args In) (*mcp.CallToolResult, Out, error) {
		if err := strictArgs(req.Params.Arguments, def.InputSchema.(*jsonschema.Schema)); err != nil {
			var zero Out
			return nil, zero, err
		}
		markArgsValid(ctx)
		return h(ctx, req, args)
	}
	return Tool{
		Def:     def,
		Level:   level,
		Confirm: confirm,
		add:     func(s *mcp.Server) { mcp.AddTool(s, def, wrapped) },
	}
}
