package audit

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
)

// MaxLine is the longest line, newline included, that this package writes.
// Every string field is capped (see [fieldCaps]) and arguments that would
// push a line past it are replaced by {"_too_large_bytes":N}, so a line is
// never longer, whatever a caller passes. Readers rely on it: a longer line
// was not written by this version.
const MaxLine = 64 << 10

// Caps of each string field, in bytes as written in JSON (escapes counted).
// Their sum with the fixed members stays far below MaxLine, so that only
// the arguments ever need the line-level bound.
const (
	capTool      = 256
	capDecision  = 64
	capError     = 8 << 10 // vCenter errors are capped at 8 messages of 500 bytes, plus the next step
	capRole      = 256
	capTokenFP   = 128
	capVCenter   = 512
	capTargetID  = 256
	capTarget    = 1024
	capTaskID    = 256
	capTaskState = 64
	capClient    = 256
	capVersion   = 128
	capRequestID = 256
)

// prepare returns the copy of r that is written: arguments masked, every
// string scrubbed of secrets and then capped, the timestamp in UTC and
// encodable, the duration finite. r itself is not changed.
//
// Security: strings are scrubbed before they are cut, so a secret is never
// cut in half and its first half kept.
func prepare(r *Record, s *redact.Scrubber, now func() time.Time) Record {
	c := *r
	c.Args = maskArgs(r.Args, s)
	str := func(v string, limit int) string { return capString(s.Scrub(v), limit, len(v)) }
	c.Tool = str(r.Tool, capTool)
	c.Decision = str(r.Decision, capDecision)
	c.Error = str(r.Error, capError)
	c.Role = str(r.Role, capRole)
	c.TokenFP = str(r.TokenFP, capTokenFP)
	c.VCenter = str(r.VCenter, capVCenter)
	c.Client = Client{Name: str(r.Client.Name, capClient), Version: str(r.Client.Version, capVersion)}
	c.RequestID = str(r.RequestID, capRequestID)
	if r.Target != nil {
		c.Target = &Target{ID: str(r.Target.ID, capTargetID), Name: str(r.Target.Name, capTarget)}
	}
	if r.Task != nil {
		c.Task = &Task{ID: str(r.Task.ID, capTaskID), State: TaskState(str(string(r.Task.State), capTaskState))}
	}
	// time.Time refuses to encode years outside 0–9999, and json refuses NaN
	// and infinities: a caller's odd value must not cost the line.
	c.TS = c.TS.UTC()
	if c.TS.IsZero() || c.TS.Year() < 0 || c.TS.Year() > 9999 {
		c.TS = now().UTC()
	}
	if math.IsNaN(c.DurationMS) || math.IsInf(c.DurationMS, 0) {
		c.DurationMS = 0
	}
	c.Phase, c.BeginSeq, c.Seq, c.Prev = "", 0, 0, ""
	return c
}

// capString returns s as valid UTF-8 (each invalid byte becomes U+FFFD) whose
// JSON encoding is at most limit bytes. A string that does not fit is cut on
// a character boundary and ends with a visible marker giving orig, the length
// of the value the caller passed: "…[truncated from 6000000 bytes]".
func capString(s string, limit, orig int) string {
	if fits(s, limit) {
		return s
	}
	marker := "…[truncated from " + strconv.Itoa(orig) + " bytes]"
	budget := limit - len(marker)
	var b strings.Builder
	used := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			r = utf8.RuneError // an invalid byte: U+FFFD, as encoding/json writes it
		}
		cost := jsonCost(r)
		if used+cost > budget {
			b.WriteString(marker)
			return b.String()
		}
		b.WriteRune(r)
		used += cost
		i += n
	}
	return b.String() // only invalid bytes were replaced; nothing was cut
}

// fits reports whether s is valid UTF-8 whose JSON encoding is at most limit
// bytes. It stops reading as soon as the answer is no.
func fits(s string, limit int) bool {
	if len(s) > limit {
		return false
	}
	used := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return false
		}
		used += jsonCost(r)
		if used > limit {
			return false
		}
		i += n
	}
	return true
}

// jsonCost is the number of bytes encoding/json (without HTML escaping)
// writes for r inside a string, or more: short escapes for '"', '\\', '\n',
// '\r', '\t', \u00XX for other control characters and for U+2028/U+2029.
func jsonCost(r rune) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '\u2028' || r == '\u2029':
		return 6
	}
	return utf8.RuneLen(r)
}
