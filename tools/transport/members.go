package transport

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// reader reads the parts of one message json.Valid has passed: its
// objects' members and its strings, by walking the bytes where that gives
// what encoding/json would decode, by decoding elsewhere. decodeOnly, for
// tests, always decodes: checkMessage must come to the same answer either
// way.
type reader struct{ decodeOnly bool }

// members returns the members of obj, a JSON object, by exact name (a key
// with an escape is decoded first, and may be any of the names).
func (r reader) members(obj []byte) map[string]json.RawMessage {
	if !r.decodeOnly {
		if m, ok := plainMembers(obj); ok {
			return m
		}
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(obj, &m) // an object, and valid JSON
	return m
}

// str decodes raw, a JSON value, into the string s: one without an escape
// is its bytes between the quotes (the message is valid UTF-8 and holds no
// control character), anything else is json.Unmarshal's, errors included.
func (r reader) str(raw []byte, s *string) error {
	if n := len(raw); !r.decodeOnly && n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 {
		*s = string(raw[1 : n-1])
		return nil
	}
	return json.Unmarshal(raw, s)
}

// plainMembers splits obj, a JSON object within a message json.Valid has
// passed, into its members by name, each value the bytes it has in obj (as
// encoding/json gives a json.RawMessage). It does in one walk what
// json.Unmarshal into a map[string]json.RawMessage does in a scan and a
// decoding. ok is false when a key holds an escape or a byte beyond ASCII,
// whose bytes are not its name: the caller decodes obj then. The values
// share obj's memory.
func plainMembers(obj []byte) (m map[string]json.RawMessage, ok bool) {
	w := walker{data: obj}
	w.space()
	if w.i >= len(w.data) || w.data[w.i] != '{' {
		return nil, false
	}
	w.i++
	m = make(map[string]json.RawMessage, 4)
	for {
		w.space()
		if w.i >= len(w.data) { // not JSON: cannot be, but never an index out of range
			return nil, false
		}
		switch w.data[w.i] {
		case '}':
			return m, true
		case ',':
			w.i++
			w.space()
		}
		key, plain := w.str()
		if !plain {
			return nil, false
		}
		w.space()
		w.i++ // the colon
		w.space()
		if w.i >= len(w.data) {
			return nil, false
		}
		start := w.i
		w.value()
		m[name(key)] = obj[start:w.i:w.i]
	}
}

// name is key as a string, without allocating one for the names every
// message has.
func name(key []byte) string {
	switch string(key) {
	case "jsonrpc":
		return "jsonrpc"
	case "id":
		return "id"
	case "method":
		return "method"
	case "params":
		return "params"
	case "name":
		return "name"
	case "arguments":
		return "arguments"
	case "_meta":
		return "_meta"
	case mcp.MetaKeyProtocolVersion:
		return mcp.MetaKeyProtocolVersion
	}
	return string(key)
}

// walker moves through JSON that json.Valid has passed; it checks nothing.
type walker struct {
	data []byte
	i    int
}

func (w *walker) space() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// str moves past the string at w.i and returns its bytes between the
// quotes; plain is false when they hold an escape or a byte beyond ASCII.
func (w *walker) str() (s []byte, plain bool) {
	w.i++ // the opening quote
	start, plain := w.i, true
	for w.i < len(w.data) {
		switch c := w.data[w.i]; c {
		case '"':
			s = w.data[start:w.i]
			w.i++
			return s, plain
		case '\\':
			plain = false
			w.i += 2
		default:
			plain = plain && c < utf8.RuneSelf
			w.i++
		}
	}
	return nil, false
}

// value moves past the value at w.i, leaving w.i just after its last byte.
func (w *walker) value() {
	switch w.data[w.i] {
	case '{', '[':
		depth := 0
		for w.i < len(w.data) {
			switch w.data[w.i] {
			case '"':
				w.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					w.i++
					return
				}
			}
			w.i++
		}
	case '"':
		w.str()
	default: // a number, true, false or null
		for w.i < len(w.data) {
			switch w.data[w.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return
			}
			w.i++
		}
	}
}
