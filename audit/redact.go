package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Mask replaces every secret value in an audit line.
const Mask = "***"

// maxArgs bounds the masked arguments of one line, so that one call with huge
// arguments cannot make a line too long to read back cheaply.
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
func maskArgs(args json.RawMessage, s *Scrubber) json.RawMessage {
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

func maskValue(v any, s *Scrubber) any {
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

// Scrubber knows the actual secrets of the process (the vCenter password, the launch
// token) and replaces each occurrence of them, and of their URL-escaped forms, in
// any string by "***". A nil or zero Scrubber leaves text as it is. It is safe for
// concurrent use.
//
// Security: key-based masking cannot catch a password echoed in an error message or
// typed into a VM name; this can. Every secret is scrubbed whatever its length, even
// when that garbles text, because a readable line is worth less than a kept secret.
type Scrubber struct {
	mu       sync.RWMutex
	secrets  []string
	replacer *strings.Replacer
}

// NewScrubber returns a Scrubber for secrets; empty strings are ignored.
func NewScrubber(secrets ...string) *Scrubber {
	s := new(Scrubber)
	s.Add(secrets...)
	return s
}

// Add registers more secrets; empty strings are ignored.
func (s *Scrubber) Add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		s.secrets = append(s.secrets, secret, url.QueryEscape(secret), url.PathEscape(secret))
	}
	// Longest first, so that a secret containing another is replaced whole.
	slices.SortFunc(s.secrets, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	s.secrets = slices.Compact(s.secrets)
	pairs := make([]string, 0, 2*len(s.secrets))
	for _, secret := range s.secrets {
		pairs = append(pairs, secret, Mask)
	}
	s.replacer = strings.NewReplacer(pairs...)
}

// Scrub returns text with every registered secret replaced by "***".
func (s *Scrubber) Scrub(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.replacer == nil {
		return text
	}
	return s.replacer.Replace(text)
}

// scrubRecord returns a copy of r with its arguments masked and every string field
// scrubbed; r itself is not changed.
func (s *Scrubber) scrubRecord(r *Record) Record {
	c := *r
	c.Args = maskArgs(r.Args, s)
	for _, f := range []*string{&c.Tool, &c.Decision, &c.Error, &c.Role, &c.TokenFP, &c.VCenter,
		&c.Client.Name, &c.Client.Version, &c.RequestID} {
		*f = s.Scrub(*f)
	}
	if r.Target != nil {
		c.Target = &Target{ID: s.Scrub(r.Target.ID), Name: s.Scrub(r.Target.Name)}
	}
	if r.Task != nil {
		c.Task = &Task{ID: s.Scrub(r.Task.ID), State: TaskState(s.Scrub(string(r.Task.State)))}
	}
	return c
}
