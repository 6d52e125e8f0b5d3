package vcentersim

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
)

// FaultKind is how an injected [Fault] answers.
type FaultKind int

const (
	// FaultStatus answers Fault.Status with an error body in the shape of the
	// request's surface: an /api or /rest error with Fault.ErrorType as
	// error_type, or a VI/JSON fault with Fault.ErrorType as _typeName.
	FaultStatus FaultKind = iota
	// FaultReset reads the request, then drops the connection with a TCP
	// reset and no answer.
	FaultReset
	// FaultMalformedJSON answers 200 with JSON that does not parse.
	FaultMalformedJSON
	// FaultOversized answers 200 and streams Fault.Size bytes (64 MiB by
	// default) of well-formed JSON, to test a client's response size limit.
	FaultOversized
	// FaultHang never answers: the request blocks until the client gives up
	// or the server closes.
	FaultHang
)

// String returns the kind's name.
func (k FaultKind) String() string {
	switch k {
	case FaultStatus:
		return "status"
	case FaultReset:
		return "reset"
	case FaultMalformedJSON:
		return "malformed-json"
	case FaultOversized:
		return "oversized"
	case FaultHang:
		return "hang"
	default:
		return fmt.Sprintf("FaultKind(%d)", int(k))
	}
}

// Fault describes a failure to inject with [Server.InjectFault].
type Fault struct {
	// Method is the HTTP method to hit; "" hits any.
	Method string
	// Path is matched against the escaped request path, segment by segment;
	// a "*" segment matches any one segment ("/api/vcenter/vm/*/power").
	// "" hits any path.
	Path string
	// Count is how many matching requests the fault answers; 0 means one,
	// a negative count means every one until [Server.ClearFaults].
	Count int
	Kind  FaultKind

	// For FaultStatus. Status 0 takes the status of ErrorType on the
	// surface (contract §4), or 500 for VI/JSON. ErrorType "" takes the
	// type of Status, or SERVICE_UNAVAILABLE (VI/JSON: SystemError).
	Status     int
	ErrorType  string
	Message    string // default: a message naming the injection
	RetryAfter string // sets the Retry-After header of the answer
	// EchoRequest appends the request to the message: its request line,
	// every header (Authorization and the session header included) and its
	// body, as some proxies' and appliances' error pages do. It tests that a
	// client never passes such an echo on.
	EchoRequest bool

	// Body, when set, is written verbatim (as application/json) instead of
	// the generated body of FaultStatus or FaultMalformedJSON.
	Body []byte

	// Size is the body size of FaultOversized in bytes; 0 means 64 MiB.
	Size int64
}

// activeFault is an injected fault with its remaining hits.
type activeFault struct {
	Fault
	remaining int // < 0: unlimited
}

// InjectFault adds f. Faults are tried in the order injected; the first
// that matches a request answers it, and its count goes down.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := f.Count
	if n == 0 {
		n = 1
	}
	f.Body = bytes.Clone(f.Body)
	s.faults = append(s.faults, &activeFault{Fault: f, remaining: n})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault that answers a request, consuming one hit.
// Caller holds mu.
func (s *Server) takeFault(method, escapedPath string) *Fault {
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != method) || !pathMatches(f.Path, escapedPath) {
			continue
		}
		if f.remaining > 0 {
			f.remaining--
			if f.remaining == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		out := f.Fault
		return &out
	}
	return nil
}

// pathMatches matches a fault's path pattern; "*" stands for one segment.
func pathMatches(pattern, path string) bool {
	if pattern == "" {
		return true
	}
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// serveFault answers a request with an injected fault.
func (s *Server) serveFault(c *call, f *Fault) {
	if f.RetryAfter != "" {
		c.w.Header().Set("Retry-After", f.RetryAfter)
	}
	switch f.Kind {
	case FaultReset:
		resetConnection(c.w)
	case FaultHang:
		select {
		case <-c.r.Context().Done():
			s.noteAbandoned(c.r)
		case <-s.closing:
			s.abort(c.w)
		}
	case FaultMalformedJSON:
		body := f.Body
		if body == nil {
			body = map[surface][]byte{
				surfaceAPI:  []byte(`[{"vm":"vm-1001","name":"web-0`),
				surfaceREST: []byte(`{"value":[{"vm":"vm-1001","na`),
				surfaceVIM:  []byte(`{"_typeName":"TaskInfo","key":"task-`),
			}[c.surface]
			if body == nil {
				body = []byte(`{"error":`)
			}
		}
		c.w.Header().Set("Content-Type", "application/json")
		_, _ = c.w.Write(body)
	case FaultOversized:
		s.streamOversized(c, f.Size)
	default:
		s.serveStatusFault(c, f)
	}
}

func (s *Server) serveStatusFault(c *call, f *Fault) {
	message := func(kind string) string {
		msg := f.Message
		if msg == "" {
			msg = fmt.Sprintf("Simulated %s injected by vcentersim.", kind)
		}
		if f.EchoRequest {
			msg += " Request: " + echo(c)
		}
		return msg
	}
	var status int
	var body any
	switch {
	case c.surface.vapi():
		errType := cmp.Or(f.ErrorType, vapiTypeForStatus(f.Status))
		verr := newVAPIError(errType, "com.vmware.vcentersim.injected_fault", message(errType))
		status, body = apiStatus[errType], verr.apiBody()
		if c.surface == surfaceREST {
			status, body = restStatus[errType], s.restBody(verr)
		}
	case c.surface == surfaceVIM:
		typeName := cmp.Or(f.ErrorType, "SystemError")
		status, body = http.StatusInternalServerError, newFault(typeName, message(typeName)).body()
	default:
		status = http.StatusServiceUnavailable
	}
	status = cmp.Or(f.Status, status, http.StatusInternalServerError)
	switch {
	case f.Body != nil:
		c.w.Header().Set("Content-Type", "application/json")
		c.w.WriteHeader(status)
		_, _ = c.w.Write(f.Body)
	case body != nil:
		writeJSON(c.w, status, body)
	default:
		http.Error(c.w, message("fault"), status)
	}
}

// echo renders a request as an error page that echoes it would: request
// line, headers in name order, body.
func echo(c *call) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", c.r.Method, c.r.RequestURI, c.r.Proto)
	names := slices.Sorted(maps.Keys(c.r.Header))
	for _, name := range names {
		for _, v := range c.r.Header[name] {
			fmt.Fprintf(&b, "; %s: %s", name, v)
		}
	}
	if len(c.body) > 0 {
		fmt.Fprintf(&b, "; body: %s", c.body)
	}
	return b.String()
}

// vapiTypeForStatus picks the error type a status most often carries.
func vapiTypeForStatus(status int) string {
	switch status {
	case 0, http.StatusServiceUnavailable:
		return "SERVICE_UNAVAILABLE"
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "UNAUTHORIZED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "CONCURRENT_CHANGE"
	case http.StatusGatewayTimeout:
		return "TIMED_OUT"
	default:
		return "ERROR"
	}
}

// resetConnection drops the connection with a TCP RST: linger 0 on the raw
// socket, closed without a TLS close_notify.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

// streamOversized streams size bytes of a well-formed list response in the
// surface's shape, stopping early when the client leaves or the server closes.
func (s *Server) streamOversized(c *call, size int64) {
	if size <= 0 {
		size = 64 << 20
	}
	open, closing := "[", "]"
	if c.surface == surfaceREST {
		open, closing = `{"value":[`, "]}"
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)

	// Whole chunks first, then single items: the body ends within one item
	// of size.
	const item = `{"vm":"vm-9999999","name":"padding-padding-padding-padding","power_state":"POWERED_ON","cpu_count":2,"memory_size_MiB":4096}`
	var chunk bytes.Buffer
	for chunk.Len() < 64<<10 {
		chunk.WriteString(item + ",")
	}
	written := int64(len(open))
	if _, err := c.w.Write([]byte(open)); err != nil {
		return
	}
	tail := int64(len(item) + len(closing))
	for _, piece := range [][]byte{chunk.Bytes(), []byte(item + ",")} {
		for written+int64(len(piece))+tail <= size {
			select {
			case <-c.r.Context().Done():
				return
			case <-s.closing:
				return
			default:
			}
			n, err := c.w.Write(piece)
			written += int64(n)
			if err != nil {
				return
			}
		}
	}
	_, _ = c.w.Write([]byte(item + closing))
}
