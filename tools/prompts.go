package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Prompts are MCP prompts for the common flows: each is a short plan that
// names the tools it uses, and it is offered only when every one of them
// is enabled, so a prompt never sends the model to a tool it cannot see.

// prompt is one MCP prompt: its definition, the tools its text names, and
// how the text is built from its arguments.
type prompt struct {
	def    *mcp.Prompt
	tools  []string
	render func(args map[string]string) string
}

// maxPromptArg bounds an argument; prompt arguments come from the user and
// are quoted into the text as data.
const maxPromptArg = 200

var prompts = []prompt{
	{
		def: &mcp.Prompt{Name: "triage_vm", Title: "Triage a VM",
			Description: "Find what is wrong with a VM and why it rebooted, then explain it.",
			Arguments: []*mcp.PromptArgument{
				{Name: "vm", Description: "VM name or id (vm-42)", Required: true},
				{Name: "since", Description: "how far back to look: a duration (24h, 3d) or RFC 3339; default 24h"},
			}},
		tools: []string{"investigate_vm", "get_vm_performance", "get_host_performance", "list_events", "list_alarms"},
		render: func(a map[string]string) string {
			since := ""
			if a["since"] != "" {
				since = fmt.Sprintf(" and since %q", a["since"])
			}
			return fmt.Sprintf("Triage the VM %q.\n"+
				"1. Call investigate_vm with %s%s.\n"+
				"2. Explain its findings in plain words, most severe first: what is wrong, the evidence, and what it means for the workload.\n"+
				"3. Say when the VM last booted, what caused it (HA restart, reset, power-on, guest reboot) and who.\n"+
				"4. Where a finding needs detail, call the tool its \"next\" names (get_vm_performance, get_host_performance, list_events, list_alarms) and report what it shows.\n"+
				"5. Change nothing: propose the next action and let the user decide.", a["vm"], vmArgument(a["vm"]), since)
		},
	},
	{
		def: &mcp.Prompt{Name: "before_change", Title: "Snapshot, change, verify",
			Description: "Make a change to a VM safely: record its state, snapshot it, change it, verify it.",
			Arguments: []*mcp.PromptArgument{
				{Name: "vm", Description: "VM name or id (vm-42)", Required: true},
				{Name: "change", Description: "the change to make, e.g. \"add 2 vCPUs\"", Required: true},
			}},
		tools: []string{"get_vm_details", "list_vm_snapshots", "create_vm_snapshot", "modify_vm_resources", "revert_vm_snapshot", "delete_vm_snapshot"},
		render: func(a map[string]string) string {
			return fmt.Sprintf("Make this change to the VM %q: %q.\n"+
				"1. Call get_vm_details with %s and note its power state, CPU, memory and disks.\n"+
				"2. Call list_vm_snapshots; then create_vm_snapshot with a name like \"before-change\" (quiesce only if VMware Tools runs).\n"+
				"3. Make the change with the matching tool (modify_vm_resources for CPU or memory). Show the user the preview and confirm only after they agree.\n"+
				"4. Verify with get_vm_details that the change took effect and the VM runs.\n"+
				"5. If something is wrong, offer revert_vm_snapshot; if all is well, remind the user to remove the snapshot with delete_vm_snapshot within a few days.",
				a["vm"], a["change"], vmArgument(a["vm"]))
		},
	},
	{
		def: &mcp.Prompt{Name: "capacity_check", Title: "Check capacity headroom",
			Description: "Check CPU, memory and datastore headroom of the clusters (or one cluster).",
			Arguments: []*mcp.PromptArgument{
				{Name: "cluster", Description: "cluster name or id; default all"},
			}},
		tools: []string{"get_resource_utilization_summary", "list_hosts", "get_host_performance", "get_datastore_usage"},
		render: func(a map[string]string) string {
			scope, hosts := "every cluster", "list_hosts"
			if a["cluster"] != "" {
				scope = fmt.Sprintf("the cluster %q", a["cluster"])
				hosts = fmt.Sprintf("list_hosts with clusters [%q]", a["cluster"])
			}
			return fmt.Sprintf("Check the capacity headroom of %s.\n"+
				"1. Call get_resource_utilization_summary for VMs per cluster.\n"+
				"2. Call %s, then get_host_performance with period \"week\" for each connected host: CPU and memory used against capacity, CPU ready, ballooning.\n"+
				"3. Call get_datastore_usage (fullest first).\n"+
				"4. Report per cluster the CPU and memory headroom with its largest host down (N+1), hosts with CPU ready above 5 %% or any ballooning or swapping, and datastores under 10 %% free.\n"+
				"5. Recommend what to do; change nothing.", scope, hosts)
		},
	},
}

// vmArgument renders the VM argument for a tool call: vm_id for an id,
// vm_name otherwise.
func vmArgument(vm string) string {
	if strings.HasPrefix(vm, "vm-") && strings.Trim(vm[3:], "0123456789") == "" && len(vm) > 3 {
		return fmt.Sprintf("vm_id %q", vm)
	}
	return fmt.Sprintf("vm_name %q", vm)
}

// enabledPrompts returns the prompts whose tools are all enabled.
func enabledPrompts(enabled func(tool string) bool) []prompt {
	var out []prompt
	for _, p := range prompts {
		if !slices.ContainsFunc(p.tools, func(t string) bool { return !enabled(t) }) {
			out = append(out, p)
		}
	}
	return out
}

// handler checks the arguments and renders the prompt.
func (p prompt) handler(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	args := map[string]string{}
	for _, a := range p.def.Arguments {
		v := strings.TrimSpace(req.Params.Arguments[a.Name])
		switch {
		case v == "" && a.Required:
			return nil, fmt.Errorf("prompt %s needs the argument %q", p.def.Name, a.Name)
		case len(v) > maxPromptArg || !plainText(v):
			return nil, fmt.Errorf("prompt %s: %s must be plain text of at most %d characters", p.def.Name, a.Name, maxPromptArg)
		}
		args[a.Name] = v
	}
	for name := range req.Params.Arguments {
		if !slices.ContainsFunc(p.def.Arguments, func(a *mcp.PromptArgument) bool { return a.Name == name }) {
			return nil, fmt.Errorf("prompt %s takes no argument %q", p.def.Name, truncate(name, 40))
		}
	}
	return &mcp.GetPromptResult{
		Description: p.def.Description,
		Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: p.render(args)}}},
	}, nil
}
