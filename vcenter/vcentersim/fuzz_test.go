package vcentersim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzServeHTTP feeds arbitrary requests, with and without a session, to the
// handler: no input may panic it, and every answer must be a valid status.
func FuzzServeHTTP(f *testing.F) {
	for _, seed := range []struct {
		method int
		target string
		body   string
	}{
		{0, "/api/vcenter/vm?names=web-01&power_states=POWERED_ON", ""},
		{1, "/api/vcenter/vm/vm-70/power?action=stop", ""},
		{2, "/api/vcenter/vm/vm-70/hardware/memory", `{"size_MiB":8192}`},
		{2, "/rest/vcenter/vm/vm-70/hardware/cpu", `{"spec":{"count":null,"hot_add_enabled":"x"}}`},
		{3, "/api/vcenter/vm/vm-73", ""},
		{1, "/sdk/vim25/8.0.3.0/VirtualMachine/vm-76/CreateSnapshotEx_Task", `{"name":"s","memory":true,"quiesceSpec":{"_typeName":1}}`},
		{1, "/sdk/vim25/8.0.3.0/VirtualMachineSnapshot/snapshot-3/RemoveSnapshot_Task", `{"removeChildren":false}`},
		{0, "/sdk/vim25/8.0.3.0/Task/task-1/info", ""},
		{1, "/sdk/vim25/8.0.3.0/SessionManager/SessionManager/Login", `{"userName":null}`},
		{0, "/rest/vcenter/folder?filter.type=HOST&filter.type=%", ""},
		{1, "/rest/com/vmware/cis/session?~action=get", ""},
	} {
		f.Add(seed.method, seed.target, []byte(seed.body), true)
	}
	s := NewUnstartedServer(Options{ManualTasks: true})
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut}

	f.Fuzz(func(t *testing.T, method int, target string, body []byte, auth bool) {
		r, err := http.NewRequest(methods[uint(method)%uint(len(methods))], "https://vc.example"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		r.RequestURI = r.URL.RequestURI()
		r.Header.Set("Content-Type", "application/json")
		if auth {
			// A fuzzed DELETE /api/session logs the session out: open it anew.
			r.Header.Set(sessionHeader, "fuzz")
			s.mu.Lock()
			s.sessions["fuzz"] = &session{token: "fuzz", family: surfaceAPI, user: DefaultUser, created: s.now(), lastAccess: s.now()}
			s.mu.Unlock()
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code < 200 || w.Code > 599 {
			t.Errorf("%s %s: status %d", r.Method, target, w.Code)
		}
	})
}
