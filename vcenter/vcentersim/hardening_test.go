package vcentersim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestRequestLogKeepsTheMostRecent(t *testing.T) {
	s := newSim(t, Options{RequestLog: 3})
	token := loginAPI(t, s)
	for i := range 5 {
		get(t, s, fmt.Sprintf("/api/vcenter/vm?names=n%d", i), token)
	}
	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.RawQuery)
	}
	if want := "names=n2 names=n3 names=n4"; strings.Join(got, " ") != want {
		t.Errorf("request log = %q, want the last three: %q", got, want)
	}
	if c := s.Counters(); c.Requests != 6 || c.Routes["GET /api/vcenter/vm"] != 5 {
		t.Errorf("counters %+v: want exact totals (6 requests, 5 lists) past the log's size", c)
	}
	s.ResetCounters()
	get(t, s, "/api/vcenter/vm?names=after", token)
	if r := s.Requests(); len(r) != 1 || r[0].RawQuery != "names=after" {
		t.Errorf("after ResetCounters: %+v", r)
	}
	if got := NewUnstartedServer(Options{}).opts.RequestLog; got != DefaultRequestLog {
		t.Errorf("default request log = %d, want %d", got, DefaultRequestLog)
	}
}

func TestAbandonedRequestsAreCounted(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	s.InjectFault(Fault{Method: http.MethodGet, Path: "/api/vcenter/vm", Kind: FaultHang})
	ctx, cancel := context.WithCancel(context.Background())
	hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/vcenter/vm", nil)
	hr.Header.Set(sessionHeader, token)
	errc := make(chan error, 1)
	go func() {
		resp, err := s.Client().Do(hr)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, "the request to hang", func() bool { return s.Counters().Faults == 1 })
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a hung request answered")
	}
	waitFor(t, "the server to see the client leave", func() bool { return s.Counters().Abandoned == 1 })
}

func TestEchoRequestFault(t *testing.T) {
	s := newSim(t, Options{})
	s.InjectFault(Fault{Path: "/api/session", Status: 500, ErrorType: "ERROR", Message: "proxy error.", EchoRequest: true})
	hr, _ := http.NewRequest(http.MethodPost, s.URL+"/api/session", nil)
	hr.SetBasicAuth(s.User(), s.Password())
	resp, err := s.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Messages []struct {
			DefaultMessage string `json:"default_message"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Messages) != 1 {
		t.Fatalf("status %d, body %+v, %v", resp.StatusCode, body, err)
	}
	msg := body.Messages[0].DefaultMessage
	basic := base64.StdEncoding.EncodeToString([]byte(s.User() + ":" + s.Password()))
	for _, want := range []string{"proxy error. Request: POST /api/session HTTP/1.1", "Authorization: Basic " + basic} {
		if !strings.Contains(msg, want) {
			t.Errorf("echo %q lacks %q", msg, want)
		}
	}
}
