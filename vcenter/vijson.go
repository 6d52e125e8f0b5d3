package vcenter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// The VI/JSON API (vcenter-api.md §1.3, §3) lives under
// /sdk/vim25/{release}/{type}/{moId}/{method or property}. It exists from
// vCenter 8.0 U1; from 8.0 U3 the Automation API session is valid there too,
// before that it needs its own login.

// vimState is what VI/JSON discovery found, fixed for the client's lifetime.
//
// The fields are fixed once discovered, except own, which the client sets
// (under Client.vimMu) when VI/JSON refuses the shared session of a server
// whose release says it shares it; see vimShared.
type vimState struct {
	apiVersion     string // the server's about.apiVersion
	release        string // the {release} path segment (pathRelease)
	fullName       string // about.fullName, for doctor
	sessionManager string // SessionManager moId
	// own is the VI/JSON session of its own: from discovery before 8.0 U3,
	// and after a refused shared session on 8.0 U3+; nil while the
	// Automation API session is used. Guarded by Client.vimMu.
	own *session
}

// VIJSONInfo describes the VI/JSON API of the vCenter, for diagnostics.
type VIJSONInfo struct {
	APIVersion    string // about.apiVersion, e.g. "8.0.3.0"
	FullName      string // about.fullName
	SharedSession bool   // whether the Automation API session is reused (8.0 U3+)
}

// VIJSON discovers (once) and describes the VI/JSON API. It fails with
// [ErrNoVIJSON] on vCenter 8.0 GA, which has none.
func (c *Client) VIJSON(ctx context.Context) (VIJSONInfo, error) {
	st, err := c.vimInfo(ctx)
	if err != nil {
		return VIJSONInfo{}, err
	}
	return VIJSONInfo{APIVersion: st.apiVersion, FullName: st.fullName, SharedSession: c.ownVIMSession(st) == nil}, nil
}

// CheckVIJSON discovers the VI/JSON API and checks a session on it, so that
// a diagnosis covers the snapshot path end to end: before 8.0 U3 it logs
// in to VI/JSON; from 8.0 U3 it reads SessionManager.currentSession with
// the Automation API session, which is null when VI/JSON does not accept
// it, and then falls back to a VI/JSON login as snapshot calls would.
func (c *Client) CheckVIJSON(ctx context.Context) (VIJSONInfo, error) {
	st, err := c.vimInfo(ctx)
	if err != nil {
		return VIJSONInfo{}, err
	}
	if own := c.ownVIMSession(st); own == nil {
		var current *struct {
			UserName string `json:"userName"`
		}
		if err := c.vim(ctx, http.MethodGet, "SessionManager", st.sessionManager, "currentSession", nil, &current); err != nil {
			return VIJSONInfo{}, err
		}
		if current == nil {
			if _, err := c.useOwnVIMSession(st); err != nil {
				return VIJSONInfo{}, err
			}
		}
	}
	if own := c.ownVIMSession(st); own != nil {
		if _, _, err := own.get(ctx); err != nil {
			return VIJSONInfo{}, err
		}
	}
	return c.VIJSON(ctx)
}

// validMoID reports whether s is a plausible managed-object id for a
// singleton such as "SessionManager": a letter, then up to 63 letters,
// digits, '_' or '-'.
func validMoID(s string) bool {
	if len(s) < 1 || len(s) > 64 || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (c *Client) vimInfo(ctx context.Context) (*vimState, error) {
	c.vimMu.Lock()
	st, closed, absent := c.vimSt, c.closed, c.noVIJSON
	if !time.Now().Before(c.noVIJSONUntil) {
		absent = nil
	}
	c.vimMu.Unlock()
	switch {
	case closed:
		return nil, errClosed
	case st != nil:
		return st, nil
	case absent != nil:
		return nil, absent
	}
	// One discovery at a time: concurrent calls (GetVM's parallel reads)
	// wait for it and use its answer.
	c.discoverMu.Lock()
	defer c.discoverMu.Unlock()
	c.vimMu.Lock()
	st, absent = c.vimSt, c.noVIJSON
	if !time.Now().Before(c.noVIJSONUntil) {
		absent = nil
	}
	c.vimMu.Unlock()
	switch {
	case st != nil:
		return st, nil
	case absent != nil:
		return nil, absent
	}
	st, err := c.discover(ctx)
	c.vimMu.Lock()
	defer c.vimMu.Unlock()
	var none *noVIJSONError
	if errors.As(err, &none) {
		// vCenter 8.0 GA: ask again only after a while (an upgrade), not
		// on every call that would like VI/JSON. Transient failures (a
		// 503, a timeout) are not noVIJSONErrors, and are not remembered.
		c.noVIJSON, c.noVIJSONUntil = none, time.Now().Add(none.recheck)
	}
	if err != nil {
		return nil, err
	}
	if c.vimSt == nil { // another call may have discovered meanwhile
		c.vimSt = st
	}
	return c.vimSt, nil
}

// How long a vCenter without VI/JSON is believed: a 404 or an apiVersion
// before 8.0 U1 is definite; another answer that is not VI/JSON (a SOAP
// fault, an HTML page) is believed for a shorter while, as a proxy in
// front of a vCenter that has VI/JSON could send one.
const (
	noVIJSONRecheck      = 10 * time.Minute
	notVIJSONShortly     = time.Minute
	maxDiscoveryEvidence = 64
)

// noVIJSONError is [ErrNoVIJSON] with what the discovery saw.
type noVIJSONError struct {
	seen    string // "GET …/content answered HTTP 405 with an HTML page"
	recheck time.Duration
}

func (e *noVIJSONError) Error() string        { return ErrNoVIJSON.Error() + " (" + e.seen + ")" }
func (e *noVIJSONError) Is(target error) bool { return target == ErrNoVIJSON }

// discover reads ServiceInstance content, which needs no session.
//
// A vCenter without VI/JSON (8.0 GA) answers it with a 404, or, depending
// on what stands in front of vpxd, a 400, 405, 500 or 501 carrying a SOAP
// fault or an HTML page, or even a 200 with a page that is not JSON. All of
// these mean "no VI/JSON" (ErrNoVIJSON), which is remembered. A VI/JSON
// fault (a JSON object with _typeName) means the API is there and failed;
// that, and a transient answer (429, 502, 503, 504) or a timeout, is an
// error that the next call retries.
func (c *Client) discover(ctx context.Context) (*vimState, error) {
	r := request{method: http.MethodGet, path: "/sdk/vim25/" + releaseVIJSON + "/ServiceInstance/ServiceInstance/content", safe: true}
	resp, err := c.roundTrip(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("discover VI/JSON: %w", err)
	}
	defer resp.release()
	notVIJSON := func(recheck time.Duration) error {
		return &noVIJSONError{seen: fmt.Sprintf("%s %s answered HTTP %d with %s", r.method, r.path, resp.status, bodyKind(resp)), recheck: recheck}
	}
	switch {
	case resp.status == http.StatusNotFound:
		return nil, notVIJSON(noVIJSONRecheck)
	case resp.status/100 == 2 && len(bytes.TrimSpace(resp.body)) > 0 && !json.Valid(resp.body):
		return nil, notVIJSON(notVIJSONShortly)
	case resp.status/100 == 2:
	case slices.Contains([]int{http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusInternalServerError, http.StatusNotImplemented}, resp.status) &&
		!isVimFault(resp.body):
		return nil, notVIJSON(notVIJSONShortly)
	default:
		return nil, fmt.Errorf("discover VI/JSON: %w", c.vimError(r, resp))
	}
	var content struct {
		About struct {
			APIVersion string `json:"apiVersion"`
			FullName   string `json:"fullName"`
		} `json:"about"`
		SessionManager moRef `json:"sessionManager"`
	}
	if err := decode(r.method, r.path, resp.body, &content); err != nil {
		return nil, fmt.Errorf("discover VI/JSON: %w", err)
	}
	rel := content.About.APIVersion
	if !validRelease(rel) {
		return nil, fmt.Errorf("discover VI/JSON: vCenter reports an unreadable apiVersion %s", quoteShort(rel))
	}
	if !hasVIJSON(rel) {
		return nil, &noVIJSONError{seen: "vCenter reports API version " + rel, recheck: noVIJSONRecheck}
	}
	sm := content.SessionManager.Value
	if sm == "" {
		sm = "SessionManager"
	}
	if !validMoID(sm) {
		return nil, fmt.Errorf("discover VI/JSON: unreadable SessionManager id %s", quoteShort(sm))
	}
	st := &vimState{
		apiVersion:     rel,
		release:        pathRelease(rel),
		fullName:       sanitize(content.About.FullName, 200),
		sessionManager: sm,
	}
	if !sharesSession(rel) {
		st.own = c.newVIMSession(st)
	}
	c.log.Debug().Str("release", rel).Bool("shared_session", st.own == nil).Msg("VI/JSON discovered")
	return st, nil
}

// isVimFault reports whether body is a VI/JSON fault: a JSON object with a
// _typeName (vcenter-api.md §3.3).
func isVimFault(body []byte) bool {
	var f struct {
		TypeName string `json:"_typeName"`
	}
	return json.Unmarshal(body, &f) == nil && f.TypeName != ""
}

// bodyKind describes an answer that is not VI/JSON for an error: its
// Content-Type, or what its first bytes look like.
func bodyKind(resp *response) string {
	b := bytes.TrimSpace(resp.body)
	switch {
	case len(b) == 0:
		return "no body"
	case bytes.Contains(b[:min(len(b), 512)], []byte("Envelope")):
		return "a SOAP fault"
	case bytes.HasPrefix(bytes.ToLower(b), []byte("<!doctype html")) || bytes.HasPrefix(bytes.ToLower(b), []byte("<html")):
		return "an HTML page"
	}
	if ct := resp.header.Get("Content-Type"); ct != "" {
		return "a body of type " + quoteShort(sanitize(ct, maxDiscoveryEvidence))
	}
	return "a body that is not VI/JSON"
}

func (c *Client) vimPath(st *vimState, moType, moID, member string) string {
	return "/sdk/vim25/" + st.release + "/" + moType + "/" + moID + "/" + member
}

// vimLogin opens a VI/JSON session (before 8.0 U3). The token comes back in
// the vmware-api-session-id response header.
func (c *Client) vimLogin(ctx context.Context, st *vimState) (string, error) {
	body := marshal(struct {
		UserName string `json:"userName"`
		Password string `json:"password"`
	}{c.cfg.User, c.cfg.Password})
	r := request{method: http.MethodPost, path: c.vimPath(st, "SessionManager", st.sessionManager, "Login"), body: body, safe: true}
	resp, err := c.roundTrip(ctx, r)
	if err != nil {
		return "", fmt.Errorf("log in to VI/JSON on %s: %w", c.host, err)
	}
	defer resp.release()
	if resp.status/100 != 2 {
		e := c.vimError(r, resp)
		if errors.Is(e, ErrInvalidLogin) {
			return "", fmt.Errorf("log in to VI/JSON on %s as %s: %w (check VCENTER_USER and VCENTER_PASSWORD)", c.host, c.cfg.User, e)
		}
		return "", fmt.Errorf("log in to VI/JSON on %s: %w", c.host, e)
	}
	tok := resp.header.Get(sessionHeader)
	if tok == "" {
		return "", fmt.Errorf("log in to VI/JSON on %s: no %s header in the answer", c.host, sessionHeader)
	}
	c.log.Info().Msg("logged in to VI/JSON")
	return tok, nil
}

func (c *Client) vimLogout(ctx context.Context, st *vimState, tok string) error {
	r := request{method: http.MethodPost, path: c.vimPath(st, "SessionManager", st.sessionManager, "Logout"), token: tok}
	resp, err := c.roundTrip(ctx, r)
	if err != nil {
		return fmt.Errorf("log out of VI/JSON on %s: %w", c.host, err)
	}
	defer resp.release()
	if resp.status/100 != 2 {
		if e := c.vimError(r, resp); !errors.Is(e, ErrUnauthenticated) { // else it had expired already
			return fmt.Errorf("log out of VI/JSON on %s: %w", c.host, e)
		}
	}
	c.log.Info().Msg("logged out of VI/JSON")
	return nil
}

func (c *Client) vimError(r request, resp *response) *APIError {
	e := decodeVimFault(resp.status, r.method, r.path, resp.body, c.clean(r.token))
	e.RetryAfter, e.retryNote = resp.retryAfter, resp.retryNote
	return e
}

// vim calls a VI/JSON method (POST) or reads a property (GET) of the object
// moType/moID, renewing the session once on NotAuthenticated (which VI/JSON
// reports as HTTP 500, not 401). moID must already be validated.
func (c *Client) vim(ctx context.Context, method, moType, moID, member string, body any, out any) error {
	st, err := c.vimInfo(ctx)
	if err != nil {
		return err
	}
	r := request{method: method, path: c.vimPath(st, moType, moID, member), safe: method == http.MethodGet}
	if body != nil {
		r.body = marshal(body)
	}
	var resp *response
	if own := c.ownVIMSession(st); own != nil {
		resp, err = c.withSession(ctx, own, r, c.vimError)
	} else {
		resp, err = c.vimShared(ctx, st, r)
	}
	if err != nil {
		return err
	}
	defer resp.release()
	if out == nil {
		return nil
	}
	return decode(r.method, r.path, resp.body, out)
}

// vimShared sends r with the Automation API session, as 8.0 U3 and later
// accept on VI/JSON. When VI/JSON answers NotAuthenticated, the session
// either expired or is not shared on this vCenter, whatever its release
// says (a build where it is not in effect): the Automation API tells which
// (vapiSessionAlive). An expired session is renewed once and r replayed; a
// live one that VI/JSON refuses makes the client fall back, once and for
// the client's lifetime, to a VI/JSON login of its own, and replay r with
// it.
//
// Security: a NotAuthenticated request was not run, so replaying it is safe
// even for a POST.
func (c *Client) vimShared(ctx context.Context, st *vimState, r request) (*response, error) {
	tok, gen, err := c.sess.get(ctx)
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
		e := c.vimError(r, resp)
		resp.release()
		if !errors.Is(e, ErrUnauthenticated) {
			return nil, e
		}
		if c.vapiSessionAlive(ctx, tok) {
			own, err := c.useOwnVIMSession(st)
			if err != nil {
				return nil, err
			}
			return c.withSession(ctx, own, r, c.vimError)
		}
		if attempt > 0 {
			return nil, e
		}
		c.log.Info().Str("path", r.path).Msg("vCenter session expired; logging in again")
		if tok, gen, err = c.sess.renew(ctx, gen); err != nil {
			return nil, err
		}
	}
}

// newVIMSession returns a VI/JSON session of the client's own on st.
func (c *Client) newVIMSession(st *vimState) *session {
	return &session{
		login:  c.observeLogin(func(ctx context.Context) (string, error) { return c.vimLogin(ctx, st) }),
		logout: func(ctx context.Context, tok string) error { return c.vimLogout(ctx, st, tok) },
	}
}

// ownVIMSession returns st's own VI/JSON session, or nil while the
// Automation API session is shared.
func (c *Client) ownVIMSession(st *vimState) *session {
	c.vimMu.Lock()
	defer c.vimMu.Unlock()
	return st.own
}

// useOwnVIMSession switches st to a VI/JSON session of its own, once:
// concurrent callers get the same session.
func (c *Client) useOwnVIMSession(st *vimState) (*session, error) {
	c.vimMu.Lock()
	defer c.vimMu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	if st.own == nil {
		c.log.Warn().Str("api_version", st.apiVersion).
			Msg("VI/JSON refused the Automation API session although this vCenter release shares it; logging in to VI/JSON separately")
		st.own = c.newVIMSession(st)
	}
	return st.own, nil
}

// moRef is a VI/JSON ManagedObjectReference. It also accepts the boxed form
// {"_typeName":"ManagedObjectReference","_value":{…}} that VMware's guide
// shows for anyType fields.
type moRef struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func (m *moRef) UnmarshalJSON(b []byte) error {
	var flat struct {
		Type  string          `json:"type"`
		Value string          `json:"value"`
		Boxed json.RawMessage `json:"_value"`
	}
	if err := json.Unmarshal(b, &flat); err != nil {
		return err
	}
	if len(flat.Boxed) > 0 && flat.Value == "" {
		var inner struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		}
		if err := json.Unmarshal(flat.Boxed, &inner); err != nil {
			return err
		}
		flat.Type, flat.Value = inner.Type, inner.Value
	}
	m.Type, m.Value = flat.Type, flat.Value
	return nil
}

// MarshalJSON writes the flat form with its _typeName.
func (m moRef) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		TypeName string `json:"_typeName"`
		Type     string `json:"type"`
		Value    string `json:"value"`
	}{"ManagedObjectReference", m.Type, m.Value})
}
