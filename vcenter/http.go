package vcenter

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
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
}

// response is vCenter's answer with its body read (and size-limited).
type response struct {
	status int
	header http.Header
	body   []byte
}

type safeKey struct{}

// roundTrip sends r, retrying it only if it is safe, and reads the answer.
// A non-2xx status is not an error here; see the dialect and VI/JSON layers.
func (c *Client) roundTrip(ctx context.Context, r request) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if r.safe {
		ctx = context.WithValue(ctx, safeKey{}, true)
	}
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
		b, err := readLimited(hr.Body, c.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		got = &response{status: hr.StatusCode, header: hr.Header, body: b}
		return nil
	})

	start := time.Now()
	hr, err := c.http.Do(req)
	if err != nil {
		te := &TransportError{Method: r.method, Path: pathOf(r.path, r.query), Err: describeTransport(ctx, err, c.cfg.Timeout, c.host)}
		te.MaybeApplied = !r.safe && maybeSent(err)
		c.log.Debug().Str("method", r.method).Str("path", r.path).Dur("took", time.Since(start)).Err(te.Err).Msg("vcenter request failed")
		return nil, te
	}
	defer hr.Body.Close()
	if got == nil { // the last attempt was a retryable status: its body is unread
		b, err := readLimited(hr.Body, c.cfg.MaxBodyBytes)
		if err != nil {
			return nil, &TransportError{Method: r.method, Path: pathOf(r.path, r.query), Err: err, MaybeApplied: !r.safe}
		}
		got = &response{status: hr.StatusCode, header: hr.Header, body: b}
	}
	c.log.Debug().Str("method", r.method).Str("path", r.path).Int("status", got.status).Dur("took", time.Since(start)).Msg("vcenter request")
	return got, nil
}

// errBodyTooLarge is returned for an answer over Config.MaxBodyBytes.
var errBodyTooLarge = errors.New("vCenter answer too large")

func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading vCenter answer: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w (more than %d MiB)", errBodyTooLarge, max>>20)
	}
	return b, nil
}

// checkRetry is the retry policy: safe requests only, on connection errors,
// 429, 502, 503 and 504. 500 is not retried: vCenter uses it for answers
// such as UNABLE_TO_ALLOCATE_RESOURCE that a retry cannot change.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if safe, _ := ctx.Value(safeKey{}).(bool); !safe {
		return false, nil // Security: never re-send a request that may have changed state.
	}
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return false, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, nil, err) // skips certificate errors
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// backoff waits what Retry-After asks (capped at hi), or else lo·2^n with
// jitter, capped at hi.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
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
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not security
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
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

// maybeSent reports whether a failed request may have reached vCenter. Only
// failures before the first byte was written (no route, refused, DNS, TLS
// handshake) are known not to have.
func maybeSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return false
	}
	if isTLSError(err) {
		return false
	}
	return true
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

// describeTransport turns a low-level failure into a sentence that names the
// cause and the fix, keeping the original for errors.Is/As.
func describeTransport(ctx context.Context, err error, timeout time.Duration, host string) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		dns      *net.DNSError
	)
	switch {
	case errors.As(err, &unknown):
		return &hintError{err, fmt.Sprintf("vCenter's TLS certificate is not trusted (issued by %q): set VCENTER_CA_BUNDLE to a PEM file holding that CA", issuerOf(unknown.Cert))}
	case errors.As(err, &hostname):
		return &hintError{err, fmt.Sprintf("vCenter's TLS certificate does not name %s (it names %s): set VCENTER_HOST to one of those names", hostname.Host, certNames(hostname.Certificate))}
	case isTLSError(err):
		return &hintError{err, "TLS with vCenter failed: check VCENTER_HOST and VCENTER_CA_BUNDLE"}
	case errors.As(err, &dns):
		return &hintError{err, fmt.Sprintf("cannot resolve vCenter host %s: check VCENTER_HOST and DNS", dns.Name)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &hintError{err, fmt.Sprintf("connection refused by %s: check VCENTER_HOST and that vCenter is up", host)}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &hintError{context.DeadlineExceeded, fmt.Sprintf("no answer from vCenter within %s (VCENTER_TIMEOUT_S)", timeout)}
	case errors.Is(err, context.Canceled):
		return &hintError{context.Canceled, "cancelled"}
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
	return cert.Issuer.String()
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
	return strings.Join(names, ", ")
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
func decode(method, path string, body []byte, out any) error {
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(out); err != nil {
		return &TransportError{Method: method, Path: path, Err: fmt.Errorf("vCenter answered with malformed JSON: %w", err)}
	}
	return nil
}

// leveledLogger adapts zerolog to go-retryablehttp, at debug level: the
// client logs its own outcomes.
type leveledLogger struct{ l zerolog.Logger }

func (l leveledLogger) Error(msg string, kv ...any) { l.l.Debug().Fields(kv).Msg(msg) }
func (l leveledLogger) Info(msg string, kv ...any)  { l.l.Debug().Fields(kv).Msg(msg) }
func (l leveledLogger) Debug(msg string, kv ...any) { l.l.Debug().Fields(kv).Msg(msg) }
func (l leveledLogger) Warn(msg string, kv ...any)  { l.l.Debug().Fields(kv).Msg(msg) }
