package tools

import (
	"encoding/json"
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

// Tool is one entry of the catalogue, built from its [spec]: the MCP
// definition clients see, what policy and the docs need to know of it, and
// how to register it on a server.
type Tool struct {
	Def     *mcp.Tool
	Toolset Toolset
	// Level is the least default role that includes the tool.
	Level policy.Level
	Kind  Kind
	// Confirm marks a tool that may return a preview and change nothing until
	// confirmed; see the confirmation rule in confirm.go.
	Confirm bool
	// ConfirmIf narrows Confirm to some states of the target; DryRun marks
	// a tool that takes dry_run (confirm.go).
	ConfirmIf, DryRun bool
	Privileges        Privileges
	// Example is a valid argument object against the simulator's default
	// inventory: the docs show it and every test that calls every tool uses it.
	Example json.RawMessage
	schemas *toolSchemas
	add     func(*mcp.Server)
}

// Policy describes the tool to the policy package.
func (t Tool) Policy() policy.Tool {
	return policy.Tool{
		Name:        t.Def.Name,
		Toolset:     string(t.Toolset),
		ReadOnly:    t.Kind == KindRead,
		Destructive: t.Kind == KindDestructive,
		Confirm:     t.Confirm,
		ConfirmIf:   t.ConfirmIf,
		Level:       t.Level,
	}
}

// Kind is what a tool does to vCenter; it alone fixes the tool's annotations.
type Kind int

// The kinds of tool.
const (
	KindRead        Kind = iota + 1 // reads only
	KindWrite                       // changes state, loses nothing (power on, snapshot, migrate)
	KindDestructive                 // may lose state (hard power off, delete, revert)
)

// String names the kind as the docs do.
func (k Kind) String() string {
	switch k {
	case KindRead:
		return "read"
	case KindWrite:
		return "write"
	case KindDestructive:
		return "destructive"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// annotations returns all four hints for a kind: the only place they are set.
// OpenWorldHint is false everywhere: the tools reach only the allow-listed
// vCenters. The title is the tool's own (Tool.Title), not repeated here.
func annotations(k Kind, idempotent bool) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{
		ReadOnlyHint:    k == KindRead,
		DestructiveHint: new(k == KindDestructive),
		IdempotentHint:  idempotent,
		OpenWorldHint:   new(false),
	}
}

// Privileges documents what a tool asks of vCenter, for docs/privileges.md.
type Privileges struct {
	Calls string // the vCenter requests, e.g. "`POST /api/vcenter/vm/{vm}/power?action=start`"
	Needs string // privileges beyond System.Read; "" for none
	On    string // the objects they must be granted on
}

// spec declares one tool: everything about it in one value, turned into a
// [Tool] by [spec.tool]. Adding a tool is writing one spec in its domain file
// and one line in [All].
type spec[In, Out any] struct {
	Name        string // snake_case, verb first: list_vms, power_on_vm
	Title       string // sentence case: "Power on VM"
	Description string // user documentation: effect, preconditions, inverse; at most three sentences
	Toolset     Toolset
	Level       policy.Level
	Kind        Kind
	Idempotent  bool // a repeat with the same arguments changes nothing more
	Confirm     bool // see confirm.go
	ConfirmIf   bool // Confirm only in some states (confirm.go)
	DryRun      bool // takes dry_run (confirm.go)
	Privileges  Privileges
	Example     string // JSON arguments valid against the simulator's default inventory
	// Schema edits the inferred schemas for what struct tags cannot say (enums,
	// bounds); optional. A "limit" argument is bounded to 1..maxLimit for every
	// list tool without it.
	Schema func(in, out *schema)
	Handle mcp.ToolHandlerFor[In, Out]
}

// tool builds the catalogue entry. Schemas are inferred from In and Out,
// normalised (no "null" unions), edited by Schema, and the output cut to its
// top level — at build time, into schemas_gen.go (toolSchemas); the handler
// is adapted (register.go) so that invalid arguments are refused and the
// audit record knows the arguments passed validation. Mistakes in a
// declaration panic with the tool's name, at start-up (or, for the
// schemas, in TestGeneratedSchemas).
func (s spec[In, Out]) tool() Tool {
	if s.Name == "" || s.Title == "" || s.Description == "" || s.Toolset == "" || s.Level == 0 || s.Kind == 0 || s.Handle == nil {
		panic(fmt.Sprintf("tool %q: name, title, description, toolset, level, kind and handler are required", s.Name))
	}
	if s.ConfirmIf && !s.Confirm || s.DryRun && (s.Kind == KindRead || s.Confirm && !s.ConfirmIf) {
		panic(fmt.Sprintf("tool %q: ConfirmIf needs Confirm; DryRun is for a change that may run unconfirmed", s.Name))
	}
	var example json.RawMessage
	if s.Example != "" {
		if !json.Valid([]byte(s.Example)) {
			panic(fmt.Sprintf("tool %q: example is not JSON", s.Name))
		}
		example = json.RawMessage(s.Example)
	}
	// The schemas come from schemas_gen.go, inferred and edited at build
	// time by infer (go test ./tools -update); a tool missing there is
	// inferred now, and TestGeneratedSchemas fails until it is added.
	infer := func() (in, out *jsonschema.Schema) {
		i, o := inferSchema[In](), inferSchema[Out]()
		if p, ok := i.s.Properties["limit"]; ok && p.Maximum == nil {
			i.between("limit", 1, maxLimit)
		}
		if s.Schema != nil {
			s.Schema(i, o)
		}
		compactOutput(o.s)
		// Unknown arguments are refused (validateArgs), with a message
		// naming the valid ones, rather than advertised as
		// additionalProperties:false in every schema of tools/list.
		i.s.AdditionalProperties = nil
		return i.s, o.s
	}
	def := &mcp.Tool{
		Name: s.Name, Title: s.Title, Description: s.Description,
		Annotations: annotations(s.Kind, s.Idempotent),
	}
	sch := newToolSchemas(def, infer)
	return Tool{
		Def: def, Toolset: s.Toolset, Level: s.Level, Kind: s.Kind, Confirm: s.Confirm, ConfirmIf: s.ConfirmIf, DryRun: s.DryRun,
		Privileges: s.Privileges, Example: example, schemas: sch,
		add: func(srv *mcp.Server) { srv.AddTool(def, rawHandler(sch.input, s.Handle)) },
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
	taskAPI
	inventoryAPI
	perfAPI
	eventAPI
	alarmAPI
	taskInfoAPI
	tagAPI
	investigateAPI
	provisioningAPI
	deviceAPI
	tagWriteAPI
	clusterAPI
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

// All returns the catalogue in product order, grouped by toolset. Nothing
// registers itself: this list is the single place a tool is added.
func All(d Deps) []Tool {
	d.pages = newPageCache(8, 2*time.Minute)
	constructors := []func(Deps) Tool{
		// Toolset inventory.
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
		// Toolset power.
		powerOnVM,
		powerOffVM,
		restartVM,
		suspendVM,
		shutdownVMGuest,
		rebootVMGuest,
		// Toolset snapshots.
		listVMSnapshots,
		createVMSnapshot,
		revertVMSnapshot,
		deleteVMSnapshot,
		// Toolset lifecycle.
		deleteVM,
		modifyVMResources,
		// Toolset observability.
		investigateVM,
		getVMPerformance,
		getHostPerformance,
		listEvents,
		listAlarms,
		acknowledgeAlarm,
		listTasks,
		getTask,
		// Toolset provisioning.
		cloneVM,
		listContentLibraries,
		listLibraryItems,
		deployFromLibrary,
		listCustomizationSpecs,
		// Toolset devices.
		mountISO,
		unmountISO,
		addDisk,
		extendDisk,
		setVMNetwork,
		addNIC,
		// Toolset tags.
		listTags,
		tagObject,
		untagObject,
		// Toolset cluster.
		migrateVM,
		enterMaintenanceMode,
		exitMaintenanceMode,
		// Toolset access (always on).
		whoami,
	}
	// The constructors are independent, so they run side by side
	// (start-up time; a schema missing from schemas_gen.go is inferred).
	catalog := make([]Tool, len(constructors))
	var wg sync.WaitGroup
	for i, build := range constructors {
		wg.Go(func() {
			catalog[i] = build(d)
			catalog[i].schemas.hostnameArg(d.Hosts)
		})
	}
	wg.Wait()
	return catalog
}

// Names returns the catalogue's tool names, in catalogue order.
func Names(catalog []Tool) []string {
	out := make([]string, len(catalog))
	for i, t := range catalog {
		out[i] = t.Def.Name
	}
	return out
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
// sees and may call is decided per request by policy, through the
// [Middleware].
//
// The SDK decodes and checks every schema as a tool is added (three
// decodes of each tool's JSON), the largest part of the server's start-up
// left, so the tools are added from one goroutine per CPU (adding is safe
// for concurrent use); tools/list orders them by name whatever the order of
// adding.
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
