package tools

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/stacks"
)

// Middleware is the pipeline in front of every tool, whatever the transport:
// identity → policy's gate (rate, role, toolsets, read-only, audit health) →
// handler (which asks policy again at its confirmation point) → audit. Policy
// decides; the middleware enforces what policy returned and records it.
//
// [Middleware.Install] adds it to a server with one call, outermost first:
// audit, recover, enforce. Audit is outermost so that refusals, panics and
// invalid arguments are recorded; recover turns a handler panic into an error
// result; enforce re-checks the role on every call, although tools/list is
// filtered too.
type Middleware struct {
	policy   *policy.Policy
	audit    *audit.Log
	approver *policy.Approver
	catalog  map[string]Tool
	identify IdentifyFunc
	scrub    *redact.Scrubber
	// server is the server's identity, which results of the sessionless
	// protocol carry (see wireForm); set by NewServer.
	server  *mcp.Implementation
	log     zerolog.Logger
	vcenter string
	ttl     time.Duration
	observe Observer

	ledger *ledger
	ids    *requestIDs
	// stopping is done once Cancel is called; every call's context ends
	// with it.
	stopping context.Context
	stop     context.CancelFunc
}

// MiddlewareConfig is what [NewMiddleware] needs. Policy, Audit, Approver and
// Identify are required.
type MiddlewareConfig struct {
	Policy   *policy.Policy
	Audit    *audit.Log
	Approver *policy.Approver
	Catalog  []Tool
	// Identify resolves the caller of a request: [LaunchIdentity] for stdio,
	// the bearer token of each request over HTTP.
	Identify IdentifyFunc
	// Scrub is the process's one scrubber of secrets (vCenter password,
	// launch token, session tokens): results pass through it.
	Scrub *redact.Scrubber
	Log   zerolog.Logger
	// VCenter is the default vCenter host, recorded until a tool names one.
	VCenter string
	// ApprovalTTL is how long a confirmation question waits for the user's
	// answer before its call is audited as unanswered; the approver's states
	// live as long.
	ApprovalTTL time.Duration
	// Observer, if set, is told of every call recorded and every audit line
	// that could not be written (metrics).
	Observer Observer
}

// Observer is told of the outcome of every call the middleware records, and
// of every audit line it could not write; package metrics implements it.
// Its methods must be quick and safe for concurrent use.
type Observer interface {
	// Call is told of the call of every audit line: its tool as called (a
	// name outside the catalogue, or a method, for refusals), its decision,
	// and how long it took.
	Call(tool, decision string, took time.Duration)
	// AuditFailed is told of every audit line, begin or outcome, that could
	// not be written.
	AuditFailed()
}

// noObserver observes nothing.
type noObserver struct{}

func (noObserver) Call(string, string, time.Duration) {}
func (noObserver) AuditFailed()                       {}

// NewMiddleware builds the pipeline.
func NewMiddleware(cfg MiddlewareConfig) (*Middleware, error) {
	if cfg.Policy == nil || cfg.Audit == nil || cfg.Approver == nil || cfg.Identify == nil {
		return nil, errors.New("tools: the middleware needs a policy, an audit log, an approver and an identity function")
	}
	if cfg.ApprovalTTL <= 0 {
		return nil, errors.New("tools: the middleware needs a positive approval TTL")
	}
	m := &Middleware{
		policy: cfg.Policy, audit: cfg.Audit, approver: cfg.Approver, identify: cfg.Identify,
		scrub: cfg.Scrub, log: cfg.Log, vcenter: cfg.VCenter, ttl: cfg.ApprovalTTL, observe: cfg.Observer,
		catalog: make(map[string]Tool, len(cfg.Catalog)),
		ledger:  newLedger(), ids: newRequestIDs(),
	}
	for _, t := range cfg.Catalog {
		m.catalog[t.Def.Name] = t
	}
	if m.observe == nil {
		m.observe = noObserver{}
	}
	m.stopping, m.stop = context.WithCancel(context.Background())
	return m, nil
}

// Install adds the pipeline to srv in one call, so that its order is the one
// documented on [Middleware] (the SDK runs a later AddReceivingMiddleware call
// before an earlier one).
func (m *Middleware) Install(srv *mcp.Server) {
	srv.AddReceivingMiddleware(m.auditCalls, m.recoverPanics, m.enforce)
}

// auditCalls writes exactly one audit line per logical tool call. The call
// runs on a worker of package stacks, whose stack has grown already, not on
// the small one of the goroutine the SDK starts per request.
func (m *Middleware) auditCalls(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		ctr, ok := req.(*mcp.CallToolRequest)
		if method != "tools/call" || !ok {
			return next(ctx, method, req)
		}
		var res mcp.Result
		var err error
		stacks.Run(func() { res, err = m.auditCall(ctx, ctr, next) })
		return res, err
	}
}

// auditCall is auditCalls for one tools/call.
func (m *Middleware) auditCall(ctx context.Context, ctr *mcp.CallToolRequest, next mcp.MethodHandler) (mcp.Result, error) {
	start := time.Now()
	cs := &callState{m: m, tool: ctr.Params.Name}
	cs.ident, cs.identErr = m.identify(ctx, ctr)
	rec := &audit.Record{
		TS: start, Tool: ctr.Params.Name, Args: ctr.Params.Arguments,
		Role: cs.ident.Role, TokenFP: cs.ident.TokenFP, VCenter: m.vcenter, Client: clientOf(ctr),
	}
	// The retry of an approved call (2026-07-28 clients answer an
	// elicitation by calling again) continues the call it answers, but
	// only when it is the same tool, arguments and token.
	if first, ok := m.ledger.resume(m.approver, ctr, cs.ident.TokenFP); ok {
		rec.RequestID, rec.TS = first.rec.RequestID, first.rec.TS
		cs.charged, cs.resumed, cs.pending = true, true, first.pending
	}
	if rec.RequestID == "" {
		rec.RequestID = m.ids.next("")
	}
	cs.requestID = rec.RequestID
	ctx = context.WithValue(audit.WithRecord(ctx, rec), callKey{}, cs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.stopping, cancel)()

	res, err := next(ctx, "tools/call", ctr)

	r, _ := res.(*mcp.CallToolResult)
	m.scrubResult(r, ctr.Params.Name+"\x00"+string(ctr.Params.Arguments))
	if err == nil && r != nil && r.InputRequests != nil {
		// Waiting for the user: the line is written when the answer
		// comes back, or when the question expires unanswered.
		m.ledger.wait(rec, cs.pending, ctr, cs.ident.TokenFP, m.ttl)
		m.flushExpired()
		return res, err
	}
	m.finish(rec, cs, r, err, time.Since(start))
	m.flushExpired()
	if err != nil {
		// A tools/call that reached this line is answered with a
		// result, never a protocol error: the transports audit the
		// protocol errors of tools/call as refusals before MCP, and this
		// call has its line already.
		res = errorResult(err.Error())
		m.scrubResult(res.(*mcp.CallToolResult), ctr.Params.Name+"\x00"+string(ctr.Params.Arguments))
	}
	if r, ok := res.(*mcp.CallToolResult); ok {
		return wireForm(r, ctr.Params, m.server), nil // audited and scrubbed: final
	}
	return res, nil
}

// enforce applies policy: tools/list shows only the caller's tools, and a
// tools/call passes policy's gate before its handler runs.
func (m *Middleware) enforce(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list":
			res, err := next(ctx, method, req)
			list, ok := res.(*mcp.ListToolsResult)
			if err != nil || !ok {
				return res, err
			}
			allowed := map[string]bool{}
			if id, ierr := m.identify(ctx, req); ierr == nil {
				for _, n := range m.policy.Allowed(id.Role) {
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
			cs := callOf(ctx)
			if v := cs.gate(ctx); !v.Allowed() {
				return errorResult(v.Reason), nil
			}
			// The arguments are checked here, before the SDK decodes them:
			// a duplicate key is only visible in the raw document, and the
			// SDK's own validation messages are for programmers. The call
			// is then audited as invalid_args (see callState.final).
			ctr, _ := req.(*mcp.CallToolRequest)
			if t, ok := m.catalog[cs.tool]; ok && ctr != nil {
				if err := validateArgs(ctr.Params.Arguments, t.InputSchema()); err != nil {
					return errorResult(err.Error()), nil
				}
				cs.checked, cs.checkedDone = ctr.Params.Arguments, true
			}
		}
		return next(ctx, method, req)
	}
}

// finish completes and writes the record of a call, with the decision policy
// gave last.
func (m *Middleware) finish(rec *audit.Record, cs *callState, r *mcp.CallToolResult, err error, took time.Duration) {
	v := cs.final(r, err)
	audit.Update(audit.WithRecord(context.Background(), rec), func(rec *audit.Record) {
		rec.DurationMS = float64(time.Since(rec.TS).Microseconds()) / 1000
		if !cs.resumed {
			rec.DurationMS = float64(took.Microseconds()) / 1000
		}
		switch {
		case err != nil:
			rec.Error = err.Error()
		case r != nil && r.IsError:
			rec.Error = ResultText(r)
		}
		rec.Decision = string(v.Decision)
		rec.OK = rec.Error == "" && v.Allowed()
	})
	m.append(rec, cs.pending)
}

// append writes a call's outcome line: the end of its begin line when it
// has one, a record of its own otherwise. A failure is logged: the call has
// already run (or been refused), and its begin line shows it.
func (m *Middleware) append(rec *audit.Record, begun *audit.Pending) {
	var err error
	if begun != nil {
		err = begun.Finish(rec)
	} else {
		err = m.audit.Append(rec)
	}
	if err != nil {
		m.observe.AuditFailed()
		m.log.Error().Err(err).Str("tool", rec.Tool).Str("request_id", rec.RequestID).Msg("audit line not written")
	}
	m.observe.Call(rec.Tool, rec.Decision, time.Duration(rec.DurationMS*float64(time.Millisecond)))
}

// flushExpired writes the lines of confirmations nobody answered in time.
func (m *Middleware) flushExpired() {
	for _, w := range m.ledger.expired(time.Now()) {
		m.writeUnanswered(w)
	}
}

func (m *Middleware) writeUnanswered(w waiting) {
	rec := w.rec
	ident := policy.Identity{Role: rec.Role, TokenFP: rec.TokenFP}
	v := m.policy.Decide(policy.Call{Tool: rec.Tool, Identity: ident, Charged: true, Confirmation: policy.Unanswered})
	rec.Decision = string(v.Decision)
	rec.OK = false
	rec.Error = "the user did not answer the confirmation; nothing changed"
	rec.DurationMS = float64(time.Since(rec.TS).Microseconds()) / 1000
	m.append(rec, w.pending)
}

// Refusal is a message a transport refused before it reached MCP: no token,
// a foreign Origin, a body over the limit, a line that is not JSON-RPC.
// [Middleware.Refused] audits it.
type Refusal struct {
	Start time.Time
	// Kind is what was refused; policy turns it into the decision.
	Kind     policy.Refusal
	Tool     string // the tool of a tools/call, else the JSON-RPC method, as far as known
	Client   audit.Client
	Identity policy.Identity // as far as known
	Why      error           // what the transport refused, worded for the operator
	// Charge takes the refusal from the identity's rate-limit budget, like a
	// tool call; false when the transport limits its refusals itself (HTTP,
	// per client address).
	Charge bool
}

// Refused writes the audit line of a refused message, with the decision
// policy gives it.
//
// Security: the line names the token by its fingerprint only, and records no
// arguments: a message that was not let in is not trusted to say what it
// carried. The tool name is cut short.
func (m *Middleware) Refused(r Refusal) {
	if r.Kind == policy.NotRefused {
		// Security: whatever the transport forgot to say, this was refused.
		r.Kind = policy.RefusedRequest
	}
	v := m.policy.Decide(policy.Call{Tool: r.Tool, Refused: r.Kind, Identity: r.Identity, Charged: !r.Charge})
	why := "refused"
	if r.Why != nil {
		why = truncate(r.Why.Error(), 1000)
	}
	rec := &audit.Record{
		TS: r.Start, Tool: truncate(r.Tool, 64), Decision: string(v.Decision), OK: false,
		Error: why, Role: r.Identity.Role, TokenFP: r.Identity.TokenFP, VCenter: m.vcenter,
		Client: r.Client, RequestID: m.ids.next("t"),
	}
	rec.DurationMS = float64(time.Since(r.Start).Microseconds()) / 1000
	m.append(rec, nil)
}

// Cancel cancels every call still running, as if its client had cancelled
// it: a tool waiting for a vCenter task stops waiting (cancelling the task
// where vCenter allows) and the call writes its audit line. Calls that
// start later are cancelled at once. The HTTP transport calls it once it
// has stopped serving: a call still running then has nobody to answer, and
// closing its MCP session would wait for it forever.
func (m *Middleware) Cancel() { m.stop() }

// Close writes the lines of confirmations still waiting for an answer. Call
// it when the server stops; calling it twice is safe.
func (m *Middleware) Close() {
	if m == nil {
		return
	}
	for _, w := range m.ledger.expired(time.Now().Add(100 * 365 * 24 * time.Hour)) {
		m.writeUnanswered(w)
	}
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
	if name, version, ok := metaClientInfo(req); ok {
		return audit.Client{Name: truncate(name, 64), Version: truncate(version, 32)}
	}
	if ci := req.ClientInfo(); ci != nil {
		return audit.Client{Name: truncate(ci.Name, 64), Version: truncate(ci.Version, 32)}
	}
	return audit.Client{}
}

// metaClientInfo reads the client's name and version from the request's
// _meta, as decoded from the wire (a JSON object), where
// [mcp.ServerRequest.ClientInfo] would re-encode and decode the value on
// every call (a 32 KB decoder buffer each time). ok is false when the value
// is absent or not plainly a {"name","version"} object; ClientInfo then
// decides, as before.
func metaClientInfo(req *mcp.CallToolRequest) (name, version string, ok bool) {
	if req == nil || req.Params == nil {
		return "", "", false
	}
	m, isMap := req.Params.GetMeta()[mcp.MetaKeyClientInfo].(map[string]any)
	if !isMap {
		return "", "", false
	}
	for k, v := range m {
		switch {
		case k == "name":
			if name, ok = v.(string); !ok {
				return "", "", false
			}
		case k == "version":
			if version, ok = v.(string); !ok {
				return "", "", false
			}
		case strings.EqualFold(k, "name") || strings.EqualFold(k, "version"):
			return "", "", false // not a spelling to guess about
		default:
			if _, isString := v.(string); !isString {
				return "", "", false // icons, or a field of the wrong type: let the SDK decide
			}
		}
	}
	return name, version, true
}

// noteVCenter records which vCenter the call went to.
func noteVCenter(ctx context.Context, host string) {
	audit.Update(ctx, func(r *audit.Record) { r.VCenter = host })
}
