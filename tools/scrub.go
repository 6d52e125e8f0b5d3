package tools

import (
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// scrubResult replaces any secret in a result's text and structured
// content, except those the caller itself sent (input: the tool name and
// arguments as received).
//
// Security: vCenter error messages and names are echoed into results; one
// that repeats a credential must not carry it to the model. But masking the
// caller's own input echoed back would tell it which guess was a secret (an
// oracle): what it sent comes back as sent.
func (m *Middleware) scrubResult(r *mcp.CallToolResult, input string) {
	if r == nil || m.scrub == nil {
		return
	}
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			t.Text = m.scrub.ScrubExcept(t.Text, input)
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
	if clean := m.scrub.ScrubExcept(string(raw), input); clean != string(raw) && json.Valid([]byte(clean)) {
		r.StructuredContent = json.RawMessage(clean)
	}
}
