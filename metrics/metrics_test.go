package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
)

// scrape fetches h's metrics in the text format and parses them.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return fams
}

// value returns the counter, gauge or histogram count of the series of
// family name with exactly these labels, and whether it exists.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsCountWhatTheyAreTold(t *testing.T) {
	m := New(Options{Tools: []string{"list_vms", "power_on_vm"}, Decisions: []string{"allowed", "denied_rate"}, Version: "1.2.3", Store: true})
	live := 3
	m.Sessions(func() int { return live })
	m.Call("list_vms", "allowed", 20*time.Millisecond)
	m.Call("list_vms", "allowed", 40*time.Millisecond)
	m.Call("list_vms", "denied_rate", time.Millisecond)
	m.Call("power_on_vm", "allowed", 2*time.Second)
	// Names outside the closed sets collapse: a flood of made-up tool
	// names, a token pasted as a tool name, a method refused before MCP.
	for _, tool := range []string{"tok-secret-5b1f-4a2c-9d3e", "initialize", "", "list_vms\n", strings.Repeat("x", 10000)} {
		m.Call(tool, "made_up_decision", time.Millisecond)
	}
	m.AuditFailed()
	m.VCenterRequest("GET", 200, 10*time.Millisecond)
	m.VCenterRequest("GET", 200, 10*time.Millisecond)
	m.VCenterRequest("POST", 0, time.Second)
	m.VCenterRequest("BREW", 999, time.Second)
	m.VCenterLogin(nil)
	m.VCenterLogin(errors.New("invalid login"))
	m.VCenterLogin(nil)
	m.StoreFailed("bucket")
	m.StoreFailed("nonce")
	m.StoreFailed("nonce")
	m.StoreFailed("whatever")

	fams := scrape(t, m.Handler())
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"vsphere_mcp_tool_calls_total", map[string]string{"tool": "list_vms", "decision": "allowed"}, 2},
		{"vsphere_mcp_tool_calls_total", map[string]string{"tool": "list_vms", "decision": "denied_rate"}, 1},
		{"vsphere_mcp_tool_calls_total", map[string]string{"tool": "power_on_vm", "decision": "allowed"}, 1},
		{"vsphere_mcp_tool_calls_total", map[string]string{"tool": "unknown", "decision": "other"}, 5},
		{"vsphere_mcp_tool_call_duration_seconds", map[string]string{"tool": "list_vms"}, 3},
		{"vsphere_mcp_tool_call_duration_seconds", map[string]string{"tool": "unknown"}, 5},
		{"vsphere_mcp_audit_write_failures_total", map[string]string{}, 1},
		{"vsphere_mcp_vcenter_requests_total", map[string]string{"method": "GET", "status": "200"}, 2},
		{"vsphere_mcp_vcenter_requests_total", map[string]string{"method": "POST", "status": "none"}, 1},
		{"vsphere_mcp_vcenter_requests_total", map[string]string{"method": "OTHER", "status": "none"}, 1},
		{"vsphere_mcp_vcenter_logins_total", map[string]string{"result": "ok"}, 2},
		{"vsphere_mcp_vcenter_logins_total", map[string]string{"result": "failed"}, 1},
		{"vsphere_mcp_state_store_errors_total", map[string]string{"op": "bucket"}, 1},
		{"vsphere_mcp_state_store_errors_total", map[string]string{"op": "nonce"}, 2},
		{"vsphere_mcp_state_store_errors_total", map[string]string{"op": "ping"}, 0},
		{"vsphere_mcp_state_store_errors_total", map[string]string{"op": "other"}, 1},
		{"vsphere_mcp_sessions_active", map[string]string{}, 3},
		{"vsphere_mcp_build_info", map[string]string{"version": "1.2.3"}, 1},
	} {
		if got, ok := value(fams, tt.name, tt.labels); !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if n := len(fams["vsphere_mcp_tool_calls_total"].Metric); n != 4 {
		t.Errorf("%d tool call series, want 4: made-up names must not add series", n)
	}
	// The 2-second call lands above the 1-second bucket.
	for _, mm := range fams["vsphere_mcp_tool_call_duration_seconds"].Metric {
		if mm.Label[0].GetValue() != "power_on_vm" {
			continue
		}
		for _, b := range mm.Histogram.Bucket {
			if b.GetUpperBound() == 1 && b.GetCumulativeCount() != 0 || b.GetUpperBound() == 2.5 && b.GetCumulativeCount() != 1 {
				t.Errorf("bucket le=%v holds %d", b.GetUpperBound(), b.GetCumulativeCount())
			}
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds"} {
		if f, ok := fams[name]; !ok || f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("runtime or process metric %s: %v", name, f)
		}
	}
	// Every family of ours carries its help text and its type, as
	// Prometheus's parser read them.
	types := map[string]dto.MetricType{famCalls: dto.MetricType_COUNTER, famCallDuration: dto.MetricType_HISTOGRAM,
		famVCRequests: dto.MetricType_COUNTER, famVCDuration: dto.MetricType_HISTOGRAM, famVCLogins: dto.MetricType_COUNTER,
		famAuditFailed: dto.MetricType_COUNTER, famStoreErrors: dto.MetricType_COUNTER, famBuild: dto.MetricType_GAUGE, famSessions: dto.MetricType_GAUGE}
	for name, text := range help {
		f := fams[name]
		if f == nil || f.GetHelp() != text || f.GetType() != types[name] {
			t.Errorf("family %s: %v; want help %q, type %v", name, f, text, types[name])
		}
	}
	live = 1
	if got, _ := value(scrape(t, m.Handler()), "vsphere_mcp_sessions_active", map[string]string{}); got != 1 {
		t.Errorf("sessions after the count changed: %v, want 1", got)
	}
}

// TestLabelValuesAreEscaped: the one label value not from a closed set (the
// build's version) is written so that the parser reads it back unchanged.
func TestLabelValuesAreEscaped(t *testing.T) {
	for _, v := range []string{`1.2"3`, `a\b`, "x\ny", `\"`, "", "v1.0.0-rc.1+dirty"} {
		m := New(Options{Version: v})
		if got, ok := value(scrape(t, m.Handler()), famBuild, map[string]string{"version": v}); !ok || got != 1 {
			t.Errorf("version %q: %v %v", v, got, ok)
		}
	}
}

// TestScrapesAreBounded: beyond maxScrapes at once, a scrape is refused
// with 503 rather than queued; once one ends, the next is served.
func TestScrapesAreBounded(t *testing.T) {
	m := New(Options{})
	for range maxScrapes {
		m.scrapes <- struct{}{}
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("scrape beyond the bound: %d, want 503", rec.Code)
	}
	<-m.scrapes
	scrape(t, m.Handler())
}

// TestConcurrentRecording: series made on first use from many goroutines
// at once are each made once and count every call (go test -race).
func TestConcurrentRecording(t *testing.T) {
	m := New(Options{Tools: []string{"a", "b"}, Decisions: []string{"allowed"}})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				m.Call([]string{"a", "b"}[i%2], "allowed", time.Millisecond)
				m.VCenterRequest("GET", 200+i, time.Millisecond)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
			if rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable {
				t.Errorf("concurrent scrape: %d", rec.Code)
			}
		}()
	}
	wg.Wait()
	fams := scrape(t, m.Handler())
	for _, tool := range []string{"a", "b"} {
		if got, _ := value(fams, famCalls, map[string]string{"tool": tool, "decision": "allowed"}); got != 400 {
			t.Errorf("calls of %s: %v, want 400", tool, got)
		}
	}
	if n := len(fams[famVCRequests].Metric); n != 8 {
		t.Errorf("%d request series, want 8", n)
	}
}

// TestTwoMetricsDoNotCollide: each server has its own registry, so two in
// one process (the tests' replicas) count apart.
func TestTwoMetricsDoNotCollide(t *testing.T) {
	a, b := New(Options{Tools: []string{"list_vms"}, Decisions: []string{"allowed"}}), New(Options{Tools: []string{"list_vms"}, Decisions: []string{"allowed"}})
	a.Call("list_vms", "allowed", 0)
	if got, _ := value(scrape(t, b.Handler()), "vsphere_mcp_tool_calls_total", map[string]string{"tool": "list_vms", "decision": "allowed"}); got != 0 {
		t.Errorf("b counted a's call: %v", got)
	}
	if _, ok := value(scrape(t, b.Handler()), "vsphere_mcp_state_store_errors_total", map[string]string{"op": "bucket"}); ok {
		t.Error("store error series without a store")
	}
}

// TestListenAndServe serves /metrics only, and stops with its context.
func TestListenAndServe(t *testing.T) {
	m := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- m.ListenAndServe(ctx, "127.0.0.1:0", zerolog.New(logs)) }()
	var url string
	re := regexp.MustCompile(`"url":"(http://[^"]+)"`)
	for deadline := time.Now().Add(5 * time.Second); url == ""; {
		if got := re.FindStringSubmatch(logs.String()); got != nil {
			url = got[1]
		} else if time.Now().After(deadline) {
			t.Fatal("no serving line logged")
		} else {
			select {
			case err := <-done:
				t.Fatalf("ListenAndServe: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
	}
	for path, want := range map[string]int{url: 200, strings.TrimSuffix(url, Path) + "/other": 404} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && !strings.Contains(string(body), "vsphere_mcp_build_info")) {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("after the context ended: %v", err)
	}
	if err := m.ListenAndServe(context.Background(), "256.0.0.1:1", zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "SERVER_METRICS_ADDR") {
		t.Errorf("bad address: %v", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
