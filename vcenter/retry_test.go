package vcenter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestRetryAfterIsReportedNotSleptThrough: a 429 asking to wait longer than
// the request may take used to be retried after min(Retry-After,
// MaxBackoff), so the request slept into its own timeout and reported "no
// answer within 2s" although vCenter had answered. Now the answer is
// returned at once, saying what vCenter asked and why it was not retried.
func TestRetryAfterIsReportedNotSleptThrough(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter string
		status     int
		edit       func(*Config)
		call       func(*Client) error
		route      string
		want       []string
		tries      int
		wait       time.Duration
	}{
		{
			name: "longer than the timeout", retryAfter: "99999", status: 429,
			edit:  func(c *Config) { c.Timeout, c.MaxBackoff = 2*time.Second, time.Hour },
			call:  func(c *Client) error { _, _, err := c.ListVMs(context.Background(), VMFilter{}); return err },
			route: "GET /api/vcenter/vm", tries: 1, wait: 99999 * time.Second,
			want: []string{"vCenter GET /api/vcenter/vm: ERROR", "vCenter asked to wait 27h46m39s before trying again (Retry-After: 99999)", "not retried: that is past this request's 2s timeout"},
		},
		{
			name: "longer than MaxBackoff", retryAfter: "30", status: 503,
			edit:  func(c *Config) { c.Timeout, c.MaxBackoff = time.Minute, 10*time.Second },
			call:  func(c *Client) error { _, err := c.GetPower(context.Background(), "vm-70"); return err },
			route: "GET /api/vcenter/vm/{vm}/power", tries: 1, wait: 30 * time.Second,
			want: []string{"SERVICE_UNAVAILABLE", "vCenter asked to wait 30s", "not retried: that is longer than this server waits between tries (10s)"},
		},
		{
			name: "retried until the retries ran out", retryAfter: "0", status: 429,
			edit:  func(c *Config) { c.Retries = 2 },
			call:  func(c *Client) error { _, err := c.GetPower(context.Background(), "vm-70"); return err },
			route: "GET /api/vcenter/vm/{vm}/power", tries: 3,
			want: []string{"vCenter asked to wait 0s", "gave up after 3 tries"},
		},
		{
			name: "a POST is never re-sent", retryAfter: "5", status: 429,
			call:  func(c *Client) error { return c.Power(context.Background(), "vm-73", PowerStart) },
			route: "POST /api/vcenter/vm/{vm}/power", tries: 1, wait: 5 * time.Second,
			want: []string{"vCenter asked to wait 5s", "not retried: a request that may change state is never re-sent automatically"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeAPI, func(c *Config) {
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			if _, err := c.GetPower(context.Background(), "vm-71"); err != nil { // log in
				t.Fatal(err)
			}
			sim.ResetCounters()
			method, path, _ := strings.Cut(tt.route, " ")
			path = strings.NewReplacer("{vm}", "*").Replace(path)
			sim.InjectFault(vcentersim.Fault{Method: method, Path: path, Count: -1, Status: tt.status, RetryAfter: tt.retryAfter})
			start := time.Now()
			err := tt.call(c)
			took := time.Since(start)
			var ae *APIError
			if !errors.As(err, &ae) || ae.RetryAfter != tt.wait {
				t.Fatalf("err = %v, want vCenter's answer with RetryAfter %s", err, tt.wait)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "no answer") {
				t.Errorf("err = %v: vCenter did answer", err)
			}
			if n := sim.Counters().Routes[tt.route]; n != tt.tries {
				t.Errorf("%s sent %d times, want %d", tt.route, n, tt.tries)
			}
			if took > time.Second {
				t.Errorf("the call took %s: it waited for Retry-After", took)
			}
		})
	}
}

// TestRetriesNeverWaitPastTheTimeout: without Retry-After, the backoff
// before a retry that could not finish in time is not slept either.
func TestRetriesNeverWaitPastTheTimeout(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI, func(c *Config) {
		c.Timeout, c.Backoff, c.MaxBackoff, c.Retries = 400*time.Millisecond, 300*time.Millisecond, 10*time.Second, 5
	})
	if _, err := c.GetPower(context.Background(), "vm-71"); err != nil {
		t.Fatal(err)
	}
	sim.ResetCounters()
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Count: -1, Status: 503, Message: "vpxd is restarting"})
	_, err := c.GetPower(context.Background(), "vm-70")
	if !errors.Is(err, ErrServiceUnavailable) || strings.Contains(err.Error(), "no answer") {
		t.Fatalf("err = %v, want vCenter's SERVICE_UNAVAILABLE, not a timeout", err)
	}
	// The first wait (at most 300 ms) fits in 400 ms; the second (600 ms)
	// cannot: two tries at most, however slow the machine.
	if n := sim.Counters().Routes["GET /api/vcenter/vm/{vm}/power"]; n < 1 || n > 2 {
		t.Errorf("%d tries, want 1 or 2", n)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"0": 0, "7": 7 * time.Second, " 99999 ": 99999 * time.Second,
		"99999999999999999":             maxRetryAfter * time.Second, // no overflow
		"Mon, 05 Jan 2026 08:00:30 GMT": 30 * time.Second,
	} {
		if got, ok := retryAfter(h, now); !ok || got != want {
			t.Errorf("retryAfter(%q) = %s, %v; want %s", h, got, ok, want)
		}
	}
	for _, h := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := retryAfter(h, now); ok {
			t.Errorf("retryAfter(%q) accepted", h)
		}
	}
}
