package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
)

// Mask replaces every secret value in an audit line ([redact.Mask]).
const Mask = redact.Mask

// maxArgs bounds the masked arguments of one line, so that one call with huge
// arguments cannot make a line too long to read back cheaply; the line as a
// whole is bounded by MaxLine too, which may replace smaller arguments.
const maxArgs = 64 << 10

// secretKeyParts are the fragments that make an argument name secret-looking, after
// lower-casing and dropping '_', '-', '.' and spaces ("API-Key" → "apikey").
var secretKeyParts = []string{
	"password", "passwd", "passphrase", "pwd", "secret", "token", "apikey",
	"authorization", "cookie", "session", "credential", "privatekey",
}

// IsSecretKey reports whether an argument named key holds a secret by its name:
// password, token, api_key, authorization, cookie, session, credential, private_key
// and the like, matched case-insensitively anywhere in the name.
func IsSecretKey(key string) bool {
	k := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(key))
	for _, part := range secretKeyParts {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}

// MaskArgs returns args with the value of every secret-looking member ([IsSecretKey]),
// at any depth, replaced by "***". Members come out sorted. Empty args become {};
// args that are not valid JSON become {"_invalid_json":true}, since nothing in them
// can be told safe; masked args over 64 KiB become {"_too_large_bytes":N}.
func MaskArgs(args json.RawMessage) json.RawMessage {
	return maskArgs(args, nil)
}

// maskArgs is MaskArgs that also passes every string, keys included, through s.
func maskArgs(args json.RawMessage, s *redact.Scrubber) json.RawMessage {
	if len(bytes.TrimSpace(args)) == 0 {
		return json.RawMessage(`{}`)
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage(`{"_invalid_json":true}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return json.RawMessage(`{"_invalid_json":true}`)
	}
	out, err := json.Marshal(maskValue(v, s))
	if err != nil { // cannot happen: v came from the decoder
		return json.RawMessage(`{"_invalid_json":true}`)
	}
	if len(out) > maxArgs {
		return fmt.Appendf(nil, `{"_too_large_bytes":%d}`, len(out))
	}
	return out
}

func maskValue(v any, s *redact.Scrubber) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, val := range v {
			if IsSecretKey(k) {
				m[s.Scrub(k)] = Mask
			} else {
				m[s.Scrub(k)] = maskValue(val, s)
			}
		}
		return m
	case []any:
		for i := range v {
			v[i] = maskValue(v[i], s)
		}
		return v
	case string:
		return s.Scrub(v)
	}
	return v
}
