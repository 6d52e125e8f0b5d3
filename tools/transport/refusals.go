package transport

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
)

// refuseRPC answers a refused JSON-RPC message with its JSON-RPC error
// (Content-Type application/json, the given HTTP status) and has the
// middleware write its audit line, within the refusal rate of the client
// address.
func (h *HTTPServer) refuseRPC(w http.ResponseWriter, r *http.Request, start time.Time, id policy.Identity, kind policy.Refusal, status int, e *rpcError) {
	if ok, wait := h.auditRefusal(r, start, id, kind, e.tool, audit.Client{}, fmt.Sprintf("http %d: %s", status, e.message)); !ok {
		tooManyRefusals(w, wait)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(e.encode(), '\n'))
}

// auditRefusal writes the audit line of a refused request unless the
// client address is over its refusal rate (then it reports false and
// writes nothing, and says when the address may be refused with a line
// again). why is worded for the operator; the method, path and address are
// added.
func (h *HTTPServer) auditRefusal(r *http.Request, start time.Time, id policy.Identity, kind policy.Refusal, tool string, client audit.Client, why string) (bool, time.Duration) {
	from := remoteIP(r)
	if ok, wait := h.refusals.Allow(from); !ok {
		h.log.Debug().Str("from", from).Str("reason", why).Msg("refused request not audited: over the refusal rate")
		return false, wait
	}
	h.mw.Refused(tools.Refusal{
		Start: start, Kind: kind, Tool: tool, Client: client, Identity: id,
		Why: fmt.Errorf("%s (%s %s from %s)", why, r.Method, truncate(r.URL.Path, 64), from),
	})
	h.log.Info().Str("from", from).Str("token_fp", id.TokenFP).Str("reason", why).Msg("refused HTTP request")
	return true, 0
}

// tooManyRefusals answers a refusal beyond the refusal rate of its address:
// 429, and no audit line.
func tooManyRefusals(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
	http.Error(w, "too many refused requests from this address", http.StatusTooManyRequests)
}

// auditWriter passes the go-sdk's answer through and audits what the SDK
// refused: an error status (a session it does not know, a missing
// Mcp-Method header, a protocol version it refuses, a duplicate in-flight
// request id), or a JSON-RPC error answer in an event stream. A tools/call
// that reached the middleware is answered with a result, never a JSON-RPC
// error, and has its own line already. It also records the session an
// initialize opened.
type auditWriter struct {
	http.ResponseWriter
	h     *HTTPServer
	r     *http.Request
	start time.Time
	id    policy.Identity
	in    inbound
	res   *reservation // of an initialize: the session it opens

	status  int
	stream  bool
	primed  bool   // the first event of the stream has been written
	head    []byte // the start of an error body
	audited bool
}

// maxHead is how much of an error body the audit line quotes.
const maxHead = 300

func (a *auditWriter) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
		a.stream = strings.HasPrefix(a.Header().Get("Content-Type"), "text/event-stream")
		if sid := a.Header().Get(sessionIDHeader); sid != "" && code < 300 && a.res != nil {
			a.res.opened(sid)
		}
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *auditWriter) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	if a.status >= 400 && len(a.head) < maxHead {
		a.head = append(a.head, p[:min(len(p), maxHead-len(a.head))]...)
	}
	if a.stream && !a.audited && a.in.call && bytes.Contains(p, []byte(`"error"`)) {
		a.scanEvents(p)
	}
	if a.stream && !a.primed {
		a.primed = true
		if rest, ok := bytes.CutPrefix(p, []byte("event: prime\n")); ok {
			// The SDK's priming event (SEP-1699) lacks the retry field
			// that tells the client when to reconnect: add it. The event
			// is one Write, so the byte count is the caller's.
			if _, err := fmt.Fprintf(a.ResponseWriter, "event: prime\nretry: %d\n%s", retryMillis, rest); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return a.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushing) through the wrapper.
func (a *auditWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// Flush passes flushes on.
func (a *auditWriter) Flush() {
	_ = http.NewResponseController(a.ResponseWriter).Flush()
}

// scanEvents audits a JSON-RPC error answer to the request of this POST
// in the events of p (the SDK writes each event whole).
func (a *auditWriter) scanEvents(p []byte) {
	want := idOf(a.in)
	for _, line := range bytes.Split(p, []byte("\n")) {
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue
		}
		msg, err := jsonrpc.DecodeMessage(data)
		if err != nil {
			continue
		}
		if resp, ok := msg.(*jsonrpc.Response); ok && resp.Error != nil && resp.ID == want {
			a.audited = true
			a.h.auditRefusal(a.r, a.start, a.id, policy.RefusedRequest, toolOf(a.in), a.in.client,
				"answered with JSON-RPC error "+truncate(resp.Error.Error(), maxHead))
		}
	}
}

// finish audits an error status of the SDK's answer.
func (a *auditWriter) finish() {
	if a.audited || a.status < 400 {
		return
	}
	if a.status == http.StatusMethodNotAllowed && a.r.Method == http.MethodGet {
		// How a stateless server says it offers no event stream: clients
		// try once per session; nothing was refused to anyone.
		return
	}
	a.audited = true
	kind := policy.RefusedRequest
	switch a.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		kind = policy.RefusedAuth
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		kind = policy.RefusedCapacity
	}
	tool := toolOf(a.in)
	a.h.auditRefusal(a.r, a.start, a.id, kind, tool, a.in.client,
		fmt.Sprintf("http %d: %s", a.status, strings.TrimSpace(truncate(string(a.head), maxHead))))
}
