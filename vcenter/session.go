package vcenter

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errClosed is returned by calls made after [Client.Close].
var errClosed = errors.New("vCenter client closed")

// session holds one login's token for the lifetime of the process: it logs
// in on first use, shares the token between concurrent calls, runs at most
// one login at a time, and renews the token at most once per expiry.
//
// vCenter keeps a bounded number of sessions (3000 by default from 8.0 U3),
// so a login per call would exhaust it; see vcenter-api.md §1.4.
type session struct {
	login  func(ctx context.Context) (string, error)
	logout func(ctx context.Context, token string) error

	mu      sync.Mutex // guards the fields below
	token   string     // "" until logged in, and after expiry
	gen     uint64     // incremented by every successful login
	pending *loginCall // the login in flight, if any
	closed  bool
}

// loginCall is one login that concurrent callers wait for.
type loginCall struct {
	done  chan struct{}
	token string
	gen   uint64
	err   error
}

// loginTimeout bounds a login, which runs detached from the caller that
// started it so that one caller's cancellation does not fail the others.
const loginTimeout = time.Minute

// get returns the current token and its generation, logging in if needed.
func (s *session) get(ctx context.Context) (string, uint64, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", 0, errClosed
	}
	if s.token != "" {
		tok, gen := s.token, s.gen
		s.mu.Unlock()
		return tok, gen, nil
	}
	call := s.pending
	if call == nil {
		call = &loginCall{done: make(chan struct{})}
		s.pending = call
		go s.run(context.WithoutCancel(ctx), call)
	}
	s.mu.Unlock()

	select {
	case <-call.done:
		return call.token, call.gen, call.err
	case <-ctx.Done():
		return "", 0, ctx.Err()
	}
}

func (s *session) run(ctx context.Context, call *loginCall) {
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	tok, err := s.login(ctx)

	s.mu.Lock()
	s.pending = nil
	closed := s.closed
	if err == nil && !closed {
		s.gen++
		s.token = tok
		call.token, call.gen = tok, s.gen
	}
	s.mu.Unlock()

	switch {
	case err != nil:
		call.err = err
	case closed: // Close ran during the login: do not leak the new session.
		call.err = errClosed
		_ = s.logout(ctx, tok)
	}
	close(call.done)
}

// renew is called when vCenter refused the token of generation gen as
// unauthenticated. If that token is still current it is dropped and a new
// login runs; if another call renewed it already, the newer token is used.
func (s *session) renew(ctx context.Context, gen uint64) (string, uint64, error) {
	s.mu.Lock()
	if s.gen == gen {
		s.token = "" // expired on vCenter's side: nothing to log out
	}
	s.mu.Unlock()
	return s.get(ctx)
}

// close logs out if logged in. Later calls fail with errClosed.
func (s *session) close(ctx context.Context) error {
	s.mu.Lock()
	tok := s.token
	s.token = ""
	s.closed = true
	pending := s.pending
	s.mu.Unlock()
	if pending != nil { // its goroutine sees closed and logs the new session out
		select {
		case <-pending.done:
		case <-ctx.Done():
		}
	}
	if tok == "" {
		return nil
	}
	return s.logout(ctx, tok)
}
