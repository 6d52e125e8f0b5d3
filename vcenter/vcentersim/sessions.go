package vcentersim

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"time"
)

// sessionHeader carries the session token on every surface (contract §1).
const sessionHeader = "vmware-api-session-id"

// session is one login. /api and /rest share the vAPI session service, so
// their tokens are interchangeable; a VI/JSON login belongs to vpxd. From
// 8.0 U3 one session serves both (release.sharedSessions).
type session struct {
	token      string
	family     surface // surfaceAPI for a vAPI login (/api or /rest), surfaceVIM for VI/JSON
	user       string  // the user name as the client typed it
	created    time.Time
	lastAccess time.Time
	ip         string
	userAgent  string
	calls      int
}

// authenticate finds the live session of the request's token for its surface,
// refreshes its last access and remembers it on the call. It returns nil when
// the token is missing, unknown, idle too long or belongs to the other
// family on a build before 8.0 U3. Caller holds mu.
func (s *Server) authenticate(c *call) *session {
	token := c.r.Header.Get(sessionHeader)
	if token == "" && c.surface == surfaceREST {
		// The legacy REST login sets this cookie unless the client asked for
		// header authentication (contract §1.2).
		if ck, err := c.r.Cookie(sessionHeader); err == nil {
			token = ck.Value
		}
	}
	sess := s.liveSession(token)
	if sess == nil {
		return nil
	}
	family := c.surface
	if family == surfaceREST {
		family = surfaceAPI
	}
	if sess.family != family && (!s.release.sharedSessions() || s.opts.SeparateVIJSONSessions) {
		return nil
	}
	sess.lastAccess = s.now()
	sess.calls++
	c.session = sess
	return sess
}

// liveSession returns the session of token unless it has been idle for
// SessionIdleTimeout, in which case it is forgotten. Caller holds mu.
func (s *Server) liveSession(token string) *session {
	sess := s.sessions[token]
	if sess == nil {
		return nil
	}
	if s.now().Sub(sess.lastAccess) >= s.opts.SessionIdleTimeout {
		delete(s.sessions, token)
		return nil
	}
	return sess
}

// login checks credentials and opens a session of the given family.
// Caller holds mu.
func (s *Server) login(c *call, family surface, user, password string) *session {
	if !strings.EqualFold(user, s.opts.User) || password != s.opts.Password {
		s.stats.FailedLogins[c.surface.String()]++
		return nil
	}
	now := s.now()
	for token := range s.sessions {
		s.liveSession(token) // forget idle sessions, so clients that never log out cannot grow the map
	}
	sess := &session{
		token: newToken(), family: family, user: user, created: now, lastAccess: now,
		userAgent: c.r.UserAgent(),
	}
	if ip, _, err := net.SplitHostPort(c.r.RemoteAddr); err == nil {
		sess.ip = ip
	}
	s.sessions[sess.token] = sess
	s.stats.Logins[c.surface.String()]++
	return sess
}

// logout ends the call's session. Caller holds mu.
func (s *Server) logout(c *call) {
	delete(s.sessions, c.session.token)
	s.stats.Logouts[c.surface.String()]++
}

// newToken returns 32 hex digits, the shape of a vCenter session id
// ("b00db39f948d13ea1e59b4d6fce56389").
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// ssoPrincipal spells a user the way the session service reports it:
// "Administrator@VSPHERE.LOCAL" (domain upper case, the built-in
// administrator capitalised).
func ssoPrincipal(user string) string {
	local, domain, ok := strings.Cut(user, "@")
	if !ok {
		return user
	}
	if strings.EqualFold(local, "administrator") {
		local = "Administrator"
	}
	return local + "@" + strings.ToUpper(domain)
}

// vimUserName spells a user the way vim25 UserSession.userName does:
// "VSPHERE.LOCAL\Administrator".
func vimUserName(user string) string {
	p := ssoPrincipal(user)
	local, domain, ok := strings.Cut(p, "@")
	if !ok {
		return p
	}
	return domain + `\` + local
}

// vAPI time stamps: RFC 3339 in UTC with milliseconds.
func vapiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// sessionInfo is cis.session.Info.
type sessionInfo struct {
	User             string `json:"user"`
	CreatedTime      string `json:"created_time"`
	LastAccessedTime string `json:"last_accessed_time"`
}

// handleSessionCreate is POST /api/session (201, the token as a JSON string)
// and POST /rest/com/vmware/cis/session (200, {"value": token}).
func handleSessionCreate(s *Server, c *call) (any, *vapiError) {
	user, password, ok := c.r.BasicAuth()
	if !ok {
		s.stats.FailedLogins[c.surface.String()]++
		return nil, errUnauthenticated()
	}
	sess := s.login(c, surfaceAPI, user, password)
	if sess == nil {
		return nil, errUnauthenticated()
	}
	if c.surface == surfaceREST && !strings.EqualFold(c.r.Header.Get("vmware-use-header-authn"), "true") {
		http.SetCookie(c.w, &http.Cookie{Name: sessionHeader, Value: sess.token, Path: "/rest", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	return sess.token, nil
}

// handleSessionGet is GET /api/session and POST /rest/com/vmware/cis/session?~action=get.
func handleSessionGet(s *Server, c *call) (any, *vapiError) {
	return sessionInfo{
		User:             ssoPrincipal(c.session.user),
		CreatedTime:      vapiTime(c.session.created),
		LastAccessedTime: vapiTime(c.session.lastAccess),
	}, nil
}

// handleSessionDelete is DELETE /api/session (204) and DELETE
// /rest/com/vmware/cis/session (200, empty).
func handleSessionDelete(s *Server, c *call) (any, *vapiError) {
	s.logout(c)
	return nil, nil
}

// userSession is vim25 UserSession.
type userSession struct {
	TypeName         string `json:"_typeName"`
	Key              string `json:"key"`
	UserName         string `json:"userName"`
	FullName         string `json:"fullName"`
	LoginTime        string `json:"loginTime"`
	LastActiveTime   string `json:"lastActiveTime"`
	Locale           string `json:"locale"`
	MessageLocale    string `json:"messageLocale"`
	ExtensionSession bool   `json:"extensionSession"`
	IPAddress        string `json:"ipAddress"`
	UserAgent        string `json:"userAgent"`
	CallCount        int64  `json:"callCount"`
}

func (s *Server) userSession(sess *session) userSession {
	local, domain, _ := strings.Cut(ssoPrincipal(sess.user), "@")
	k := sess.token
	return userSession{
		TypeName: "UserSession",
		// UserSession.key is a UUID-shaped id, not the token.
		Key:      k[:8] + "-" + k[8:12] + "-" + k[12:16] + "-" + k[16:20] + "-" + k[20:],
		UserName: vimUserName(sess.user), FullName: strings.TrimSpace(local + " " + strings.ToLower(domain)),
		LoginTime: vimTime(sess.created), LastActiveTime: vimTime(sess.lastAccess),
		Locale: "en", MessageLocale: "en", IPAddress: sess.ip, UserAgent: sess.userAgent, CallCount: int64(sess.calls),
	}
}

// handleVIMLogin is SessionManager.Login (contract §1.3): the token travels
// in the vmware-api-session-id response header, the body is the UserSession,
// and bad credentials are an InvalidLogin fault with HTTP 500.
func handleVIMLogin(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"userName": true, "password": true, "locale": false})
	if fault != nil {
		return nil, fault
	}
	var user, password, locale string
	if f := p.str("userName", &user); f != nil {
		return nil, f
	}
	if f := p.str("password", &password); f != nil {
		return nil, f
	}
	if f := p.str("locale", &locale); f != nil {
		return nil, f
	}
	sess := s.login(c, surfaceVIM, user, password)
	if sess == nil {
		return nil, newFault("InvalidLogin", "Cannot complete login due to an incorrect user name or password.")
	}
	c.w.Header().Set(sessionHeader, sess.token)
	out := s.userSession(sess)
	if locale != "" {
		out.Locale, out.MessageLocale = locale, locale
	}
	return out, nil
}

// handleVIMLogout is SessionManager.Logout: 204.
func handleVIMLogout(s *Server, c *call) (any, *vimFault) {
	s.logout(c)
	return nil, nil
}

// handleVIMCurrentSession reads SessionManager.currentSession: the caller's
// UserSession, or null without a valid session (vim25 makes the property
// readable unauthenticated precisely so clients can probe their session).
func handleVIMCurrentSession(s *Server, c *call) (any, *vimFault) {
	if s.authenticate(c) == nil {
		return jsonNull, nil
	}
	return s.userSession(c.session), nil
}
