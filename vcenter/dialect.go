package vcenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// dialect is the seam between the two Automation API dialects, /api and
// /rest (vcenter-api.md §1.1, §1.2, §2). Operation code builds one request in
// /api terms; the dialect rewrites paths, actions, filters and bodies, and
// unwraps results and errors. Device maps, objects on /api and [{key,value}]
// arrays on /rest, are decoded by [keyedMap], which accepts both.
type dialect struct {
	mode Mode
	// prefix replaces "/api" at the start of operation paths.
	prefix string
	// sessionPath is where to log in (POST), read (GET) and log out (DELETE).
	sessionPath string
	// filterPrefix prefixes list filter keys ("filter." on /rest).
	filterPrefix string
	// wrapped: /rest wraps results in {"value":…} and bodies in {"spec":…}.
	wrapped bool
}

func dialectFor(m Mode) (dialect, error) {
	switch m {
	case ModeAPI:
		return dialect{mode: ModeAPI, prefix: "/api", sessionPath: "/api/session"}, nil
	case ModeREST:
		return dialect{mode: ModeREST, prefix: "/rest", sessionPath: "/rest/com/vmware/cis/session", filterPrefix: "filter.", wrapped: true}, nil
	}
	return dialect{}, fmt.Errorf("invalid API mode %q: use api or rest", m)
}

// path maps an /api-relative path ("/vcenter/vm/vm-42") to this dialect.
func (d dialect) path(rel string) string { return d.prefix + rel }

// powerAction returns path and query for a VM power action. /api uses
// ?action= on the resource; /rest uses a path segment (/power/start).
func (d dialect) powerAction(vmPath, action string) (string, url.Values) {
	if d.wrapped {
		return d.path(vmPath + "/power/" + action), nil
	}
	return d.path(vmPath + "/power"), url.Values{"action": {action}}
}

// guestAction returns path and query for a guest power action; both dialects
// use ?action= here.
func (d dialect) guestAction(vmPath, action string) (string, url.Values) {
	return d.path(vmPath + "/guest/power"), url.Values{"action": {action}}
}

// filters renders list filters as repeated query keys (collectionFormat
// multi), with the "filter." prefix on /rest. A comma-joined value is not
// part of the contract.
func (d dialect) filters(f map[string][]string) url.Values {
	q := url.Values{}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range f[k] {
			q.Add(d.filterPrefix+k, v)
		}
	}
	return q
}

// body wraps a request body ({"spec":…} on /rest).
func (d dialect) body(v any) []byte {
	if d.wrapped {
		return marshal(map[string]any{"spec": v})
	}
	return marshal(v)
}

// result unwraps a result ({"value":…} on /rest).
func (d dialect) result(method, path string, body []byte) (json.RawMessage, error) {
	if !d.wrapped {
		return body, nil
	}
	var w struct {
		Value json.RawMessage `json:"value"`
	}
	if err := decode(method, path, body, &w); err != nil {
		return nil, err
	}
	return w.Value, nil
}

// loginToken decodes a login answer: a JSON string on /api, {"value":
// string} on /rest.
func (d dialect) loginToken(body []byte) (string, error) {
	raw, err := d.result(http.MethodPost, d.sessionPath, body)
	if err != nil {
		return "", err
	}
	var tok string
	if err := json.Unmarshal(raw, &tok); err != nil || tok == "" {
		return "", errors.New("vCenter login answer holds no session token")
	}
	return tok, nil
}

// vapiLogin opens an Automation API session with Basic credentials.
func (c *Client) vapiLogin(ctx context.Context) (string, error) {
	r := request{method: http.MethodPost, path: c.dialect.sessionPath, basic: true, safe: true}
	resp, err := c.roundTrip(ctx, r)
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", c.host, err)
	}
	defer resp.release()
	if resp.status/100 != 2 {
		e := c.vapiError(r, resp)
		if errors.Is(e, ErrUnauthenticated) {
			return "", fmt.Errorf("log in to %s as %s: %w (check VCENTER_USER and VCENTER_PASSWORD)", c.host, c.cfg.User, &loginError{e})
		}
		return "", fmt.Errorf("log in to %s: %w", c.host, e)
	}
	tok, err := c.dialect.loginToken(resp.body)
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", c.host, err)
	}
	c.log.Info().Str("api", string(c.cfg.Mode)).Msg("logged in to vCenter")
	return tok, nil
}

// loginError marks a refused login so it matches ErrInvalidLogin as well as
// the underlying vCenter error.
type loginError struct{ err *APIError }

func (e *loginError) Error() string        { return e.err.Error() }
func (e *loginError) Unwrap() error        { return e.err }
func (e *loginError) Is(target error) bool { return target == ErrInvalidLogin }

func (c *Client) vapiLogout(ctx context.Context, tok string) error {
	r := request{method: http.MethodDelete, path: c.dialect.sessionPath, token: tok}
	resp, err := c.roundTrip(ctx, r)
	if err != nil {
		return fmt.Errorf("log out of %s: %w", c.host, err)
	}
	defer resp.release()
	if resp.status/100 != 2 {
		if e := c.vapiError(r, resp); !errors.Is(e, ErrUnauthenticated) { // else it had expired already
			return fmt.Errorf("log out of %s: %w", c.host, e)
		}
	}
	c.log.Info().Msg("logged out of vCenter")
	return nil
}

// vapiSessionAlive reports whether the Automation API accepts tok now,
// by reading the session's info (GET /api/session, or POST
// /rest/com/vmware/cis/session?~action=get), which also refreshes its last
// access. Any answer but 2xx, or none, is "not alive".
func (c *Client) vapiSessionAlive(ctx context.Context, tok string) bool {
	r := request{method: http.MethodGet, path: c.dialect.sessionPath, token: tok, safe: true, once: true}
	if c.dialect.wrapped {
		r.method, r.query = http.MethodPost, url.Values{"~action": {"get"}}
	}
	resp, err := c.roundTrip(ctx, r)
	if err != nil {
		return false
	}
	defer resp.release()
	return resp.status/100 == 2
}

// vapiError decodes an Automation API error answer in this dialect's shape.
func (c *Client) vapiError(r request, resp *response) *APIError {
	e := decodeVAPIError(resp.status, r.method, pathOf(r.path, r.query), resp.body, c.dialect.wrapped, c.clean(r.token))
	e.RetryAfter, e.retryNote = resp.retryAfter, resp.retryNote
	return e
}

// clean returns the [cleaner] for text from vCenter: it replaces the
// credentials, in every form vCenter may echo them, and the session tokens
// given, by "***", then sanitizes.
//
// Security: a vCenter or a proxy in front of it may echo the request in an
// error (its Authorization header, a Login body, the session header); such
// an echo must not reach the model, the logs or the audit line. Secrets are
// replaced before the length cap, so that none is cut in half and kept.
func (c *Client) clean(tokens ...string) cleaner {
	return func(s string, max int) string {
		s = c.secrets.Scrub(s)
		for _, t := range tokens {
			if t != "" {
				s = strings.ReplaceAll(s, t, "***")
			}
		}
		return sanitize(s, max)
	}
}

// vapi sends an Automation API request with the session token, renews the
// session once if vCenter answers UNAUTHENTICATED, and decodes the result
// into out (which may be nil). The request's method decides whether it is
// retried: only GETs are.
func (c *Client) vapi(ctx context.Context, method, rel string, q url.Values, body any, out any) error {
	r := request{method: method, path: c.dialect.path(rel), query: q, safe: method == http.MethodGet}
	if body != nil {
		r.body = c.dialect.body(body)
	}
	return c.vapiDo(ctx, r, out)
}

// vapiOptional reads an optional resource once, without retries; see
// request.once.
func (c *Client) vapiOptional(ctx context.Context, rel string, out any) error {
	return c.vapiDo(ctx, request{method: http.MethodGet, path: c.dialect.path(rel), safe: true, once: true}, out)
}

func (c *Client) vapiDo(ctx context.Context, r request, out any) error {
	resp, err := c.withSession(ctx, c.sess, r, c.vapiError)
	if err != nil {
		return err
	}
	defer resp.release()
	if out == nil {
		return nil
	}
	raw, err := c.dialect.result(r.method, pathOf(r.path, r.query), resp.body)
	if err != nil {
		return err
	}
	return decode(r.method, pathOf(r.path, r.query), raw, out)
}

// withSession sends r with the session's token and returns a 2xx answer,
// which the caller releases, or the error errOf decodes from any other. When vCenter answers that the
// token is not authenticated (an expired session: UNAUTHENTICATED on /api
// and /rest, NotAuthenticated on VI/JSON), it logs in again once and
// replays r once.
//
// Security: an unauthenticated request was not run, so replaying it is safe
// even for a POST; any other answer is final.
func (c *Client) withSession(ctx context.Context, sess *session, r request, errOf func(request, *response) *APIError) (*response, error) {
	tok, gen, err := sess.get(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		r.token = tok
		resp, err := c.roundTrip(ctx, r)
		if err != nil {
			return nil, err
		}
		if resp.status/100 == 2 {
			return resp, nil
		}
		e := errOf(r, resp)
		resp.release()
		if !errors.Is(e, ErrUnauthenticated) || attempt > 0 {
			return nil, e
		}
		c.log.Info().Str("path", r.path).Msg("vCenter session expired; logging in again")
		if tok, gen, err = sess.renew(ctx, gen); err != nil {
			return nil, err
		}
	}
}
