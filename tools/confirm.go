package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// This file is the only code that branches on confirm and dry_run.
//
// The confirmation rule, stated once (the catalogue tests hold it):
//   - Confirm is chosen per tool, independently of its kind: a tool confirms
//     when its change is irreversible or disrupts running work (delete,
//     revert, resize), whether or not it loses state; a destructive tool
//     without it (power_off_vm, restart_vm) is one whose effect the user asks
//     for by name, as in the Python server this one replaces;
//   - a read tool never confirms (policy refuses the declaration);
//   - a tool with Confirm takes a confirm argument, and only such a tool;
//   - ConfirmIf narrows Confirm to the states where the change disrupts
//     (unmount_iso, set_vm_network: only on a powered-on VM): the tool tells
//     confirmIf whether this change needs it, and policy accepts "not
//     needed" from such a tool only;
//   - a tool that may act without confirmation (no Confirm, or ConfirmIf)
//     and changes state takes dry_run (DryRun in its spec): dry_run: true
//     returns the same preview and changes nothing, audited as dry_run.
//
// A tool with the flag builds a preview of what it would do and hands it, with
// the action, to confirmOrPreview, which asks policy and runs the action only
// when:
//   - the arguments carry confirm: true (the JSON boolean; the schema
//     refuses "true", 1 or "yes"), or
//   - the user approved the preview through elicitation, and the approval
//     comes back bound (HMAC) to this tool, these arguments, this target and
//     this caller.
// Otherwise nothing changes and the preview is returned.

// Status values of a confirm tool's result.
const (
	statusDone              = "done"
	statusNeedsConfirmation = "needs_confirmation"
	statusDryRun            = "dry_run"
)

// dryRunArgs is embedded by every tool with DryRun in its spec.
type dryRunArgs struct {
	DryRun bool `json:"dry_run,omitempty" jsonschema:"true: only preview"`
}

// confirmOut is the result of a tool with the confirm flag: either the
// preview (nothing changed) or what was done.
type confirmOut[T any] struct {
	Status  string   `json:"status"` // done; needs_confirmation or dry_run when nothing was changed
	Summary string   `json:"summary"`
	Preview *preview `json:"preview,omitempty"`
	Result  *T       `json:"result,omitempty"`
}

// preview says what a confirmed call would do.
type preview struct {
	Target previewTarget `json:"target"`
	Change string        `json:"change"` // the exact change
	// Items are the objects the change touches, one line each, with what
	// happens to each (the VMs of a host entering maintenance mode).
	Items []string `json:"items,omitempty"`
	// HowToConfirm tells the model what to do next.
	HowToConfirm string `json:"how_to_confirm"`
}

type previewTarget struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"` // current state read from vCenter
}

// elicitID is the key of the confirmation in InputRequests/InputResponses.
const elicitID = "confirm"

// confirmOrPreview runs do when the call is confirmed, and otherwise returns
// the preview (or, for a client that supports elicitation, asks the user).
// do returns its result and a one-line summary.
func confirmOrPreview[T any](ctx context.Context, d Deps, req *mcp.CallToolRequest, confirmed bool, pv preview,
	do func() (T, string, error)) (*mcp.CallToolResult, confirmOut[T], error) {
	var zero confirmOut[T]
	cs := callOf(ctx)
	audit.NoteTarget(ctx, pv.Target.ID, pv.Target.Name)
	pv.HowToConfirm = fmt.Sprintf("show this change to the user; if they approve, call %s again with the same arguments and confirm: true", req.Params.Name)
	// decide asks policy with the confirmation state; run acts only on its
	// consent.
	decide := func(c policy.Confirmation) (*mcp.CallToolResult, confirmOut[T], error) {
		if ok, why := cs.confirm(c); !ok {
			return nil, confirmOut[T]{Status: statusNeedsConfirmation, Summary: why + ": " + pv.Change, Preview: &pv}, nil
		}
		res, summary, err := do()
		if err != nil {
			return nil, zero, err
		}
		return nil, confirmOut[T]{Status: statusDone, Summary: summary, Result: &res}, nil
	}

	if confirmed {
		return decide(policy.Confirmed)
	}
	binding := policy.Binding{Tool: req.Params.Name, Args: req.Params.Arguments, TargetID: pv.Target.ID, TokenFP: identityOf(ctx).TokenFP}
	if req.Params.RequestState != "" || len(req.Params.InputResponses) > 0 {
		// The client comes back with the user's answer.
		if _, err := d.Approver.Verify(req.Params.RequestState, binding); err != nil {
			if errors.Is(err, policy.ErrStoreUnavailable) {
				// The shared record of redeemed approvals could not be
				// asked: policy refuses, and the approval is not used up.
				d.Log.Warn().Err(err).Str("tool", req.Params.Name).Msg("approval not redeemed: the shared state store failed")
				_, why := cs.storeFailed(err)
				return nil, zero, errors.New(why + ". The approval was not used: the same answer can be sent again")
			}
			cs.confirm(policy.ApprovalInvalid)
			return nil, zero, fmt.Errorf("the approval could not be verified (%v), so nothing changed. Next: call %s again to ask the user anew", approvalReason(err), req.Params.Name)
		}
		answer, _ := req.Params.InputResponses[elicitID].(*mcp.ElicitResult)
		switch {
		case answer == nil:
			return decide(policy.Unanswered)
		case answer.Action == "accept":
			return decide(policy.Approved)
		case answer.Action == "decline":
			return decide(policy.Declined)
		default:
			return decide(policy.Cancelled)
		}
	}
	if caps := req.ClientCapabilities(); caps != nil && caps.Elicitation != nil && d.Approver != nil {
		state, err := d.Approver.Issue(binding, []byte(requestIDOf(ctx)))
		if errors.Is(err, policy.ErrStoreUnavailable) {
			// The approval could not be recorded where every replica
			// would find it: policy refuses rather than ask.
			d.Log.Warn().Err(err).Str("tool", req.Params.Name).Msg("confirmation not asked: the shared state store failed")
			_, why := cs.storeFailed(err)
			return nil, zero, errors.New(why)
		}
		if err != nil {
			return nil, zero, fmt.Errorf("prepare the confirmation: %w", err)
		}
		return &mcp.CallToolResult{
			InputRequests: mcp.InputRequestMap{elicitID: &mcp.ElicitParams{
				Message:         fmt.Sprintf("Allow %s? It will %s. Current state of %s: %s.", req.Params.Name, pv.Change, label(pv.Target.Name, pv.Target.ID), pv.Target.State),
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{}},
			}},
			RequestState: state,
		}, zero, nil
	}
	return decide(policy.Unconfirmed)
}

// actOrPreview is confirmOrPreview for a tool that acts without
// confirmation: it runs do, unless dryRun asks for the preview only.
func actOrPreview[T any](ctx context.Context, req *mcp.CallToolRequest, dryRun bool, pv preview,
	do func() (T, string, error)) (*mcp.CallToolResult, confirmOut[T], error) {
	audit.NoteTarget(ctx, pv.Target.ID, pv.Target.Name)
	if dryRun {
		return nil, dryRunOut[T](ctx, req, pv), nil
	}
	return runChange(do)
}

// confirmIf is confirmOrPreview for a ConfirmIf tool: needed says whether
// this change, in the target's present state, needs confirmation. A dry
// run previews either way.
func confirmIf[T any](ctx context.Context, d Deps, req *mcp.CallToolRequest, needed, confirmed, dryRun bool, pv preview,
	do func() (T, string, error)) (*mcp.CallToolResult, confirmOut[T], error) {
	switch {
	case dryRun:
		audit.NoteTarget(ctx, pv.Target.ID, pv.Target.Name)
		return nil, dryRunOut[T](ctx, req, pv), nil
	case needed:
		return confirmOrPreview(ctx, d, req, confirmed, pv, do)
	}
	audit.NoteTarget(ctx, pv.Target.ID, pv.Target.Name)
	if ok, why := callOf(ctx).confirm(policy.NotNeeded); !ok {
		return nil, confirmOut[T]{Status: statusNeedsConfirmation, Summary: why + ": " + pv.Change, Preview: &pv}, nil
	}
	return runChange(do)
}

// dryRunOut asks policy for the dry run's decision and returns the preview.
func dryRunOut[T any](ctx context.Context, req *mcp.CallToolRequest, pv preview) confirmOut[T] {
	_, why := callOf(ctx).confirm(policy.DryRunAsked)
	pv.HowToConfirm = fmt.Sprintf("nothing changed; to make this change, call %s again without dry_run", req.Params.Name)
	return confirmOut[T]{Status: statusDryRun, Summary: why + ": " + pv.Change, Preview: &pv}
}

func runChange[T any](do func() (T, string, error)) (*mcp.CallToolResult, confirmOut[T], error) {
	res, summary, err := do()
	if err != nil {
		return nil, confirmOut[T]{}, err
	}
	return nil, confirmOut[T]{Status: statusDone, Summary: summary, Result: &res}, nil
}

// approvalReason words a refused approval for the model without detail an
// attacker could use.
func approvalReason(err error) string {
	switch {
	case errors.Is(err, policy.ErrStateExpired):
		return "it expired"
	case errors.Is(err, policy.ErrStateReplayed):
		return "it was already used"
	case errors.Is(err, policy.ErrStateUnknown):
		return "the server's shared state no longer knows it, so it may have been used (its store was reset)"
	case errors.Is(err, policy.ErrStateMismatch):
		return "it was given for another call"
	}
	return "it was altered or is not from this server"
}
