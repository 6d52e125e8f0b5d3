package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// member is one name/value pair of a JSON object, in document order.
type member struct {
	key    string
	value  json.RawMessage
	offset int64 // byte offset of value in the whole document
}

// objectMembers splits data, which must be one JSON object, into its members. base is
// the offset of data in the document the operator wrote, so that errors point into it.
// Unlike json.Unmarshal into a map, it keeps repeated keys, which callers refuse.
//
// Security: its errors quote nothing from data but the single character json reports.
func objectMembers(data []byte, base int64) ([]member, error) {
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, syntaxError(err, base)
	}
	if k := kindOf(data); k != "an object" {
		return nil, fmt.Errorf("want a JSON object, got %s", k)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '{', checked above
		return nil, syntaxError(err, base)
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err, base)
		}
		key, _ := tok.(string) // object keys are always strings in valid JSON
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, syntaxError(err, base)
		}
		ms = append(ms, member{key: key, value: v, offset: base + dec.InputOffset() - int64(len(v))})
	}
	return ms, nil
}

// syntaxError turns a json error into "invalid JSON at offset N: …", N counting
// bytes from 0 in the operator's document.
func syntaxError(err error, base int64) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	off := se.Offset
	if off > 0 && se.Error() != "unexpected end of JSON input" {
		off-- // json counts the offending byte as read
	}
	return fmt.Errorf("invalid JSON at offset %d: %s", base+off, se.Error())
}

// kindOf names the JSON type of a valid value, for messages such as
// "got a number, want a string".
func kindOf(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// display quotes a role or tool name for a message, or hides it when it may be a
// token pasted into the wrong place.
//
// Security: a name is shown only when it looks like an identifier: at most 32
// characters of letters, digits, '_', '-' and '.', starting with a letter, with at
// most three digits. Random tokens almost never pass; names such as "ops",
// "vm_admin" or "list_vms" always do.
func display(name string) string {
	if looksLikeName(name) {
		return strconv.Quote(name)
	}
	return fmt.Sprintf("<hidden %d-character name>", len(name))
}

func looksLikeName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	digits := 0
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i == 0:
			return false
		case c >= '0' && c <= '9':
			digits++
		case c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return digits <= 3
}
