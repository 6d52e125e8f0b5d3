package vcenter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Sentinels for the conditions callers branch on. An [*APIError] matches
// them through its Is method, by vCenter's error_type (or VI/JSON fault
// type), never by HTTP status: /api answers RESOURCE_BUSY with 500 and /rest
// with 400, and every VI/JSON fault is a 500.
var (
	ErrNotFound                 = errors.New("not found")
	ErrAlreadyInDesiredState    = errors.New("already in desired state")
	ErrNotAllowedInCurrentState = errors.New("not allowed in current state")
	ErrInvalidArgument          = errors.New("invalid argument")
	ErrUnsupported              = errors.New("unsupported")
	ErrUnauthenticated          = errors.New("unauthenticated")
	ErrUnauthorized             = errors.New("unauthorized")
	ErrUnableToAllocate         = errors.New("unable to allocate resource")
	ErrResourceBusy             = errors.New("resource busy")
	ErrServiceUnavailable       = errors.New("service unavailable")
	ErrInvalidLogin             = errors.New("invalid login")
	// ErrAlreadyExists is a name already taken: ALREADY_EXISTS, or
	// VI/JSON's DuplicateName (a clone into a folder that holds the name).
	ErrAlreadyExists = errors.New("already exists")

	// ErrInvalidID is matched by [*IDError]: the id was refused before any
	// request was built.
	ErrInvalidID = errors.New("invalid id")
	// ErrAmbiguous is matched by [*AmbiguousError].
	ErrAmbiguous = errors.New("ambiguous name")
	// ErrNoVIJSON reports a vCenter without the VI/JSON API (8.0 GA), which
	// this server needs for snapshots.
	ErrNoVIJSON = errors.New("snapshots need vCenter 8.0 U1 or later: this vCenter has no VI/JSON API (/sdk/vim25)")
	// ErrHostNotAllowed reports a hostname outside ALLOWED_VCENTER_HOSTS.
	ErrHostNotAllowed = errors.New("vCenter host not allowed")
	// ErrUntrustedCertificate is matched by a [*TLSError] for a certificate
	// this client does not accept: not trusted, for another name, or not
	// valid now.
	ErrUntrustedCertificate = errors.New("vCenter's TLS certificate not accepted")
	// ErrBadAnswer is matched by a [*TransportError] for an answer that
	// came but cannot be used: larger than [Config.MaxBodyBytes], or not
	// the JSON expected. vCenter was reached.
	ErrBadAnswer = errors.New("unusable vCenter answer")
)

// errorTypes maps vCenter error types (vAPI error_type and VI/JSON fault
// _typeName) to the sentinels above.
var errorTypes = map[string]error{
	"NOT_FOUND":                    ErrNotFound,
	"ManagedObjectNotFound":        ErrNotFound,
	"ALREADY_IN_DESIRED_STATE":     ErrAlreadyInDesiredState,
	"NOT_ALLOWED_IN_CURRENT_STATE": ErrNotAllowedInCurrentState,
	"InvalidPowerState":            ErrNotAllowedInCurrentState,
	"InvalidState":                 ErrNotAllowedInCurrentState,
	"INVALID_ARGUMENT":             ErrInvalidArgument,
	"InvalidArgument":              ErrInvalidArgument,
	"InvalidRequest":               ErrInvalidArgument,
	"UNSUPPORTED":                  ErrUnsupported,
	"NotSupported":                 ErrUnsupported,
	"UNAUTHENTICATED":              ErrUnauthenticated,
	"NotAuthenticated":             ErrUnauthenticated,
	"UNAUTHORIZED":                 ErrUnauthorized,
	"NoPermission":                 ErrUnauthorized,
	"UNABLE_TO_ALLOCATE_RESOURCE":  ErrUnableToAllocate,
	"NoDiskSpace":                  ErrUnableToAllocate,
	"InsufficientResourcesFault":   ErrUnableToAllocate,
	"ALREADY_EXISTS":               ErrAlreadyExists,
	"DuplicateName":                ErrAlreadyExists,
	"RESOURCE_BUSY":                ErrResourceBusy,
	"TaskInProgress":               ErrResourceBusy,
	"SERVICE_UNAVAILABLE":          ErrServiceUnavailable,
	"InvalidLogin":                 ErrInvalidLogin,
}

// APIError is an error answer from vCenter: an /api or /rest error body, or a
// VI/JSON fault, or a bare HTTP status when the body could not be read.
type APIError struct {
	Status   int      // HTTP status
	Method   string   // request method
	Path     string   // request path and query, without host
	Type     string   // vAPI error_type ("NOT_FOUND") or VI/JSON fault type ("InvalidPowerState")
	Messages []string // vCenter's default messages, sanitised
	// MessageIDs are vCenter's message ids, e.g.
	// "com.vmware.api.vcenter.vm.too_many_matches".
	MessageIDs []string
	// RetryAfter is how long vCenter asked to wait (Retry-After), 0 if it
	// did not ask. Error says whether the request was retried.
	RetryAfter time.Duration

	retryNote string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vCenter %s %s: ", e.Method, e.Path)
	if e.Type != "" {
		b.WriteString(e.Type)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Messages, "; "))
	}
	if e.retryNote != "" {
		fmt.Fprintf(&b, " (%s)", e.retryNote)
	}
	return b.String()
}

// Is matches the sentinel for e.Type.
func (e *APIError) Is(target error) bool {
	s, ok := errorTypes[e.Type]
	return ok && s == target
}

// Message is vCenter's first message, or "" when it sent none.
func (e *APIError) Message() string {
	if len(e.Messages) == 0 {
		return ""
	}
	return e.Messages[0]
}

// TransportError is a request that got no usable answer: a connection
// failure, a timeout, a body too large or not JSON. For a request that
// changes state, MaybeApplied says whether vCenter may have acted on it.
type TransportError struct {
	Method, Path string
	Err          error
	// MaybeApplied is true for a POST, PATCH or DELETE that was (or may have
	// been) sent: vCenter may have applied it, and it is never re-sent.
	MaybeApplied bool
}

func (e *TransportError) Error() string {
	msg := fmt.Sprintf("vCenter %s %s: %v", e.Method, e.Path, e.Err)
	if e.MaybeApplied {
		msg += " (the request may have been applied: check the current state before trying again)"
	}
	return msg
}

func (e *TransportError) Unwrap() error { return e.Err }

// TLSError is a request refused at the TLS handshake: vCenter's host was
// reached, and nothing of the request was sent. It is deliberately not a
// [*TransportError], which means vCenter could not be reached or gave no
// usable answer. Its text names the certificate (subject, issuer) and the
// fix, as doctor's TLS check does.
type TLSError struct {
	Method, Path string
	Host         string // "host:port"
	// Subject and Issuer name the certificate vCenter presented, when the
	// refusal is about it.
	Subject, Issuer string
	Err             error // the crypto/tls or crypto/x509 error

	certificate bool // a refused certificate, as opposed to TLS itself
	text        string
}

func (e *TLSError) Error() string { return fmt.Sprintf("vCenter %s %s: %s", e.Method, e.Path, e.text) }

func (e *TLSError) Unwrap() error { return e.Err }

// Is matches [ErrUntrustedCertificate] for a refused certificate.
func (e *TLSError) Is(target error) bool { return target == ErrUntrustedCertificate && e.certificate }

// AmbiguousError reports a name that matches more than one object. The
// caller must choose; this package never acts on the first match.
type AmbiguousError struct {
	Kind       Kind
	Name       string
	Candidates []Candidate
}

// Candidate is one object matching an ambiguous name, with where it lives.
type Candidate struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Datacenter string `json:"datacenter,omitempty"`
	Folder     string `json:"folder,omitempty"`
	PowerState string `json:"power_state,omitempty"`
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %ss are named %q: ", len(e.Candidates), e.Kind, e.Name)
	for i, c := range e.Candidates {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.ID)
		var where []string
		if c.Datacenter != "" {
			where = append(where, fmt.Sprintf("datacenter %q", c.Datacenter))
		}
		if c.Folder != "" {
			where = append(where, fmt.Sprintf("folder %q", c.Folder))
		}
		if len(where) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(where, ", "))
		}
	}
	return b.String()
}

// Is makes every AmbiguousError match [ErrAmbiguous].
func (e *AmbiguousError) Is(target error) bool { return target == ErrAmbiguous }

// vapiError is the /api error body; /rest nests it under "value".
type vapiError struct {
	ErrorType string `json:"error_type"`
	Messages  []struct {
		ID             string `json:"id"`
		DefaultMessage string `json:"default_message"`
	} `json:"messages"`
}

// restError is the /rest error body: {"type": "com.vmware.vapi.std.errors.x", "value": {...}}.
type restError struct {
	Type  string    `json:"type"`
	Value vapiError `json:"value"`
}

// vimFault is a VI/JSON fault: the body of an HTTP 500 (vcenter-api.md
// §3.3), or TaskInfo.error, which a live 8.0.3 sends in that same bare form
// while the documented form wraps it in a LocalizedMethodFault
// (vcenter-api-changes.md §0.2). applyFault reads both.
type vimFault struct {
	TypeName    string `json:"_typeName"`
	FaultString string `json:"faultstring"`
	// FaultMessage is MethodFault.faultMessage, read when no faultstring
	// or localizedMessage says what happened.
	FaultMessage []struct {
		Message string `json:"message"`
	} `json:"faultMessage"`
	// LocalizedMethodFault, the documented form of TaskInfo.error.
	Fault            *vimFault `json:"fault"`
	LocalizedMessage string    `json:"localizedMessage"`
}

// maxMessages caps how many of vCenter's messages an error carries.
const maxMessages = 8

// cleaner makes a string from vCenter safe to show, capped at max bytes:
// [sanitize], or a client's [Client.clean], which also removes secrets.
type cleaner func(s string, max int) string

// decodeVAPIError builds an APIError from an /api or /rest error answer,
// passing vCenter's strings through clean.
//
// A /rest body names its type twice: in "type"
// ("com.vmware.vapi.std.errors.not_found") and, on 7.x and later, in
// value.error_type. Some bodies lack the latter: the /rest 401 quoted from
// a live server (vcenter-api.md §1.4) and 6.x bodies (§4). The type is then
// read from "type". A /rest answer in the /api shape (bare error_type) is
// read too.
func decodeVAPIError(status int, method, path string, body []byte, rest bool, clean cleaner) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var v vapiError
	if rest {
		var r restError
		if json.Unmarshal(body, &r) != nil {
			return e
		}
		v = r.Value
		if v.ErrorType == "" {
			v.ErrorType = restErrorType(r.Type)
		}
		if v.ErrorType == "" && len(v.Messages) == 0 {
			_ = json.Unmarshal(body, &v) // not wrapped: the /api shape
		}
	} else if json.Unmarshal(body, &v) != nil {
		return e
	}
	e.Type = clean(v.ErrorType, 64)
	for _, m := range v.Messages[:min(len(v.Messages), maxMessages)] {
		e.Messages = append(e.Messages, clean(m.DefaultMessage, maxMessageLen))
		e.MessageIDs = append(e.MessageIDs, clean(m.ID, 128))
	}
	return e
}

// restErrorType turns a /rest error type name into its error_type:
// "com.vmware.vapi.std.errors.not_found" → "NOT_FOUND". A name outside
// the standard errors is kept as it is, and matches no sentinel.
func restErrorType(name string) string {
	if t, ok := strings.CutPrefix(name, "com.vmware.vapi.std.errors."); ok && t != "" {
		return strings.ToUpper(t)
	}
	return name
}

// decodeVimFault builds an APIError from a VI/JSON fault body, passing
// vCenter's strings through clean.
func decodeVimFault(status int, method, path string, body []byte, clean cleaner) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var f vimFault
	if json.Unmarshal(body, &f) != nil {
		return e
	}
	applyFault(e, &f, clean)
	return e
}

// applyFault copies a fault into e: a bare fault, or a LocalizedMethodFault
// wrapping one. The message is the first of localizedMessage, faultstring
// and faultMessage[].message that is set; the type is the fault's own, and
// e keeps the type it had when vCenter names none.
func applyFault(e *APIError, f *vimFault, clean cleaner) {
	inner := f
	if f.Fault != nil {
		inner = f.Fault
	}
	msg := f.LocalizedMessage
	for _, g := range []*vimFault{inner, f} {
		if msg == "" {
			msg = g.FaultString
		}
		for _, m := range g.FaultMessage {
			if msg == "" {
				msg = m.Message
			}
		}
	}
	if t := inner.TypeName; t != "" && t != "LocalizedMethodFault" {
		e.Type = clean(t, 64)
	}
	if msg != "" {
		e.Messages = []string{clean(msg, maxMessageLen)}
	}
}

// maxMessageLen caps a vCenter message carried into errors and results.
const maxMessageLen = 500

// sanitize makes text from vCenter safe to show: control characters and
// line or paragraph separators become spaces, invisible format characters
// (bidirectional overrides, zero-width characters) are dropped, and the
// length is capped at max bytes plus an ellipsis.
//
// Security: vCenter messages and names are untrusted data (a VM name, a
// guest-reported host name or a fault message can carry text aimed at the
// model, terminal escapes, or bidirectional overrides that make a reader see
// other text than the bytes say).
func sanitize(s string, max int) string {
	if len(s) <= max && printableASCII(s) {
		return s // nothing to replace, drop or cut: the common case
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		case unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// printableASCII reports whether s is all printable ASCII (space to
// tilde): no control, format or invalid characters.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
