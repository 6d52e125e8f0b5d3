package vcenter

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// sessionHeader carries the session token on all three surfaces.
const sessionHeader = "vmware-api-session-id"

// request is one HTTP exchange with vCenter, before retries.
type request struct {
	method string
	path   string     // built from validated ids only
	query  url.Values // nil for none
	body   []byte     // JSON, nil for none
	token  string     // session token, "" for none
	basic  bool       // send Basic credentials (vAPI login)
	// safe marks a request that may be re-sent: a GET, or a login.
	//
	// Security: only safe requests are retried. A POST, PATCH or DELETE that
	// may have reached vCenter is never re-sent, because vCenter may already
	// have applied it (power, delete, reconfigure).
	safe bool
	// once sends a safe request a single time: for optional reads whose
	// error answers are expected, such as guest identity, which vCenter
	// refuses with 503 SERVICE_UNAVAILABLE whenever VMware Tools is not
	// running; retrying that would only add the backoff to the call.
	once bool
	// long marks an operation vCenter answers only once it is done (a
	// content library deploy has no task form, vcenter-api-changes.md §0):
	// it may take minutes, so it is bounded by longRequestTimeout and the
	// caller's context rather than Config.Timeout.
	long bool
}

// longRequestTimeout bounds a blocking long operation (request.long).
const longRequestTimeout = 30 * time.Minute

// response is vCenter's answer with its body read (and size-limited).
// Whoever gets one from roundTrip calls release once done with body: a
// large body holds the client's large-body slot until then (body.go).
type response struct {
	status int
	header http.Header
	body   []byte
	free   func()
	// retryAfter and retryNote are what vCenter's Retry-After asked and what
	// came of it (Client.retryNote), for the error built from the answer.
	retryAfter time.Duration
	retryNote  string
}

// release frees what the body holds; it is safe to call more than once,
// and on a nil response.
func (r *response) release() {
	if r != nil && r.free != nil {
		r.free()
		r.free = nil
	}
}

type safeKey struct{}

// progressKey carries a request's *progress to checkRetry.
type progressKey struct{}

// roundTrip sends r, retrying it only if it is safe, and reads the answer.
// A non-2xx status is not an error here; see the dialect and VI/JSON layers.
func (c *Client) roundTrip(ctx context.Context, r request) (*response, error) {
	if !r.safe {
		// A change may move a VM: forget placements before it is sent and
		// once it is answered (placecache.go).
		c.places.invalidate()
		defer c.places.invalidate()
	}
	timeout := c.cfg.Timeout
	if r.long {
		timeout = max(timeout, longRequestTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if r.safe && !r.once {
		ctx = context.WithValue(ctx, safeKey{}, true)
	}
	// Security: whether a failed POST, PATCH or DELETE may have been applied
	// is decided by how far it got, not guessed from the error: until the
	// transport holds a connection (TCP and TLS done), nothing was written.
	prog := &progress{}
	ctx = context.WithValue(httptrace.WithClientTrace(ctx, prog.trace()), progressKey{}, prog)
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body any
	if r.body != nil {
		body = r.body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, &TransportError{Method: r.method, Path: pathOf(r.path, r.query), Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set(sessionHeader, r.token)
	}
	if r.basic {
		req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	}
	var got *response
	req.SetResponseHandler(func(hr *http.Response) error {
		b, free, err := c.bodies.read(ctx, hr.Body, hr.ContentLength)
		if err != nil {
			return err
		}
		got = &response{status: hr.StatusCode, header: hr.Header, body: b, free: free}
		return nil
	})

	start := time.Now()
	hr, err := c.http.Do(req)
	if c.cfg.OnRequest != nil {
		status := 0
		if err == nil {
			status = hr.StatusCode
		}
		c.cfg.OnRequest(r.method, status, time.Since(start))
	}
	if err != nil {
		got.release() // read, then given up on (the deadline passed meanwhile)
		if tlsErr := tlsFailure(r, c.host, err, prog.handshakeErr()); tlsErr != nil {
			// Nothing was sent: the handshake comes before the request.
			c.log.Debug().Str("method", r.method).Str("path", logPath(r.path, r.query)).Dur("took", time.Since(start)).
				Str("error", c.scrubLog(tlsErr.text)).Msg("vcenter request refused at TLS")
			return nil, tlsErr
		}
		te := &TransportError{Method: r.method, Path: pathOf(r.path, r.query), Err: describeTransport(ctx, err, timeout, c.host, prog.handshakeErr())}
		te.MaybeApplied = !r.safe && prog.connected.Load()
		c.log.Debug().Str("method", r.method).Str("path", logPath(r.path, r.query)).Dur("took", time.Since(start)).
			Str("error", c.scrubLog(te.Err.Error())).Msg("vcenter request failed")
		return nil, te
	}
	defer hr.Body.Close()
	if got == nil { // the last attempt was a retryable status: its body is unread
		b, free, err := c.bodies.read(ctx, hr.Body, hr.ContentLength)
		if err != nil {
			return nil, &TransportError{Method: r.method, Path: pathOf(r.path, r.query), Err: err, MaybeApplied: !r.safe}
		}
		got = &response{status: hr.StatusCode, header: hr.Header, body: b, free: free}
	}
	if got.status >= 400 {
		remaining := time.Duration(0)
		if dl, ok := ctx.Deadline(); ok {
			remaining = time.Until(dl)
		}
		got.retryAfter, got.retryNote = c.retryNote(r, got.header, int(prog.attempts.Load()), remaining)
	}
	c.log.Debug().Str("method", r.method).Str("path", logPath(r.path, r.query)).Int("status", got.status).
		Dur("took", time.Since(start)).Msg("vcenter request")
	return got, nil
}

// errBodyTooLarge is returned for an answer over Config.MaxBodyBytes.
var errBodyTooLarge error = badAnswer("vCenter answer too large")

// errMalformed is returned for an answer that is not the JSON expected.
var errMalformed error = badAnswer("vCenter answered with malformed JSON")

// errNull and errEmpty are returned for an answer of JSON null, or of
// nothing, where a value is expected; see decode.
var (
	errNull  error = badAnswer("vCenter answered with null where a value was expected")
	errEmpty error = badAnswer("vCenter answered with an empty body where a value was expected")
)

// badAnswer is an answer from vCenter that cannot be used; it matches
// [ErrBadAnswer].
type badAnswer string

func (e badAnswer) Error() string        { return string(e) }
func (e badAnswer) Is(target error) bool { return target == ErrBadAnswer }

// checkRetry is the retry policy: safe requests only, on connection errors,
// 429, 502, 503 and 504. 500 is not retried: vCenter uses it for answers
// such as UNABLE_TO_ALLOCATE_RESOURCE that a retry cannot change.
//
// A retry is also dropped when the wait before it would not end before the
// request's deadline, or when vCenter asks (Retry-After) for a longer wait
// than MaxBackoff: the last answer is then returned as it is, with what
// vCenter asked (see retryNote), instead of the request sleeping into its
// timeout and reporting "no answer".
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if safe, _ := ctx.Value(safeKey{}).(bool); !safe {
		return false, nil // Security: never re-send a request that may have changed state.
	}
	p, _ := ctx.Value(progressKey{}).(*progress)
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return false, nil
		}
		if p != nil && tlsRefusal(p.handshakeErr()) {
			return false, nil // an untrusted certificate, a wrong name or old TLS fail again
		}
		if retry, perr := retryablehttp.DefaultRetryPolicy(ctx, nil, err); !retry || perr != nil { // skips certificate errors
			return retry, perr
		}
		return c.waitFits(ctx, p, nil), nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && d > c.cfg.MaxBackoff {
			return false, nil
		}
		return c.waitFits(ctx, p, resp), nil
	}
	return false, nil
}

// waitFits reports whether the longest wait backoff may choose before the
// next attempt ends before ctx's deadline.
func (c *Client) waitFits(ctx context.Context, p *progress, resp *http.Response) bool {
	deadline, ok := ctx.Deadline()
	if !ok || p == nil {
		return true
	}
	attempt := max(int(p.attempts.Load())-1, 0)
	return time.Until(deadline) > maxWait(c.cfg.Backoff, c.cfg.MaxBackoff, attempt, resp)
}

// backoff waits what Retry-After asks (capped at hi), or else lo·2^n with
// jitter, capped at hi.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, hi)
		}
	}
	d := maxWait(lo, hi, attempt, nil)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not security
}

// maxWait is the longest wait backoff chooses after attempt (0-based).
func maxWait(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, hi)
		}
	}
	if lo <= 0 {
		return 0
	}
	d := lo << min(attempt, 16)
	if d <= 0 || d > hi {
		d = hi
	}
	return d
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, maxRetryAfter)) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// maxRetryAfter caps a Retry-After in seconds (ten years), so that any
// number a server sends converts to a Duration.
const maxRetryAfter = 10 * 365 * 24 * 3600

// retryNote says, for an error answer that carries Retry-After, what vCenter
// asked and why the client did not (or no longer) wait for it; "" without
// the header. attempts is how many times the request was sent, and
// remaining what was left of its time when the answer came.
func (c *Client) retryNote(r request, header http.Header, attempts int, remaining time.Duration) (time.Duration, string) {
	h := header.Get("Retry-After")
	d, ok := retryAfter(h, time.Now())
	if !ok {
		return 0, ""
	}
	asked := fmt.Sprintf("vCenter asked to wait %s before trying again (Retry-After: %s)", d, sanitize(h, 64))
	switch {
	case !r.safe:
		return d, asked + "; not retried: a request that may change state is never re-sent automatically"
	case r.once || c.cfg.Retries == 0:
		return d, asked + "; not retried"
	case d >= remaining:
		return d, fmt.Sprintf("%s; not retried: that is past this request's %s timeout (VCENTER_TIMEOUT_S)", asked, c.cfg.Timeout)
	case d > c.cfg.MaxBackoff:
		return d, fmt.Sprintf("%s; not retried: that is longer than this server waits between tries (%s)", asked, c.cfg.MaxBackoff)
	}
	return d, fmt.Sprintf("%s; gave up after %d tries", asked, attempts)
}

// keepLastResponse hands back the last response when retries ran out, so
// its vCenter error body can be decoded.
func keepLastResponse(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, err
	}
	return resp, nil
}

// progress records, through net/http's client trace, how far one request
// got. A request is sent once at most when it is not safe, so one progress
// covers its only attempt.
type progress struct {
	// connected is set when the transport obtained a connection, TLS
	// handshake included: from then on, bytes may reach vCenter.
	connected atomic.Bool
	// attempts counts the times the request was sent (retries included).
	attempts atomic.Int32
	mu       sync.Mutex // guards tlsErr
	tlsErr   error      // the last failed TLS handshake
}

func (p *progress) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { p.connected.Store(true) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				p.mu.Lock()
				p.tlsErr = err
				p.mu.Unlock()
			}
		},
	}
}

func (p *progress) handshakeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tlsErr
}

// tlsRefusal reports whether a failed TLS handshake was refused by either
// side (certificate, name, version, an alert), as opposed to cut short by a
// network error, which a retry may overcome.
func tlsRefusal(handshake error) bool {
	if handshake == nil {
		return false
	}
	var op *net.OpError
	if errors.As(handshake, &op) && op.Op == "remote error" { // a TLS alert from vCenter
		return true
	}
	return isTLSError(handshake) || strings.HasPrefix(handshake.Error(), "tls: ")
}

func isTLSError(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert)
}

// tlsFailure returns the *TLSError for a request whose TLS handshake was
// refused, by this client (vCenter's certificate) or by either side (no
// common version, an alert), or nil for any other failure. handshake is
// the error of the failed handshake, if one failed.
func tlsFailure(r request, host string, err, handshake error) *TLSError {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	e := &TLSError{Method: r.method, Path: pathOf(r.path, r.query), Host: host, Err: err}
	switch {
	case errors.As(err, &unknown):
		e.certificate = true
		e.Subject, e.Issuer = certSubject(unknown.Cert), issuerOf(unknown.Cert)
		e.text = fmt.Sprintf("vCenter at %s was reached, but its TLS certificate is not trusted (subject %q, issuer %q): "+
			"set VCENTER_CA_BUNDLE to a PEM file with the certificate of %q, the CA vCenter serves at https://%s/certs/download.zip",
			host, e.Subject, e.Issuer, issuerName(unknown.Cert), siteOf(host))
	case errors.As(err, &hostname):
		e.certificate = true
		e.Subject, e.Issuer = certSubject(hostname.Certificate), issuerOf(hostname.Certificate)
		e.text = fmt.Sprintf("vCenter at %s was reached, but its TLS certificate does not name %s (it names %s): set VCENTER_HOST to one of those names",
			host, hostname.Host, certNames(hostname.Certificate))
	case errors.As(err, &invalid):
		e.certificate = true
		e.Subject, e.Issuer = certSubject(invalid.Cert), issuerOf(invalid.Cert)
		e.text = fmt.Sprintf("vCenter at %s was reached, but its TLS certificate is not valid (subject %q, issuer %q: %s): "+
			"renew vCenter's certificate, or check this machine's clock", host, e.Subject, e.Issuer, sanitize(invalid.Error(), maxMessageLen))
	case handshake != nil && strings.Contains(handshake.Error(), "protocol version"):
		// crypto/tls reports a version mismatch only in text: a remote
		// protocol_version alert, or "server selected unsupported protocol version".
		e.text = fmt.Sprintf("vCenter at %s was reached, but offers no TLS 1.2 or 1.3 (%v); this server refuses older TLS: enable TLS 1.2 on vCenter", host, handshake)
	case tlsRefusal(handshake) || handshake == nil && isTLSError(err):
		why := err
		if handshake != nil {
			why = handshake // the handshake's own words
		}
		e.text = fmt.Sprintf("vCenter at %s was reached, but the TLS handshake failed (%s): check that VCENTER_HOST names vCenter's HTTPS port, and VCENTER_CA_BUNDLE",
			host, sanitize(why.Error(), maxMessageLen))
	default:
		return nil
	}
	return e
}

// describeTransport turns a low-level failure into a sentence that names the
// cause and the fix, keeping the original for errors.Is/As. handshake is the
// error of a failed TLS handshake, if one failed (and was not refused: see
// tlsFailure).
func describeTransport(ctx context.Context, err error, timeout time.Duration, host string, handshake error) error {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return &hintError{err, fmt.Sprintf("cannot resolve vCenter host %s: check VCENTER_HOST and DNS", dns.Name)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &hintError{err, fmt.Sprintf("connection refused by %s: check VCENTER_HOST and that vCenter is up", host)}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &hintError{context.DeadlineExceeded, fmt.Sprintf("no answer from vCenter within %s (VCENTER_TIMEOUT_S)", timeout)}
	case errors.Is(err, context.Canceled):
		return &hintError{context.Canceled, "cancelled"}
	case handshake != nil: // cut short, not refused
		return &hintError{err, fmt.Sprintf("TLS with vCenter at %s was interrupted (%v): check the network to vCenter", host, handshake)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// Its text repeats method and URL, query values included, which the
		// TransportError around it already names (without the values).
		return &hintError{err, ue.Err.Error()}
	}
	return err
}

// hintError replaces an error's text with a clearer one while keeping it
// for errors.Is/As.
type hintError struct {
	err  error
	text string
}

func (e *hintError) Error() string { return e.text }
func (e *hintError) Unwrap() error { return e.err }

func issuerOf(cert *x509.Certificate) string {
	if cert == nil {
		return "unknown issuer"
	}
	return sanitize(cert.Issuer.String(), 200) // whoever presents the certificate chose it
}

// issuerName is the issuer's common name, or its whole name without one.
func issuerName(cert *x509.Certificate) string {
	if cert != nil && cert.Issuer.CommonName != "" {
		return sanitize(cert.Issuer.CommonName, 200)
	}
	return issuerOf(cert)
}

func certSubject(cert *x509.Certificate) string {
	if cert == nil {
		return "unknown subject"
	}
	return sanitize(cert.Subject.String(), 200)
}

// siteOf is host as an https URL writes it: without the default port.
func siteOf(host string) string {
	if name, port, err := net.SplitHostPort(host); err == nil && port == "443" {
		if strings.Contains(name, ":") {
			return "[" + name + "]"
		}
		return name
	}
	return host
}

func certNames(cert *x509.Certificate) string {
	if cert == nil {
		return "no names"
	}
	names := append([]string(nil), cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = append(names, cert.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no names"
	}
	return sanitize(strings.Join(names, ", "), 200) // whoever presents the certificate chose them
}

// marshal encodes v as a JSON request body.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every body is built from this package's own types.
		panic(fmt.Sprintf("vcenter: marshal %T: %v", v, err))
	}
	return b
}

// decode reads a JSON answer into out, reporting malformed JSON clearly.
//
// An empty answer, or JSON null, is an error matching [ErrBadAnswer]
// unless out points to a pointer: that declares the value nullable, as
// VI/JSON properties that are unset are (vcenter-api.md §3.2). Decoding
// null into a struct would leave it zero, and a VM whose every field is
// zero reads as a powered-off VM named "" (or worse, as one whose Tools
// run), not as the failure it is.
func decode(method, path string, body []byte, out any) error {
	if out == nil {
		return nil
	}
	switch b := bytes.TrimSpace(body); {
	case len(b) == 0:
		return &TransportError{Method: method, Path: path, Err: errEmpty}
	case string(b) == "null" && !nullable(out):
		return &TransportError{Method: method, Path: path, Err: errNull}
	}
	// Unmarshal, not a Decoder: the body is in memory already, and a
	// Decoder would copy it into a buffer of its own first (one more
	// allocation and pass per answer), then let trailing bytes after the
	// first value pass unseen.
	if err := json.Unmarshal(body, out); err != nil {
		return &TransportError{Method: method, Path: path, Err: fmt.Errorf("%w: %w", errMalformed, decodeError{err})}
	}
	return nil
}

// decodeError is a JSON decoding error whose text is sanitised.
//
// Security: encoding/json and time.Time quote the answer's bytes in their
// errors (`parsing time "…"`), control characters included; the error
// text reaches the model and the logs, so it gets the treatment of any
// text from vCenter. The original stays reachable for errors.As.
type decodeError struct{ err error }

func (e decodeError) Error() string { return sanitize(e.err.Error(), maxMessageLen) }
func (e decodeError) Unwrap() error { return e.err }

// nullable reports whether out, a pointer, points to a pointer.
func nullable(out any) bool {
	t := reflect.TypeOf(out)
	return t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Pointer
}
