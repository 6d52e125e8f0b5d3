package vcentersim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// unmatchedKey is the Counters and Requests route key of a request that
// names no operation.
const unmatchedKey = "UNMATCHED"

// jsonNull is a result that encodes as JSON null: an unset VI/JSON property.
var jsonNull = json.RawMessage("null")

// ServeHTTP serves one request: it reads the body (at most 1 MiB), records the
// request, applies latency and any injected fault, then runs the operation.
// A faulted request is still recorded under its route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	var tooLarge *http.MaxBytesError
	oversized := errors.As(err, &tooLarge)

	escaped := r.URL.EscapedPath()
	query, _ := url.ParseQuery(r.URL.RawQuery) // a malformed query keeps what parsed; lists reject it
	rt, params := s.match(r.Method, escaped, query)

	s.mu.Lock()
	fault := s.takeFault(r.Method, escaped)
	s.record(r, escaped, rt, fault != nil)
	delay := s.nextDelay()
	s.mu.Unlock()

	if !s.wait(r.Context(), delay) {
		s.noteAbandoned(r)
		s.abort(w)
		return
	}
	c := &call{w: w, r: r, surface: surfaceOf(escaped), body: body, params: params}
	switch {
	case fault != nil:
		s.serveFault(c, fault)
	case oversized:
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
	case err != nil:
		return // the client went away mid-body
	case rt == nil:
		s.serveUnmatched(c)
	case rt.pattern == caDownloadPath:
		s.serveCADownload(c)
	case rt.surface == surfaceVIM:
		s.serveVIM(c, rt)
	default:
		s.serveVAPI(c, rt)
	}
}

// record counts the request and appends it to the request log. Caller holds mu.
func (s *Server) record(r *http.Request, escaped string, rt *route, faulted bool) {
	key := unmatchedKey
	if rt != nil {
		key = rt.key()
	}
	s.stats.Requests++
	s.stats.Routes[key]++
	if faulted {
		s.stats.Faults++
	}
	s.requests.add(Request{
		Method: r.Method, RequestURI: r.RequestURI, Path: escaped, RawQuery: r.URL.RawQuery,
		Route: key, Faulted: faulted,
	})
}

// noteAbandoned counts a request whose client left before the answer; a
// request cut short by Close does not count.
func (s *Server) noteAbandoned(r *http.Request) {
	if r.Context().Err() == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Abandoned++
}

// nextDelay draws the latency for one request. Caller holds mu.
func (s *Server) nextDelay() time.Duration {
	d := s.latency
	if s.jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(s.jitter)))
	}
	return d
}

// wait sleeps for d. It reports false if the client went away or the server
// is closing first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// abort drops the connection without an answer. If the client is gone there
// is nothing left to do.
func (s *Server) abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// serveUnmatched answers a URL that names no operation, in the surface's
// shape: vAPI's NOT_FOUND bodies on /api and /rest, a bare 404 elsewhere
// (VI/JSON included: a wrong base path or release is a plain 404 there,
// contract §3.3).
func (s *Server) serveUnmatched(c *call) {
	switch c.surface {
	case surfaceAPI:
		writeJSON(c.w, http.StatusNotFound, errAPINotFound().apiBody())
	case surfaceREST:
		writeJSON(c.w, http.StatusNotFound, s.restBody(errRESTNotFound(c.r.URL.EscapedPath())))
	default:
		http.NotFound(c.w, c.r)
	}
}

// serveVAPI runs an /api or /rest operation and writes its result in the
// dialect of the request (contract §2): /api bare JSON with 200/201/204,
// /rest always 200 with {"value": …} or an empty body.
func (s *Server) serveVAPI(c *call, rt *route) {
	s.mu.Lock()
	s.settleGuests()
	var result any
	var verr *vapiError
	if !rt.noAuth && s.authenticate(c) == nil {
		verr = errUnauthenticated()
	} else {
		result, verr = rt.vapi(s, c)
	}
	s.mu.Unlock()

	switch {
	case verr != nil:
		if c.surface == surfaceREST {
			writeJSON(c.w, restStatus[verr.Type], s.restBody(verr))
		} else {
			writeJSON(c.w, apiStatus[verr.Type], verr.apiBody())
		}
	case c.surface == surfaceREST && isAccepted(result):
		writeJSON(c.w, http.StatusOK, struct {
			Value any `json:"value"`
		}{result.(accepted).value})
	case isAccepted(result):
		writeJSON(c.w, http.StatusAccepted, result.(accepted).value)
	case c.surface == surfaceREST && result == nil:
		c.w.WriteHeader(http.StatusOK)
	case c.surface == surfaceREST:
		writeJSON(c.w, http.StatusOK, struct {
			Value any `json:"value"`
		}{result})
	case result == nil:
		c.w.WriteHeader(http.StatusNoContent)
	case rt.created:
		writeJSON(c.w, http.StatusCreated, result)
	default:
		writeJSON(c.w, http.StatusOK, result)
	}
}

// serveVIM runs a VI/JSON method or property read (contract §3.2, §3.3):
// 200 with the result, 204 for a void method, 500 with the fault object.
func (s *Server) serveVIM(c *call, rt *route) {
	// A body must be declared as JSON. A method without parameters may be
	// called with no body and no Content-Type, as VMware's own curl examples do.
	if len(bytes.TrimSpace(c.body)) > 0 {
		mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			http.Error(c.w, "unsupported media type: send Content-Type: application/json", http.StatusUnsupportedMediaType)
			return
		}
	}
	s.mu.Lock()
	s.settleGuests()
	var result any
	var fault *vimFault
	if !rt.noAuth && s.authenticate(c) == nil {
		fault = faultNotAuthenticated(rt.moType, c.param("moId"), rt.privilege)
	} else {
		result, fault = rt.vim(s, c)
	}
	s.mu.Unlock()

	switch {
	case fault != nil:
		writeJSON(c.w, http.StatusInternalServerError, fault.body())
	case result == nil:
		c.w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(c.w, http.StatusOK, result)
	}
}

// accepted is the result of an operation started as a task
// (?vmw-task=true): /api answers 202 with the task id, /rest 200 with it
// as the value (contract changes §0.1).
type accepted struct{ value any }

func isAccepted(v any) bool {
	_, ok := v.(accepted)
	return ok
}

// writeJSON writes v as the JSON body of a response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "vcentersim: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
