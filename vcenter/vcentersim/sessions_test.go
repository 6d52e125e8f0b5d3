package vcentersim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPISessionLifecycle(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now})

	token := loginAPI(t, s)
	if len(token) != 32 {
		t.Errorf("token %q: want 32 hex digits", token)
	}
	clock.Advance(time.Minute)
	r := get(t, s, "/api/session", token)
	if r.status != http.StatusOK {
		t.Fatalf("GET /api/session: status %d", r.status)
	}
	info := decode[sessionInfo](t, r.body)
	want := sessionInfo{User: "Administrator@VSPHERE.LOCAL", CreatedTime: "2026-01-05T08:00:00.000Z", LastAccessedTime: "2026-01-05T08:01:00.000Z"}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("session info (-want +got):\n%s", diff)
	}

	r = do(t, s, req{method: http.MethodDelete, path: "/api/session", token: token})
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("DELETE /api/session: status %d body %q, want 204 and no body", r.status, r.body)
	}
	r = get(t, s, "/api/vcenter/vm", token)
	if r.status != http.StatusUnauthorized {
		t.Errorf("after logout: status %d, want 401", r.status)
	}
	c := s.Counters()
	if c.Logins["api"] != 1 || c.Logouts["api"] != 1 {
		t.Errorf("logins %v logouts %v, want one of each on api", c.Logins, c.Logouts)
	}
}

// TestRESTErrorsWithoutErrorType: under the option every /rest error names
// its type only in "type"; /api bodies keep error_type.
func TestRESTErrorsWithoutErrorType(t *testing.T) {
	s := newSim(t, Options{RESTErrorsWithoutErrorType: true})
	token := loginAPI(t, s)
	r := get(t, s, "/rest/vcenter/vm/vm-4242", token)
	if want := `{"type":"com.vmware.vapi.std.errors.not_found","value":{"messages":[{"id":"com.vmware.api.vcenter.vm.not_found","default_message":"Virtual machine with identifier 'vm-4242' does not exist.","args":["vm-4242"]}]}}`; r.status != http.StatusNotFound || string(r.body) != want {
		t.Errorf("/rest 404: status %d %s\nwant %s", r.status, r.body, want)
	}
	if r := get(t, s, "/api/vcenter/vm/vm-4242", token); decode[apiError](t, r.body).ErrorType != "NOT_FOUND" {
		t.Errorf("/api 404 body %s lacks error_type", r.body)
	}
}

func TestUnauthenticatedBodies(t *testing.T) {
	s := newSim(t, Options{})
	wantMsg := `{"id":"com.vmware.vapi.endpoint.method.authentication.required","default_message":"Authentication required.","args":[]}`
	for _, tt := range []struct {
		name, method, path, token string
		basic                     []string
		want                      string
	}{
		{"api no token", "GET", "/api/vcenter/vm", "", nil, `{"error_type":"UNAUTHENTICATED","messages":[` + wantMsg + `]}`},
		{"api unknown token", "GET", "/api/vcenter/vm/vm-70", "0123456789abcdef0123456789abcdef", nil, `{"error_type":"UNAUTHENTICATED","messages":[` + wantMsg + `]}`},
		{"api bad password", "POST", "/api/session", "", []string{DefaultUser, "nope"}, `{"error_type":"UNAUTHENTICATED","messages":[` + wantMsg + `]}`},
		{"api no credentials", "POST", "/api/session", "", nil, `{"error_type":"UNAUTHENTICATED","messages":[` + wantMsg + `]}`},
		// /rest: the shape the contract quotes from a live server (§1.4), without value.error_type.
		{"rest no token", "GET", "/rest/vcenter/vm", "", nil, `{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"messages":[` + wantMsg + `]}}`},
		{"rest bad user", "POST", "/rest/com/vmware/cis/session", "", []string{"root", DefaultPassword}, `{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"messages":[` + wantMsg + `]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hr, _ := http.NewRequest(tt.method, s.URL+tt.path, nil)
			if tt.token != "" {
				hr.Header.Set(sessionHeader, tt.token)
			}
			if tt.basic != nil {
				hr.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			resp, err := s.Client().Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusUnauthorized || string(got) != tt.want {
				t.Errorf("status %d body %s\nwant 401 %s", resp.StatusCode, got, tt.want)
			}
		})
	}
	if c := s.Counters(); c.FailedLogins["api"] != 2 || c.FailedLogins["rest"] != 1 || len(c.Logins) != 0 {
		t.Errorf("failed logins %v, logins %v", c.FailedLogins, c.Logins)
	}
}

func TestUserNameIsCaseInsensitive(t *testing.T) {
	s := newSim(t, Options{})
	hr, _ := http.NewRequest(http.MethodPost, s.URL+"/api/session", nil)
	hr.SetBasicAuth("Administrator@VSPHERE.LOCAL", s.Password())
	resp, err := s.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("login as Administrator@VSPHERE.LOCAL: status %d, want 201", resp.StatusCode)
	}
}

func TestRESTSession(t *testing.T) {
	s := newSim(t, Options{})
	login := func(headerAuthn bool) (string, *http.Response) {
		hr, _ := http.NewRequest(http.MethodPost, s.URL+"/rest/com/vmware/cis/session", nil)
		hr.SetBasicAuth(s.User(), s.Password())
		if headerAuthn {
			hr.Header.Set("vmware-use-header-authn", "true")
		}
		resp, err := s.Client().Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Value string }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil || body.Value == "" {
			t.Fatalf("rest login: status %d", resp.StatusCode)
		}
		return body.Value, resp
	}

	t.Run("cookie unless header authn", func(t *testing.T) {
		token, resp := login(false)
		cookies := resp.Cookies()
		if len(cookies) != 1 || cookies[0].Name != sessionHeader || cookies[0].Value != token {
			t.Errorf("cookies %v, want %s=%s", cookies, sessionHeader, token)
		}
		_, resp = login(true)
		if len(resp.Cookies()) != 0 {
			t.Errorf("with vmware-use-header-authn: cookies %v, want none", resp.Cookies())
		}
	})

	t.Run("cookie authenticates /rest", func(t *testing.T) {
		token, _ := login(false)
		hr, _ := http.NewRequest(http.MethodGet, s.URL+"/rest/vcenter/datacenter", nil)
		hr.AddCookie(&http.Cookie{Name: sessionHeader, Value: token})
		resp, err := s.Client().Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
	})

	t.Run("get and delete", func(t *testing.T) {
		token, _ := login(true)
		r := do(t, s, req{method: http.MethodPost, path: "/rest/com/vmware/cis/session?~action=get", token: token})
		info := decode[struct{ Value sessionInfo }](t, r.body)
		if r.status != http.StatusOK || info.Value.User != "Administrator@VSPHERE.LOCAL" {
			t.Errorf("session get: status %d %+v", r.status, info)
		}
		r = do(t, s, req{method: http.MethodDelete, path: "/rest/com/vmware/cis/session", token: token})
		if r.status != http.StatusOK || len(r.body) != 0 {
			t.Errorf("session delete: status %d body %q, want 200 and no body", r.status, r.body)
		}
		if r := get(t, s, "/rest/vcenter/vm", token); r.status != http.StatusUnauthorized {
			t.Errorf("after delete: status %d, want 401", r.status)
		}
	})

	t.Run("api and rest tokens are interchangeable", func(t *testing.T) {
		restToken, _ := login(true)
		if r := get(t, s, "/api/vcenter/datacenter", restToken); r.status != http.StatusOK {
			t.Errorf("/rest token on /api: status %d", r.status)
		}
		if r := get(t, s, "/rest/vcenter/datacenter", loginAPI(t, s)); r.status != http.StatusOK {
			t.Errorf("/api token on /rest: status %d", r.status)
		}
	})
}

// TestSessionSharingByRelease pins contract §1.3: a vAPI token works on
// VI/JSON, and a VI/JSON token on vAPI, only from 8.0 U3.
func TestSessionSharingByRelease(t *testing.T) {
	for _, tt := range []struct {
		release  string
		separate bool // Options.SeparateVIJSONSessions
		shared   bool
	}{
		{"8.0.1.0", false, false},
		{"8.0.2.0", false, false},
		{"8.0.3.0", false, true},
		{"8.0.3.0", true, false},
	} {
		t.Run(fmt.Sprintf("%s separate=%v", tt.release, tt.separate), func(t *testing.T) {
			s := newSim(t, Options{Release: tt.release, SeparateVIJSONSessions: tt.separate})
			apiToken := loginAPI(t, s)
			vimToken := loginVIM(t, s, tt.release)
			vmName := "/sdk/vim25/" + tt.release + "/VirtualMachine/vm-70/name"

			r := get(t, s, vmName, apiToken)
			if got := r.status == http.StatusOK; got != tt.shared {
				t.Errorf("/api token on VI/JSON: status %d %s, want shared=%v", r.status, r.body, tt.shared)
			}
			if !tt.shared {
				f := decode[map[string]any](t, r.body)
				want := map[string]any{
					"_typeName": "NotAuthenticated", "faultstring": "The session is not authenticated.", "privilegeId": "System.View",
					"object": map[string]any{"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-70"},
				}
				if r.status != http.StatusInternalServerError || !cmp.Equal(want, f) {
					t.Errorf("status %d fault %v, want 500 %v", r.status, f, want)
				}
			}
			r = get(t, s, "/api/vcenter/vm?vms=vm-70", vimToken)
			if got := r.status == http.StatusOK; got != tt.shared {
				t.Errorf("VI/JSON token on /api: status %d, want shared=%v", r.status, tt.shared)
			}
			if r := get(t, s, vmName, vimToken); r.status != http.StatusOK || string(r.body) != `"web-01"` {
				t.Errorf("VI/JSON token on VI/JSON: status %d body %s", r.status, r.body)
			}
		})
	}
}

func TestVIMSession(t *testing.T) {
	s := newSim(t, Options{})
	const base = "/sdk/vim25/8.0.1.0"

	t.Run("bad password is InvalidLogin with 500", func(t *testing.T) {
		r := do(t, s, req{method: http.MethodPost, path: base + "/SessionManager/SessionManager/Login",
			body: map[string]string{"userName": s.User(), "password": "wrong"}})
		f := decode[vimFaultBody](t, r.body)
		want := vimFaultBody{"InvalidLogin", "Cannot complete login due to an incorrect user name or password."}
		if r.status != http.StatusInternalServerError || f != want {
			t.Errorf("status %d %+v, want 500 %+v", r.status, f, want)
		}
	})

	t.Run("login, current session, logout", func(t *testing.T) {
		r := do(t, s, req{method: http.MethodPost, path: base + "/SessionManager/SessionManager/Login",
			body: map[string]string{"_typeName": "Login", "userName": s.User(), "password": s.Password(), "locale": "de"}})
		token := r.header.Get(sessionHeader)
		us := decode[userSession](t, r.body)
		if r.status != http.StatusOK || token == "" || us.TypeName != "UserSession" || us.UserName != `VSPHERE.LOCAL\Administrator` || us.Locale != "de" {
			t.Fatalf("login: status %d token %q session %+v", r.status, token, us)
		}
		if r := get(t, s, base+"/SessionManager/SessionManager/currentSession", token); decode[userSession](t, r.body).Key != us.Key {
			t.Errorf("currentSession: %s", r.body)
		}
		if r := get(t, s, base+"/SessionManager/SessionManager/currentSession", ""); r.status != http.StatusOK || string(r.body) != "null" {
			t.Errorf("currentSession without a session: status %d body %s, want 200 null", r.status, r.body)
		}
		r = do(t, s, req{method: http.MethodPost, path: base + "/SessionManager/SessionManager/Logout", token: token})
		if r.status != http.StatusNoContent {
			t.Errorf("logout: status %d, want 204", r.status)
		}
		r = get(t, s, base+"/VirtualMachine/vm-70/name", token)
		if f := decode[vimFaultBody](t, r.body); r.status != http.StatusInternalServerError || f.TypeName != "NotAuthenticated" {
			t.Errorf("after logout: status %d %+v, want 500 NotAuthenticated", r.status, f)
		}
		if c := s.Counters(); c.Logins["vijson"] != 1 || c.Logouts["vijson"] != 1 || c.FailedLogins["vijson"] != 1 {
			t.Errorf("counters %+v", c)
		}
	})

	t.Run("service content needs no session", func(t *testing.T) {
		r := get(t, s, base+"/ServiceInstance/ServiceInstance/content", "")
		var sc struct {
			TypeName       string `json:"_typeName"`
			SessionManager moRef
			RootFolder     moRef
			About          aboutInfo
		}
		if err := json.Unmarshal(r.body, &sc); err != nil || r.status != http.StatusOK {
			t.Fatalf("status %d: %v", r.status, err)
		}
		if sc.SessionManager != ref("SessionManager", "SessionManager") || sc.RootFolder != ref("Folder", "group-d1") ||
			sc.About.APIVersion != "8.0.3.0" || sc.About.APIType != "VirtualCenter" || sc.About.Build != "24022515" {
			t.Errorf("service content %+v", sc)
		}
	})
}

func TestSessionIdleExpiry(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now, SessionIdleTimeout: 10 * time.Minute})
	token := loginAPI(t, s)
	vimToken := loginVIM(t, s, "8.0.3.0")

	clock.Advance(9 * time.Minute)
	if r := get(t, s, "/api/vcenter/datacenter", token); r.status != http.StatusOK {
		t.Fatalf("at 9 minutes: status %d, want 200", r.status)
	}
	clock.Advance(9 * time.Minute) // 9 minutes since the last use, 18 since login
	if r := get(t, s, "/api/vcenter/datacenter", token); r.status != http.StatusOK {
		t.Errorf("use refreshes last access: status %d, want 200", r.status)
	}
	if n := s.ActiveSessions(); n != 1 {
		t.Errorf("ActiveSessions = %d, want 1 (the unused VI/JSON session has expired)", n)
	}
	r := get(t, s, "/sdk/vim25/8.0.3.0/VirtualMachine/vm-70/name", vimToken)
	if f := decode[vimFaultBody](t, r.body); f.TypeName != "NotAuthenticated" {
		t.Errorf("expired VI/JSON session: %s", r.body)
	}
	clock.Advance(10 * time.Minute)
	if r := get(t, s, "/api/vcenter/datacenter", token); r.status != http.StatusUnauthorized {
		t.Errorf("after 10 idle minutes: status %d, want 401", r.status)
	}
}

func TestExpireSessions(t *testing.T) {
	s := newSim(t, Options{})
	tokens := []string{loginAPI(t, s), loginAPI(t, s), loginVIM(t, s, "8.0.3.0")}
	if n := s.ActiveSessions(); n != 3 {
		t.Fatalf("ActiveSessions = %d, want 3", n)
	}
	s.ExpireSessions()
	if n := s.ActiveSessions(); n != 0 {
		t.Errorf("ActiveSessions after ExpireSessions = %d, want 0", n)
	}
	for _, tok := range tokens {
		if r := get(t, s, "/api/vcenter/datacenter", tok); r.status != http.StatusUnauthorized {
			t.Errorf("token %s: status %d, want 401", tok[:6], r.status)
		}
	}
	if r := get(t, s, "/api/vcenter/datacenter", loginAPI(t, s)); r.status != http.StatusOK {
		t.Errorf("a new login works again: status %d", r.status)
	}
}
