package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// This file keeps the state of calls: what the middleware and the handler
// share about one logical call, and the ledger of calls waiting for the
// user's answer to a confirmation.

// callState is what the middleware and the handler share about one logical
// call. The handler reaches it through its context.
type callState struct {
	m         *Middleware
	tool      string
	ident     policy.Identity
	identErr  error
	requestID string
	// charged says the rate-limit budget of this logical call is taken; it
	// is set for the second half of a call the user approved through
	// elicitation (protocol 2026-07-28), which the first half paid for.
	charged bool
	// resumed marks that second half: its duration runs from the first.
	resumed   bool
	argsValid atomic.Bool
	// checked are the arguments the middleware validated against the
	// tool's schema (nil: none yet), so that the handler need not again.
	checked     json.RawMessage
	checkedDone bool
	// pending is the begin line of a state-changing call, written and
	// synced before the handler could act; the outcome line finishes it.
	pending *audit.Pending

	mu      sync.Mutex
	verdict policy.Verdict // the last answer of policy
}

type callKey struct{}

func callOf(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	if cs == nil {
		return &callState{}
	}
	return cs
}

// identityOf is the caller of the current call.
func identityOf(ctx context.Context) policy.Identity { return callOf(ctx).ident }

// requestIDOf is the audit request id of the current call.
func requestIDOf(ctx context.Context) string { return callOf(ctx).requestID }

// markArgsValid records that the arguments passed schema validation (the
// typed handler was reached).
func markArgsValid(ctx context.Context) { callOf(ctx).argsValid.Store(true) }

// argsChecked reports whether the middleware validated exactly raw for the
// current call.
func argsChecked(ctx context.Context, raw json.RawMessage) bool {
	cs := callOf(ctx)
	return cs.checkedDone && bytes.Equal(cs.checked, raw)
}

// decide asks policy about this call at its current stage and keeps the
// answer for the audit line.
func (cs *callState) decide(c policy.Call) policy.Verdict {
	c.Tool, c.Identity, c.IdentityErr = cs.tool, cs.ident, cs.identErr
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c.Charged = c.Charged || cs.charged
	v := cs.m.policy.Decide(c)
	cs.charged = cs.charged || v.Charged
	cs.verdict = v
	return v
}

// gate is policy's answer before the handler runs. A state-changing call
// that passes it writes its begin line first (durably); if that fails, policy
// refuses the call for the audit log's sake.
//
// Security: a call that cannot be recorded before it acts must not act.
func (cs *callState) gate(ctx context.Context) policy.Verdict {
	v := cs.decide(policy.Call{})
	if !v.Allowed() || cs.pending != nil || cs.m.catalog[cs.tool].Kind == KindRead {
		return v
	}
	var err error
	audit.Update(ctx, func(r *audit.Record) {
		begin := *r
		begin.Decision = string(v.Decision)
		cs.pending, err = cs.m.audit.Begin(&begin)
	})
	if err != nil {
		cs.pending = nil
		cs.m.observe.AuditFailed()
		return cs.decide(policy.Call{AuditErr: err})
	}
	return v
}

// confirm asks policy at the handler's confirmation point whether the
// change may go ahead, and why not.
func (cs *callState) confirm(c policy.Confirmation) (bool, string) {
	if cs.m == nil {
		// Security: a handler run outside the middleware acts only on an
		// explicit confirmation.
		return c == policy.Confirmed || c == policy.Approved, "not confirmed; nothing changed"
	}
	v := cs.decide(policy.Call{Confirmation: c})
	return v.Allowed(), v.Reason
}

// storeFailed asks policy about a call whose approval the shared state
// store could not redeem, and why it is refused.
func (cs *callState) storeFailed(err error) (bool, string) {
	if cs.m == nil {
		return false, "the approval could not be redeemed; nothing changed"
	}
	v := cs.decide(policy.Call{StoreErr: err})
	return v.Allowed(), v.Reason
}

// final is the decision recorded for the call once it returned: the last
// verdict, or invalid_args when an admitted call failed on its arguments
// (the SDK's schema validation refused them before the handler ran, or the
// handler refused them).
func (cs *callState) final(r *mcp.CallToolResult, err error) policy.Verdict {
	cs.mu.Lock()
	v := cs.verdict
	cs.mu.Unlock()
	if v.Decision == "" { // the gate never ran: nothing was admitted
		return cs.decide(policy.Call{Charged: true})
	}
	failed := err != nil || (r != nil && r.IsError)
	if v.Allowed() && failed && (!cs.argsValid.Load() || isArgError(resultErr(r)) || isArgError(err)) {
		return cs.decide(policy.Call{Charged: true, ArgsInvalid: true})
	}
	return v
}

// ledger holds the records of calls waiting for the user's answer to an
// elicitation, keyed by request id, with what the answer must match.
type ledger struct {
	mu   sync.Mutex
	byID map[string]waiting
}

type waiting struct {
	rec     *audit.Record
	pending *audit.Pending // its begin line, when the call changes state
	binding string         // policy.Binding key of the tool, arguments and token
	expires time.Time
}

func newLedger() *ledger { return &ledger{byID: map[string]waiting{}} }

// wait records a call that asked the user.
func (l *ledger) wait(rec *audit.Record, pending *audit.Pending, req *mcp.CallToolRequest, tokenFP string, ttl time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byID[rec.RequestID] = waiting{rec, pending, bindingKey(req, tokenFP), time.Now().Add(ttl)}
}

// resume returns the first half of the call that req answers: req carries a
// RequestState this server issued for a waiting call, for the same tool,
// arguments and token. Anything else is a new call (whose handler then
// refuses the state it carries).
//
// Security: a state issued for one call must not let another call skip the
// rate limit or take over the first call's audit line.
func (l *ledger) resume(a *policy.Approver, req *mcp.CallToolRequest, tokenFP string) (waiting, bool) {
	state := req.Params.RequestState
	if state == "" || a == nil {
		return waiting{}, false
	}
	data, err := a.Peek(state)
	if err != nil {
		return waiting{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.byID[string(data)]
	if !ok || w.binding == "" || w.binding != bindingKey(req, tokenFP) {
		return waiting{}, false
	}
	delete(l.byID, string(data))
	return w, true
}

// expired takes the calls whose question expired by now.
func (l *ledger) expired(now time.Time) []waiting {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []waiting
	for id, w := range l.byID {
		if !now.Before(w.expires) {
			out = append(out, w)
			delete(l.byID, id)
		}
	}
	return out
}

func bindingKey(req *mcp.CallToolRequest, tokenFP string) string {
	return policy.Binding{Tool: req.Params.Name, Args: req.Params.Arguments, TokenFP: tokenFP}.Key()
}

// requestIDs numbers the calls of this process for the audit log: a prefix
// unique per process, then a counter.
type requestIDs struct {
	prefix string
	seq    atomic.Uint64
}

func newRequestIDs() *requestIDs {
	return &requestIDs{prefix: strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-"}
}

// next returns a new id; kind marks ids of another source ("t" for
// messages a transport refused).
func (r *requestIDs) next(kind string) string {
	return r.prefix + kind + strconv.FormatUint(r.seq.Add(1), 10)
}
