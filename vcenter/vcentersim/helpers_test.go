package vcentersim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// newSim starts a simulator that the test closes.
func newSim(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// fakeClock is an injectable Options.Now that only moves when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, time.January, 5, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// req describes a request: headers and body are optional. A body that is
// not []byte or string is encoded as JSON.
type req struct {
	method, path string
	token        string
	body         any
	header       map[string]string
}

// do sends r to the simulator with its trusting client.
func do(t testing.TB, s *Server, r req) response {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		body = bytes.NewReader(enc)
	}
	hr, err := http.NewRequest(r.method, s.URL+r.path, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", r.method, r.path, err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set(sessionHeader, r.token)
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	resp, err := s.Client().Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func get(t testing.TB, s *Server, path, token string) response {
	t.Helper()
	return do(t, s, req{method: http.MethodGet, path: path, token: token})
}

// loginAPI opens an /api session and returns its token.
func loginAPI(t testing.TB, s *Server) string {
	t.Helper()
	hr, _ := http.NewRequest(http.MethodPost, s.URL+"/api/session", nil)
	hr.SetBasicAuth(s.User(), s.Password())
	resp, err := s.Client().Do(hr)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	defer resp.Body.Close()
	var token string
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&token) != nil {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	return token
}

// loginVIM opens a VI/JSON session and returns its token.
func loginVIM(t testing.TB, s *Server, release string) string {
	t.Helper()
	r := do(t, s, req{method: http.MethodPost, path: "/sdk/vim25/" + release + "/SessionManager/SessionManager/Login",
		body: map[string]string{"userName": s.User(), "password": s.Password()}})
	if r.status != http.StatusOK || r.header.Get(sessionHeader) == "" {
		t.Fatalf("VI/JSON login: status %d body %s", r.status, r.body)
	}
	return r.header.Get(sessionHeader)
}

// decode unmarshals a JSON body into T.
func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, truncate(b), err)
	}
	return v
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// apiError is the /api error body.
type apiError struct {
	ErrorType string `json:"error_type"`
	Messages  []struct {
		ID             string   `json:"id"`
		DefaultMessage string   `json:"default_message"`
		Args           []string `json:"args"`
	} `json:"messages"`
}

// restError is the /rest error body.
type restError struct {
	Type  string   `json:"type"`
	Value apiError `json:"value"`
}

// errorTypeOf reads the error type of an /api or /rest error body.
func errorTypeOf(t testing.TB, path string, b []byte) string {
	t.Helper()
	if strings.HasPrefix(path, "/rest") {
		e := decode[restError](t, b)
		typ := strings.ToUpper(strings.TrimPrefix(e.Type, "com.vmware.vapi.std.errors."))
		if e.Value.ErrorType != "" && e.Value.ErrorType != typ {
			t.Errorf("/rest error type %q, value.error_type %q: they disagree", e.Type, e.Value.ErrorType)
		}
		if e.Value.ErrorType == "" && typ != "UNAUTHENTICATED" {
			t.Errorf("/rest %s error without value.error_type", typ)
		}
		return typ
	}
	return decode[apiError](t, b).ErrorType
}

// vimFaultBody is a VI/JSON fault body.
type vimFaultBody struct {
	TypeName    string `json:"_typeName"`
	FaultString string `json:"faultstring"`
}

// pollTask reads a task's info until it ends and returns the last info.
func pollTask(t testing.TB, s *Server, release, token, taskID string) map[string]any {
	t.Helper()
	for range 50 {
		r := get(t, s, "/sdk/vim25/"+release+"/Task/"+taskID+"/info", token)
		if r.status != http.StatusOK {
			t.Fatalf("task info %s: status %d %s", taskID, r.status, r.body)
		}
		info := decode[map[string]any](t, r.body)
		if st := info["state"]; st == "success" || st == "error" {
			return info
		}
	}
	t.Fatalf("task %s did not end", taskID)
	return nil
}
