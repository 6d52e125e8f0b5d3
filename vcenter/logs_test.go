package vcenter

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// syncBuffer is a log sink safe for the client's concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDebugLogsHoldNoSecretsOrQueryValues captures LOG_LEVEL=debug output
// over logins on both surfaces, filtered lists, retries, failed requests
// and logouts: it names methods, paths and query keys, and holds no form of
// the password, no session token and no query value. go-retryablehttp's own
// lines used to carry the whole URL, and a failed request's error quoted it
// again.
func TestDebugLogsHoldNoSecretsOrQueryValues(t *testing.T) {
	const password = "Pa55-zq9$Secret/&=?%"
	const filterValue = "app-01-filter-canary"
	sim := newSim(t, vcentersim.Options{Release: "8.0.2.0", Password: password})
	var logs syncBuffer
	c := newClient(t, sim, ModeAPI, func(c *Config) {
		c.Log = zerolog.New(&logs).Level(zerolog.DebugLevel)
		c.Retries = 2
	})
	ctx := context.Background()
	var tokens []string
	note := func() { tokens = append(tokens, c.tokens()...) }

	if _, _, err := c.ListVMs(ctx, VMFilter{Names: []string{filterValue}, PowerStates: []PowerState{PoweredOn}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListSnapshots(ctx, "vm-76"); err != nil { // a separate VI/JSON login on 8.0.2
		t.Fatal(err)
	}
	note()
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: 1, Status: 503})
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Count: 1, Kind: vcentersim.FaultReset})
	if _, err := c.FindVM(ctx, VMRef{Name: filterValue}); err == nil {
		t.Fatal("FindVM of a name no VM has: no error")
	}
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/host", Count: -1, Kind: vcentersim.FaultReset})
	_, _, _ = c.ListHosts(ctx, HostFilter{Names: []string{filterValue}})
	sim.ClearFaults()
	sim.ExpireSessions()
	if _, _, err := c.ListVMs(ctx, VMFilter{Names: []string{filterValue}}); err != nil { // log in again
		t.Fatal(err)
	}
	if _, err := c.ListSnapshots(ctx, "vm-76"); err != nil {
		t.Fatal(err)
	}
	note()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if len(tokens) < 4 {
		t.Fatalf("only %d session tokens seen: the test did not open the sessions it meant to", len(tokens))
	}
	forbidden := append([]string{password, url.QueryEscape(password), url.PathEscape(password),
		base64.StdEncoding.EncodeToString([]byte(sim.User() + ":" + password)), filterValue, "POWERED_ON"}, tokens...)
	for _, f := range forbidden {
		if strings.Contains(out, f) {
			i := strings.Index(out, f)
			t.Errorf("debug log holds %q:\n…%s…", f, out[max(0, i-120):min(len(out), i+120)])
		}
	}
	for _, want := range []string{`"method":"GET"`, `/api/vcenter/vm?names=…&power_states=…`, `"path":"/sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login"`,
		"retrying request", "connection reset by peer", "(status: 503)"} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("debug log:\n%s", out)
	}
}

func TestLogPath(t *testing.T) {
	if got := logPath("/api/vcenter/vm", url.Values{"names": {"a", "b"}, "clusters": {"domain-c8"}}); got != "/api/vcenter/vm?clusters=…&names=…" {
		t.Errorf("logPath = %s", got)
	}
	c, _ := New(Config{Host: "vc.example.test", User: "u", Password: "pw-1", Log: zerolog.Nop(), Timeout: time.Second})
	in := `Get "https://vc.example.test/api/vcenter/vm?names=secret-name&x=pw-1": EOF, pw-1`
	if got := c.scrubLog(in); got != `Get "https://vc.example.test:443/api/vcenter/vm?names=…&x=…": EOF, ***` &&
		got != `Get "https://vc.example.test/api/vcenter/vm?names=…&x=…": EOF, ***` {
		t.Errorf("scrubLog = %s", got)
	}
}
