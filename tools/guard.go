package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// Guard is the policy pipeline in front of every tool, whatever the
// transport: identity → role gate → read-only gate → rate limit →
// (confirmation, in the handler) → handler → audit. Install it with one
// call, outermost first:
//
//	srv.AddReceivingMiddleware(g.Audit, g.Recover, g.Enforce)
//
// Audit is outermost so that refusals, panics and invalid arguments are
// recorded; Recover turns a handler panic into an error result; Enforce
// re-checks the role on every call, although tools/list is filtered too.
type Guard struct {
	Policy   *policy.Policy
	Limiter  *policy.Limiter
	Log      *audit.Log
	Approver *policy.Approver
	Catalog  []Tool
	// Identify resolves the caller of a request: fixed for stdio, from the
	// bearer token over HTTP.
	Identify func(ctx context.Context, req mcp.Request) (policy.Identity, error)
	// VCenter is the default vCenter host, recorded until a tool names one.
	VCenter string
	// Scrub removes the process's secrets (vCenter password, launch token)
	// from every result, whatever echoed them.
	Scrub *audit.Scrubber
	Diag  zerolog.Logger

	init    sync.Once
	byName  map[string]Tool
	pending *pendingCalls
	seq     atomic.Uint64
	prefix  string // request id prefix, unique per process
	// stopping is done once Cancel is called; every call's context ends
	// with it.
	stopping context.Context
	stop     context.CancelFunc
}

func (g *Guard) setup() {
	g.init.Do(func() {
		g.byName = make(map[string]Tool, len(g.Catalog))
		for _, t := range g.Catalog {
			g.byName[t.Def.Name] = t
		}
		g.pending = &pendingCalls{byID: map[string]pendingCall{}}
		g.prefix = strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-"
		g.stopping, g.stop = context.WithCancel(context.Background())
	})
}

// callState is what the middleware and the handler share about one
// logical call.
type callState struct {
	ident     policy.Identity
	identErr  error
	requestID string
	// retry marks the second half of a call the user approved through
	// elicitation (protocol 2026-07-28): already counted by the limiter.
	retry     bool
	argsValid atomic.Bool
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

// setDecision records the policy decision of the current call.
func setDecision(ctx context.Context, d policy.Decision) {
	audit.Update(ctx, func(r *audit.Record) { r.Decision = string(d) })
}

// noteVCenter records which vCenter the call went to.
func noteVCenter(ctx context.Context, host string) {
	audit.Update(ctx, func(r *audit.Record) { r.VCenter = host })
}

// Audit writes exactly one audit line per logical tool call.
func (g *Guard) Audit(next mcp.MethodHandler) mcp.MethodHandler {
	g.setup()
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		ctr, ok := req.(*mcp.CallToolRequest)
		if method != "tools/call" || !ok {
			return next(ctx, method, req)
		}
		start := time.Now()
		cs := &callState{}
		cs.ident, cs.identErr = g.Identify(ctx, req)
		rec := &audit.Record{
			TS: start, Tool: ctr.Params.Name, Args: ctr.Params.Arguments,
			Role: cs.ident.Role, TokenFP: cs.ident.TokenFP, VCenter: g.VCenter, Client: clientOf(ctr),
		}
		// The retry of an approved call (2026-07-28 clients answer an
		// elicitation by calling again) continues the call it answers.
		if state := ctr.Params.RequestState; state != "" && g.Approver != nil {
			if data, err := g.Approver.Peek(state); err == nil {
				if first, ok := g.pending.take(string(data)); ok {
					rec.RequestID, rec.TS = first.RequestID, first.TS
					cs.retry = true
				}
			}
		}
		if rec.RequestID == "" {
			rec.RequestID = g.prefix + strconv.FormatUint(g.seq.Add(1), 10)
		}
		cs.requestID = rec.RequestID
		ctx = context.WithValue(audit.WithRecord(ctx, rec), callKey{}, cs)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(g.stopping, cancel)()

		res, err := next(ctx, method, req)

		r, _ := res.(*mcp.CallToolResult)
		g.scrubResult(r)
		if err == nil && r != nil && r.InputRequests != nil {
			// Waiting for the user: the line is written when the answer
			// comes back, or when the question expires unanswered.
			g.pending.put(rec, g.approvalTTL())
			g.flushExpired()
			return res, err
		}
		g.finish(rec, cs, r, err, time.Since(start))
		g.flushExpired()
		return res, err
	}
}

// scrubResult replaces any secret in a result's text and structured
// content.
//
// Security: vCenter error messages and names are echoed into results; one
// that repeats a credential must not carry it to the model.
func (g *Guard) scrubResult(r *mcp.CallToolResult) {
	if r == nil || g.Scrub == nil {
		return
	}
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			t.Text = g.Scrub.Scrub(t.Text)
		}
	}
	var raw []byte
	switch sc := r.StructuredContent.(type) {
	case nil:
		return
	case json.RawMessage: // what typed tools produce: no need to marshal again
		raw = sc
	default:
		var err error
		if raw, err = json.Marshal(sc); err != nil {
			return
		}
	}
	if clean := g.Scrub.Scrub(string(raw)); clean != string(raw) && json.Valid([]byte(clean)) {
		r.StructuredContent = json.RawMessage(clean)
	}
}

// finish completes and writes the record of a call.
func (g *Guard) finish(rec *audit.Record, cs *callState, r *mcp.CallToolResult, err error, took time.Duration) {
	audit.Update(audit.WithRecord(context.Background(), rec), func(rec *audit.Record) {
		rec.DurationMS = float64(time.Since(rec.TS).Microseconds()) / 1000
		if !cs.retry {
			rec.DurationMS = float64(took.Microseconds()) / 1000
		}
		switch {
		case err != nil:
			rec.Error = err.Error()
		case r != nil && r.IsError:
			rec.Error = ResultText(r)
		}
		if rec.Decision == "" {
			rec.Decision = string(policy.Allowed)
			if rec.Error != "" && (!cs.argsValid.Load() || isArgError(resultErr(r))) {
				rec.Decision = string(policy.InvalidArgs)
			}
		}
		rec.OK = rec.Error == "" && rec.Decision == string(policy.Allowed)
	})
	if aerr := g.Log.Append(rec); aerr != nil {
		g.Diag.Error().Err(aerr).Str("tool", rec.Tool).Str("request_id", rec.RequestID).Msg("audit line not written")
	}
}

func (g *Guard) approvalTTL() time.Duration { return approvalTTL }

// approvalTTL is how long a user has to answer a confirmation.
const approvalTTL = 10 * time.Minute

// flushExpired writes the lines of confirmations nobody answered in time.
func (g *Guard) flushExpired() {
	for _, rec := range g.pending.expired(time.Now()) {
		g.writeUnanswered(rec)
	}
}

func (g *Guard) writeUnanswered(rec *audit.Record) {
	rec.Decision = string(policy.NeedsConfirmation)
	rec.OK = false
	rec.Error = "the user did not answer the confirmation; nothing changed"
	rec.DurationMS = float64(time.Since(rec.TS).Microseconds()) / 1000
	if err := g.Log.Append(rec); err != nil {
		g.Diag.Error().Err(err).Str("tool", rec.Tool).Msg("audit line not written")
	}
}

// Cancel cancels every call still running, as if its client had cancelled
// it: a tool waiting for a vCenter task stops waiting (cancelling the task
// where vCenter allows) and the call writes its audit line. Calls that
// start later are cancelled at once. The HTTP transport calls it once it
// has stopped serving: a call still running then has nobody to answer, and
// closing its MCP session would wait for it forever.
func (g *Guard) Cancel() {
	g.setup()
	g.stop()
}

// Close writes the lines of confirmations still waiting for an answer. Call
// it when the server stops.
func (g *Guard) Close() {
	g.setup()
	for _, rec := range g.pending.expired(time.Now().Add(100 * 365 * 24 * time.Hour)) {
		g.writeUnanswered(rec)
	}
}

// Recover turns a panic in a handler into an error result, so that the
// process never crashes on any input and the call is still audited.
func (g *Guard) Recover(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
		defer func() {
			if p := recover(); p != nil {
				g.Diag.Error().Str("method", method).Str("panic", fmt.Sprint(p)).Str("stack", string(debug.Stack())).Msg("handler panicked")
				if method != "tools/call" {
					res, err = nil, fmt.Errorf("internal error in %s", method)
					return
				}
				res, err = errorResult(fmt.Sprintf("internal error in this tool (request %s); nothing more is known. Next: report it to the server's operator", requestIDOf(ctx))), nil
			}
		}()
		return next(ctx, method, req)
	}
}

// Enforce applies the policy: tools/list shows only the caller's tools, and
// a tools/call passes the role gate, the read-only gate, the rate limit and
// the audit-health check before its handler runs.
func (g *Guard) Enforce(next mcp.MethodHandler) mcp.MethodHandler {
	g.setup()
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list":
			res, err := next(ctx, method, req)
			list, ok := res.(*mcp.ListToolsResult)
			if err != nil || !ok {
				return res, err
			}
			id, ierr := g.Identify(ctx, req)
			allowed := map[string]bool{}
			if ierr == nil {
				for _, n := range g.Policy.Allowed(id.Role) {
					allowed[n] = true
				}
			}
			out := *list
			out.Tools = make([]*mcp.Tool, 0, len(list.Tools))
			for _, t := range list.Tools {
				if allowed[t.Name] {
					out.Tools = append(out.Tools, t)
				}
			}
			return &out, nil
		case "tools/call":
			if res := g.refuse(ctx, req.(*mcp.CallToolRequest)); res != nil {
				return res, nil
			}
		}
		return next(ctx, method, req)
	}
}

// refuse returns the refusal of a call, or nil when it may run.
func (g *Guard) refuse(ctx context.Context, req *mcp.CallToolRequest) *mcp.CallToolResult {
	cs := callOf(ctx)
	name := req.Params.Name
	if cs.identErr != nil {
		setDecision(ctx, policy.DeniedRole)
		return errorResult("this session has no valid identity: " + cs.identErr.Error())
	}
	tool, known := g.byName[name]
	switch d := g.Policy.Decide(cs.ident.Role, name); d {
	case policy.Allowed:
	case policy.DeniedReadOnly:
		setDecision(ctx, d)
		return errorResult(fmt.Sprintf("%s changes vCenter, and this server runs with READ_ONLY=true: only read-only tools run. Next: use a read-only tool, or ask the operator to unset READ_ONLY", name))
	default:
		setDecision(ctx, policy.DeniedRole)
		if !known {
			return errorResult(fmt.Sprintf("there is no tool named %q. Next: tools/list shows the tools this session may call", truncate(name, 64)))
		}
		return errorResult(fmt.Sprintf("%s is not allowed for role %q. It may call: %s. Next: use one of those, or ask the operator to grant %s to this role (ROLES_TO_TOOLS or POLICY_FILE)",
			name, cs.ident.Role, strings.Join(g.Policy.Allowed(cs.ident.Role), ", "), name))
	}
	if !cs.retry {
		if ok, wait := g.Limiter.Allow(cs.ident.TokenFP); !ok {
			setDecision(ctx, policy.DeniedRate)
			return errorResult(fmt.Sprintf("rate limit reached for this session; nothing was sent to vCenter. Next: retry in %s", roundUp(wait)))
		}
	}
	if !tool.Def.Annotations.ReadOnlyHint {
		if err := g.Log.Err(); err != nil {
			// Security: a call that cannot be audited must not change anything.
			return errorResult(fmt.Sprintf("%s was refused because the audit log cannot be written (%v); state-changing tools stay refused until it works. Next: the operator must fix AUDIT_LOG_PATH (space, permissions)", name, err))
		}
	}
	return nil
}

func roundUp(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return time.Millisecond
	}
	return d.Round(time.Millisecond) + time.Millisecond
}

// errorResult is a tool error the model sees and can act on.
func errorResult(text string) *mcp.CallToolResult {
	r := &mcp.CallToolResult{}
	r.SetError(errors.New(text))
	return r
}

// ResultText joins the text blocks of a result: the error for an error
// result, the JSON of the structured content otherwise.
func ResultText(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	if len(parts) == 0 && r.IsError {
		return "error without text"
	}
	return strings.Join(parts, "\n")
}

func resultErr(r *mcp.CallToolResult) error {
	if r == nil {
		return nil
	}
	return r.GetError()
}

func clientOf(req *mcp.CallToolRequest) audit.Client {
	if ci := req.ClientInfo(); ci != nil {
		return audit.Client{Name: truncate(ci.Name, 64), Version: truncate(ci.Version, 32)}
	}
	return audit.Client{}
}

// pendingCalls holds the records of calls waiting for the user's answer to
// an elicitation, keyed by request id.
type pendingCalls struct {
	mu   sync.Mutex
	byID map[string]pendingCall
}

type pendingCall struct {
	rec     *audit.Record
	expires time.Time
}

func (p *pendingCalls) put(rec *audit.Record, ttl time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byID[rec.RequestID] = pendingCall{rec, time.Now().Add(ttl)}
}

func (p *pendingCalls) take(id string) (*audit.Record, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.byID[id]
	delete(p.byID, id)
	return c.rec, ok
}

func (p *pendingCalls) expired(now time.Time) []*audit.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*audit.Record
	for id, c := range p.byID {
		if !now.Before(c.expires) {
			out = append(out, c.rec)
			delete(p.byID, id)
		}
	}
	return out
}
