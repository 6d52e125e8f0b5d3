// Package redact owns the secrets of the process (the vCenter password, the
// launch token, session tokens) and removing them from text: one [Scrubber],
// built at start-up and shared by everything that writes text the operator,
// the model or a file will see (audit lines, logs, results, errors).
//
// It knows nothing of MCP, HTTP, vCenter or the audit format, and imports only
// the standard library, so that every package may use it.
//
// # What is replaced
//
// A secret of [MinAnywhere] bytes or more is replaced wherever it occurs, and
// so are the forms in which it is usually echoed: URL-escaped (query and path),
// JSON-escaped (with and without HTML escaping) and, for a user's password
// ([Scrubber.AddCredentials]), the HTTP Basic authorization value
// base64(user ":" password). Every occurrence of every form is found, and
// overlapping or touching occurrences are replaced together by one [Mask], so
// that no part of a secret survives next to another.
//
// A shorter secret ("p", "admin", "vmware1") is replaced only where it
// stands as a whole token: where its first character is a word character
// (a letter, a digit or '_'), the character before it must not be one, and
// likewise after its last character. So password "p" turns "pw=p&x" into
// "pw=***&x" but leaves "http" alone, and token "e" no longer turns
// "get_vm_details" into "g***t_vm_d***tails".
//
// Why 8 bytes: a secret of 8 or more bytes occurs in ordinary text by chance
// almost never, while a shorter one ("e", "p", "admin", "Passw0r") is a
// word, a piece of a word or of an identifier, and replacing it everywhere
// corrupts names, tool names and hash-chained audit lines, and tells anyone
// who sees the corruption where the secret matched (an oracle). A short
// secret glued inside a longer word is not what an echo of it looks like:
// echoes quote it, or put it after "=" or ":", or between spaces.
//
// '_' counts as a word character because the identifiers this server
// handles (tool names, argument names) are snake_case: "vm" inside
// "get_vm_details" is part of one token, not a token of its own.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Mask replaces every secret.
const Mask = "***"

// MinAnywhere is the length in bytes from which a secret (or one of its forms)
// is replaced wherever it occurs; shorter ones are replaced only as whole
// tokens. See the package comment for why.
const MinAnywhere = 8

// Scrubber knows the secrets of the process and replaces them in text. A nil
// or zero Scrubber leaves text as it is. It is safe for concurrent use; secrets
// may be added at any time (a session token after a login).
//
// Security: key-based masking of arguments cannot catch a password echoed in
// an error message or typed into a VM name; a Scrubber can.
type Scrubber struct {
	mu       sync.RWMutex
	forms    []string   // every form of every secret, longest first, without duplicates
	bySecret [][]string // the forms of each secret, as added
}

// New returns a Scrubber for secrets; empty strings are ignored.
func New(secrets ...string) *Scrubber {
	s := new(Scrubber)
	s.Add(secrets...)
	return s
}

// Add registers secrets (a token, a password whose user is unknown) with
// their URL- and JSON-escaped forms; empty strings are ignored, and so are
// secrets made only of '*' (part of the mask itself, so they cannot be masked).
func (s *Scrubber) Add(secrets ...string) {
	var forms []string
	for _, secret := range secrets {
		forms = append(forms, formsOf(secret)...)
	}
	s.addForms(forms)
}

// AddCredentials registers a user's password: the password with its forms
// (as [Scrubber.Add]) and the HTTP Basic authorization value
// base64(user ":" password), which a server or proxy may echo from a request
// header. The user name itself is not a secret. An empty password adds
// nothing.
func (s *Scrubber) AddCredentials(user, password string) {
	if password == "" {
		return
	}
	forms := formsOf(password)
	forms = append(forms, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	s.addForms(forms)
}

// formsOf returns secret as typed, URL-escaped (query and path) and
// JSON-escaped (with and without HTML escaping, as encoding/json writes it).
func formsOf(secret string) []string {
	if strings.Trim(secret, "*") == "" {
		return nil
	}
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	for _, html := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		_ = enc.Encode(secret) // a string always encodes
		q := strings.TrimSuffix(b.String(), "\n")
		forms = append(forms, q[1:len(q)-1])
	}
	return forms
}

func (s *Scrubber) addForms(forms []string) {
	if s == nil || len(forms) == 0 { // a nil Scrubber knows nothing and leaves text alone
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bySecret = append(s.bySecret, forms)
	all := append(slices.Clone(s.forms), forms...)
	// Longest first: when two forms start at the same place, the longer one
	// decides the extent of the match. Sorted and compacted, duplicates go.
	slices.SortFunc(all, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	s.forms = slices.Compact(all)
}

// Scrub returns text with every secret replaced by [Mask]. Text without a
// secret comes back unchanged (the same string).
func (s *Scrubber) Scrub(text string) string {
	out, _ := s.scrub(text)
	return out
}

// Contains reports whether text holds a secret that [Scrubber.Scrub] would
// replace.
func (s *Scrubber) Contains(text string) bool {
	_, found := s.scrub(text)
	return found
}

// ScrubFound is [Scrubber.Scrub] that also reports whether anything was
// replaced, for a caller that must act differently then (count it, log it).
func (s *Scrubber) ScrubFound(text string) (string, bool) {
	return s.scrub(text)
}

// ScrubExcept is [Scrubber.Scrub] that leaves alone the secrets (all their
// forms) that occur in except: the caller's own input, echoed back to it.
//
// Security: scrubbing a client's input in the answer to that client tells it
// which of its guesses was a secret (send "hunter2|<guess>" as a tool name,
// read back "hunter2|***"): an oracle. A secret the client sent is one it
// knows; leaving it as sent reveals nothing, while every other secret in the
// text is still replaced.
func (s *Scrubber) ScrubExcept(text, except string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	forms, bySecret := s.forms, s.bySecret
	s.mu.RUnlock()
	if except != "" {
		var keep []string
		for _, secret := range bySecret {
			sent := false
			for _, f := range secret {
				sent = sent || occurrence(except, f, 0) >= 0
			}
			if !sent {
				keep = append(keep, secret...)
			}
		}
		slices.SortFunc(keep, func(a, b string) int {
			if len(a) != len(b) {
				return len(b) - len(a)
			}
			return strings.Compare(a, b)
		})
		forms = slices.Compact(keep)
	}
	out, _ := scrubForms(text, forms)
	return out
}

func (s *Scrubber) scrub(text string) (string, bool) {
	if s == nil || text == "" {
		return text, false
	}
	s.mu.RLock()
	forms := s.forms
	s.mu.RUnlock()
	return scrubForms(text, forms)
}

func scrubForms(text string, forms []string) (string, bool) {
	if len(forms) == 0 {
		return text, false
	}
	text, found := replaceOnce(text, forms)
	// Masking can bring the pieces of a long secret that holds a '*' together
	// ("abc" + secret + "defg" becomes "abc***defg", itself a secret), so
	// those forms are matched again until nothing changes. Each round
	// replaces at least MinAnywhere bytes by three, so the rounds end. Short
	// forms are matched once, against the text as given: whether they stand
	// as whole tokens is a property of that text.
	for again := starred(forms); found && len(again) > 0; {
		out, changed := replaceOnce(text, again)
		if !changed {
			break
		}
		text = out
	}
	return text, found
}

// starred returns the forms of at least MinAnywhere bytes that hold a '*'.
func starred(forms []string) []string {
	var out []string
	for _, f := range forms {
		if len(f) >= MinAnywhere && strings.Contains(f, "*") {
			out = append(out, f)
		}
	}
	return out
}

// span is a half-open byte range [start, end) of text to mask.
type span struct{ start, end int }

// replaceOnce masks every occurrence of every form in one pass: it walks the
// occurrences of all forms in order of position (one cursor per form, so
// memory stays proportional to the number of forms, not to the matches) and
// merges those that overlap or touch into one masked span.
func replaceOnce(text string, forms []string) (string, bool) {
	next := make([]int, len(forms)) // the next occurrence of each form; -1 when none is left
	for i, f := range forms {
		next[i] = occurrence(text, f, 0)
	}
	var b strings.Builder
	copied := 0 // text[:copied] is already in b
	cur := span{-1, -1}
	flush := func() {
		if cur.start < 0 {
			return
		}
		if b.Len() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[copied:cur.start])
		b.WriteString(Mask)
		copied = cur.end
	}
	for {
		best := -1
		for i, at := range next {
			if at >= 0 && (best < 0 || at < next[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		at := next[best]
		end := at + len(forms[best])
		switch {
		case cur.start < 0:
			cur = span{at, end}
		case at <= cur.end: // overlaps or touches the span being built
			cur.end = max(cur.end, end)
		default:
			flush()
			cur = span{at, end}
		}
		next[best] = occurrence(text, forms[best], at+1)
	}
	if cur.start < 0 {
		return text, false
	}
	flush()
	b.WriteString(text[copied:])
	return b.String(), true
}

// occurrence returns the first index at or after from where form occurs in
// text as a match (anywhere for a long form, as a whole token for a short
// one), or -1.
func occurrence(text, form string, from int) int {
	for from <= len(text)-len(form) {
		i := strings.Index(text[from:], form)
		if i < 0 {
			return -1
		}
		at := from + i
		if len(form) >= MinAnywhere || wholeToken(text, at, at+len(form)) {
			return at
		}
		from = at + 1
	}
	return -1
}

// wholeToken reports whether text[start:end] is not glued to word characters:
// where its first (last) character is a word character, the character before
// (after) it is not one, or is the edge of text.
func wholeToken(text string, start, end int) bool {
	first, _ := utf8.DecodeRuneInString(text[start:end])
	if isWord(first) && start > 0 {
		if before, _ := utf8.DecodeLastRuneInString(text[:start]); isWord(before) {
			return false
		}
	}
	last, _ := utf8.DecodeLastRuneInString(text[start:end])
	if isWord(last) && end < len(text) {
		if after, _ := utf8.DecodeRuneInString(text[end:]); isWord(after) {
			return false
		}
	}
	return true
}

func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
