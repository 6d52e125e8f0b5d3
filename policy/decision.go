package policy

import (
	"fmt"
	"strings"
	"time"
)

// Decision is the outcome of the checks a tool call passes. Its values are the
// strings written to the "decision" field of every audit line, and only
// [Policy.Decide] produces them: the MCP layer enforces and records what it returns.
//
// This package owns the type: package audit must not import policy, so it records
// decisions as plain strings (string(d)); both packages stay free of each other.
type Decision string

// The decisions. Apart from the rate rule, which Decide applies first, they come in
// the order of the rules that produce them.
const (
	// Allowed means every check passed and the handler runs (or ran).
	Allowed Decision = "allowed"
	// DeniedAuth means the caller could not be authenticated: no token, an unknown or
	// malformed one, or the MCP session of another token.
	DeniedAuth Decision = "denied_auth"
	// DeniedOrigin means the request came from a Host or browser Origin the server
	// does not serve (DNS rebinding, cross-site requests).
	DeniedOrigin Decision = "denied_origin"
	// DeniedCapacity means the server was at a configured capacity: too many open
	// connections, or too many live MCP sessions for the token.
	DeniedCapacity Decision = "denied_capacity"
	// InvalidRequest means the message was not a valid MCP request (not JSON, not
	// JSON-RPC 2.0, a body too large, a call before initialize, a duplicate request
	// id, a missing header); it reached no tool.
	InvalidRequest Decision = "invalid_request"
	// DeniedRole means the caller's role may not call the tool.
	DeniedRole Decision = "denied_role"
	// DeniedRate means the token is over its rate limit.
	DeniedRate Decision = "denied_rate"
	// UnknownTool means no tool of that name exists.
	UnknownTool Decision = "unknown_tool"
	// DeniedToolset means the tool exists but is not enabled on this server
	// (VSPHERE_TOOLSETS, VSPHERE_TOOLS, VSPHERE_EXCLUDE_TOOLS).
	DeniedToolset Decision = "denied_toolset"
	// DeniedReadOnly means read-only mode hides a tool that is not read-only.
	DeniedReadOnly Decision = "denied_read_only"
	// DeniedAudit means a state-changing call was refused because the audit log
	// cannot record it.
	DeniedAudit Decision = "denied_audit"
	// InvalidArgs means the arguments did not validate; nothing was sent to vCenter.
	InvalidArgs Decision = "invalid_args"
	// NeedsConfirmation means a tool that needs confirmation was called without it
	// and returned a preview; nothing changed.
	NeedsConfirmation Decision = "needs_confirmation"
	// DryRun means the call asked for the preview only (dry_run: true); it read
	// vCenter and changed nothing.
	DryRun Decision = "dry_run"
	// DeniedState means the call needed the state that replicas share (its token's
	// rate-limit bucket, or the record of redeemed approvals) and the shared store
	// could not be used: the call was refused rather than run unlimited or with an
	// approval that might be a replay.
	DeniedState Decision = "denied_state"
)

// Decisions lists every [Decision] value, for callers that validate or document them.
func Decisions() []Decision {
	return []Decision{Allowed, DeniedAuth, DeniedOrigin, DeniedCapacity, InvalidRequest, DeniedRole, DeniedRate,
		UnknownTool, DeniedToolset, DeniedReadOnly, DeniedAudit, InvalidArgs, NeedsConfirmation, DryRun, DeniedState}
}

// DecisionNames lists every [Decision] value as the string the audit log
// records.
func DecisionNames() []string {
	var out []string
	for _, d := range Decisions() {
		out = append(out, string(d))
	}
	return out
}

// Confirmation is where a call that may need confirmation stands.
type Confirmation int

// Confirmation states. The zero value means the handler has not yet reached the
// point of asking, so no confirmation rule applies.
const (
	ConfirmUnknown  Confirmation = iota // the handler has not asked (yet)
	Unconfirmed                         // no confirm: true and no approval
	Confirmed                           // confirm: true
	Approved                            // the user accepted through elicitation
	Declined                            // the user declined
	Cancelled                           // the user cancelled the question
	Unanswered                          // the client came back without an answer, or never came back
	ApprovalInvalid                     // the approval did not verify (altered, replayed, expired, another call's)
	DryRunAsked                         // dry_run: true: show the change, make none
	NotNeeded                           // a ConfirmIf tool found that the change needs no confirmation now
)

// Refusal is what a transport refused before the message reached MCP, as the
// transport knows it; [Policy.Decide] maps it to a decision. The zero value means
// the transport refused nothing.
type Refusal int

// Transport refusals.
const (
	NotRefused      Refusal = iota
	RefusedAuth             // no token, a malformed or unknown one, or another token's session
	RefusedOrigin           // a Host or Origin the server does not serve
	RefusedCapacity         // too many connections, or too many sessions for the token
	RefusedRequest          // not a valid MCP request: not JSON-RPC, too large, out of order, a duplicate id
)

// Call is one tool call at one stage of its life, as the MCP layer knows it.
// The layer asks [Policy.Decide] before the handler runs (the gate), again when
// the handler reaches its confirmation point, and once more when the call returns;
// each time it passes what it has learnt.
type Call struct {
	Tool string // the name as called (may be unknown, huge or malformed), or the method
	// Refused is what the transport refused, if anything: the call never reached
	// MCP, and the decision says why.
	Refused     Refusal
	Identity    Identity // who is calling
	IdentityErr error    // the caller could not be identified; Identity is then empty
	// Charged says the rate-limit budget of this logical call was already taken
	// (by an earlier stage, or by the first half of an approved call).
	Charged bool
	// AuditErr is why the audit log cannot record a state change now; nil when it
	// can (or when the tool is read-only and it does not matter).
	AuditErr error
	// StoreErr is why the shared state store could not be used for this call at
	// its current stage (an approval that could not be redeemed); see
	// [ErrStoreUnavailable]. The rate rule finds its own store errors.
	StoreErr error
	// ArgsInvalid says the arguments failed validation.
	ArgsInvalid  bool
	Confirmation Confirmation
}

// Verdict is the answer to a [Call].
type Verdict struct {
	Decision Decision
	// Reason tells the caller why a call was refused and what to do next; empty
	// when it is allowed.
	Reason string
	// RetryAfter is how long until the token's bucket holds a call again
	// (DeniedRate only).
	RetryAfter time.Duration
	// Charged says this call's budget has been taken (by this or an earlier stage).
	Charged bool
}

// Allowed reports whether the call may run (or ran) as asked.
func (v Verdict) Allowed() bool { return v.Decision == Allowed }

// Decide applies the rules, in this order, and returns the first that refuses:
//
//  1. rate: every tool call consumes budget from its token's bucket, refused
//     calls included, so that refusals cannot be used to probe at will; when
//     the buckets live in a shared store that cannot be used, the call is
//     refused (denied_state), unless the tool is read-only and FailOpenReads
//     is set, when this process's own bucket limits it instead;
//  2. what the transport refused (c.Refused) is refused, with its own decision;
//  3. identity: a caller that could not be identified is refused (denied_auth);
//  4. the tool must exist, be enabled (toolsets), be in the caller's role, and
//     be read-only under read-only mode — read-only always wins;
//  5. a state-changing tool is refused while the audit log cannot record it,
//     and while the shared store cannot record its approval (c.StoreErr);
//  6. invalid arguments;
//  7. a dry run (any tool) changes nothing;
//  8. a tool that needs confirmation runs only when confirmed or approved, or,
//     for a ConfirmIf tool, when it found that the change needs none.
//
// The rate rule takes budget only when c.Charged is false; every other rule is
// pure, so asking again at a later stage gives the same answer for them.
func (p *Policy) Decide(c Call) Verdict {
	v := Verdict{Charged: c.Charged}
	if !c.Charged {
		v.Charged = true
		ok, wait, err := p.take(c)
		if err != nil {
			return Verdict{Decision: DeniedState, Charged: true, Reason: p.storeDown(c.Tool)}
		}
		if !ok {
			return Verdict{Decision: DeniedRate, RetryAfter: wait, Charged: true,
				Reason: fmt.Sprintf("rate limit reached for this session; nothing was sent to vCenter. Next: retry in %s", roundUp(wait))}
		}
	}
	refuse := func(d Decision, reason string) Verdict {
		v.Decision, v.Reason = d, reason
		return v
	}
	switch c.Refused {
	case NotRefused:
	case RefusedAuth:
		return refuse(DeniedAuth, "the request was not authenticated; nothing was sent to vCenter")
	case RefusedOrigin:
		return refuse(DeniedOrigin, "the request came from a Host or Origin this server does not serve; nothing was sent to vCenter")
	case RefusedCapacity:
		return refuse(DeniedCapacity, "the server is at capacity; nothing was sent to vCenter. Next: retry later")
	default:
		return refuse(InvalidRequest, "the request is not a valid MCP request; nothing was sent to vCenter")
	}
	if c.IdentityErr != nil {
		return refuse(DeniedAuth, "this session has no valid identity: "+c.IdentityErr.Error())
	}
	t, known := p.tools[c.Tool]
	switch {
	case !known:
		return refuse(UnknownTool, p.unknownTool(c.Tool))
	case !p.enabled[c.Tool]:
		return refuse(DeniedToolset, fmt.Sprintf("%s is in toolset %s, which this server does not enable. Next: use an enabled tool, or ask the operator to add %s to VSPHERE_TOOLSETS (--toolsets) or %s to VSPHERE_TOOLS (--tools)",
			c.Tool, t.Toolset, t.Toolset, c.Tool))
	case p.enforce && !p.roles[c.Identity.Role][c.Tool]:
		return refuse(DeniedRole, fmt.Sprintf("%s is not allowed for role %s. It may call: %s. Next: use one of those, or ask the operator to grant %s to this role (ROLES_TO_TOOLS or POLICY_FILE)",
			c.Tool, display(c.Identity.Role), strings.Join(p.Allowed(c.Identity.Role), ", "), c.Tool))
	case p.readOnly && !t.ReadOnly:
		return refuse(DeniedReadOnly, fmt.Sprintf("%s changes vCenter, and this server runs read-only (READ_ONLY=true or --read-only): only read-only tools run. Next: use a read-only tool, or ask the operator to turn read-only off", c.Tool))
	case !t.ReadOnly && c.AuditErr != nil:
		// Security: a call that cannot be audited must not change anything.
		return refuse(DeniedAudit, fmt.Sprintf("%s was refused because the audit log cannot record it (%v); state-changing tools stay refused until it can. Next: the operator must fix AUDIT_LOG_PATH (space, permissions)", c.Tool, c.AuditErr))
	case c.StoreErr != nil && (!t.ReadOnly || !p.failOpen):
		// Security: an approval whose use cannot be recorded may be a replay.
		return refuse(DeniedState, p.storeDown(c.Tool))
	case c.ArgsInvalid:
		return refuse(InvalidArgs, "the arguments are invalid; nothing was sent to vCenter")
	}
	if c.Confirmation == DryRunAsked {
		return refuse(DryRun, "dry run: the preview shows the change; nothing changed")
	}
	if t.Confirm {
		switch c.Confirmation {
		case ConfirmUnknown, Confirmed, Approved:
		case NotNeeded:
			if !t.ConfirmIf {
				return refuse(NeedsConfirmation, "not confirmed; nothing changed")
			}
		case Declined:
			return refuse(NeedsConfirmation, "the user declined; nothing changed")
		case Cancelled:
			return refuse(NeedsConfirmation, "the user cancelled; nothing changed")
		case Unanswered:
			return refuse(NeedsConfirmation, "no answer to the confirmation came back; nothing changed")
		case ApprovalInvalid:
			return refuse(NeedsConfirmation, "the approval could not be verified; nothing changed")
		default:
			return refuse(NeedsConfirmation, "not confirmed; nothing changed")
		}
	}
	v.Decision = Allowed
	return v
}

// take charges the call to its token's bucket: the shared one when there is a
// store, this process's when there is none, or when the store fails for a
// read-only tool and the operator let reads fail open.
func (p *Policy) take(c Call) (bool, time.Duration, error) {
	if p.buckets == nil {
		return p.limiter.Take(c.Identity.TokenFP)
	}
	ok, wait, err := p.buckets.Take(c.Identity.TokenFP)
	if err != nil && p.failOpen && p.tools[c.Tool].ReadOnly {
		return p.limiter.Take(c.Identity.TokenFP)
	}
	return ok, wait, err
}

// storeDown words a denied_state refusal. The store's own error stays in the
// server's log: it names internal addresses.
func (p *Policy) storeDown(tool string) string {
	what, name := "state-changing tools stay refused", display(tool)
	if t, ok := p.tools[tool]; ok {
		name = tool
		if t.ReadOnly {
			what = "every tool stays refused (reads too, unless the operator sets SERVER_STATE_FAIL_OPEN_READS=true)"
		}
	}
	return fmt.Sprintf("%s was refused because the state the server's replicas share (rate limits, one-time approvals) cannot be reached; %s until it can. Nothing was sent to vCenter. Next: retry in a minute; if it persists, the operator must check the store (SERVER_STATE_URL)",
		name, what)
}

// unknownTool words the refusal of a name that is no tool: the closest enabled
// names, if any are close. The name is the caller's own input, shown cut short and
// quoted so that it reads as data.
func (p *Policy) unknownTool(name string) string {
	shown := name
	if len(shown) > 64 {
		shown = cutUTF8(shown, 64) + "…"
	}
	msg := fmt.Sprintf("there is no tool named %q", shown)
	var enabled []string
	for _, n := range p.names {
		if p.enabled[n] {
			enabled = append(enabled, n)
		}
	}
	if close := closest(name, enabled, 3); len(close) > 0 {
		return msg + ". Did you mean " + strings.Join(close, " or ") + "?"
	}
	return msg + ". Next: list the tools (tools/list, or the tools subcommand) and use one of those names"
}

func roundUp(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return time.Millisecond
	}
	return d.Round(time.Millisecond) + time.Millisecond
}
