package transport

import (
	"slices"
	"sync"
)

// Headers of Streamable HTTP.
const (
	sessionIDHeader       = "Mcp-Session-Id"
	protocolVersionHeader = "Mcp-Protocol-Version"
)

// sessions knows which token opened each live MCP session of a stateful
// server, and holds the per-token cap. The SDK binds a session to its
// creator too, but refuses a foreign token with a 403 nobody audits, and
// keeps no count.
type sessions struct {
	mu      sync.Mutex
	byID    map[string]sessionOf // by session id
	pending map[string]int       // token fingerprint → initialize calls in progress
	gen     uint64               // counts sessions opened
}

// sessionOf is what is known of a live session.
type sessionOf struct {
	fp      string // the fingerprint of the token that opened it
	version string // the protocol version negotiated at initialize
	gen     uint64 // s.gen when it was opened
}

func newSessions() *sessions {
	return &sessions{byID: map[string]sessionOf{}, pending: map[string]int{}}
}

// owner returns the fingerprint of the token that opened sid, if known.
func (s *sessions) owner(sid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	so, ok := s.byID[sid]
	return so.fp, ok
}

// version returns the protocol version negotiated for sid, if known.
func (s *sessions) version(sid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[sid].version
}

// legacyVersions are the protocol versions a stateful server negotiates
// (2026-07-28 is sessionless), oldest first.
var legacyVersions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}

// negotiated is the version the SDK agrees to for a client asking for v:
// v itself if it knows it, else its latest.
func negotiated(v string) string {
	if slices.Contains(legacyVersions, v) {
		return v
	}
	return legacyVersions[len(legacyVersions)-1]
}

// reserve takes a place for a new session of fp if it has fewer than max
// live ones (those of live, plus initialize calls in progress). Dead
// sessions are forgotten on the way, so the map holds live sessions only.
// The place is kept by [reservation.opened] or given back by
// [reservation.release].
//
// live is a snapshot taken outside the lock: a session opened after it
// was taken is missing from it, yet alive, and is counted, not forgotten
// (without this, initializes racing for the last place each forgot the
// others' new sessions and together went past the cap).
func (s *sessions) reserve(fp string, live func() map[string]bool, max int) (*reservation, bool) {
	s.mu.Lock()
	before := s.gen
	s.mu.Unlock()
	alive := live()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.pending[fp]
	for sid, so := range s.byID {
		switch {
		case !alive[sid] && so.gen <= before:
			delete(s.byID, sid)
		case so.fp == fp:
			n++
		}
	}
	if n >= max {
		return nil, false
	}
	s.pending[fp]++
	return &reservation{s: s, fp: fp}, true
}

// reservation is a place taken for a session being opened.
type reservation struct {
	s       *sessions
	fp      string
	version string // the protocol version the initialize asked for
	done    bool
}

// opened turns the place into the session sid.
func (r *reservation) opened(sid string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if !r.done {
		r.done = true
		r.s.gen++
		r.s.byID[sid] = sessionOf{fp: r.fp, version: negotiated(r.version), gen: r.s.gen}
		r.s.dropPending(r.fp)
	}
}

// release gives the place back unless a session took it.
func (r *reservation) release() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if !r.done {
		r.done = true
		r.s.dropPending(r.fp)
	}
}

// dropPending must be called with s.mu held.
func (s *sessions) dropPending(fp string) {
	if s.pending[fp]--; s.pending[fp] <= 0 {
		delete(s.pending, fp)
	}
}
