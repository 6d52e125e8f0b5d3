package vcenter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// These tests extend client_test.go's fault tests with the cases found
// while hardening: how far a failed request got, echoed credentials, ids
// taken from vCenter's own answers, and untrusted text.

// tlsFront serves h over HTTPS on a loopback port with its own certificate.
// Until old is set it offers TLS 1.2 and 1.3; from then on only TLS 1.0
// and 1.1, as an old appliance would. handshakes counts ClientHellos.
type tlsFront struct {
	host       string
	roots      *x509.CertPool
	old        atomic.Bool
	handshakes atomic.Int64
}

func newTLSFront(t *testing.T, h http.Handler) *tlsFront {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "old-vcenter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &tlsFront{host: ln.Addr().String(), roots: x509.NewCertPool()}
	f.roots.AddCert(cert)
	certs := []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}
	modern := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs, NextProtos: []string{"http/1.1"}}
	old := &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, Certificates: certs, NextProtos: []string{"http/1.1"}}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		_ = srv.Serve(tls.NewListener(ln, &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			f.handshakes.Add(1)
			if f.old.Load() {
				return old, nil
			}
			return modern, nil
		}}))
	}()
	t.Cleanup(func() { srv.Close() })
	return f
}

func TestOldTLSIsRefusedBeforeAnythingIsSent(t *testing.T) {
	sim := vcentersim.NewUnstartedServer(vcentersim.Options{}) // its handler, behind the front
	front := newTLSFront(t, sim)
	c, err := New(Config{Host: front.host, User: sim.User(), Password: sim.Password(), RootCAs: front.roots, Backoff: 0, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.GetPower(ctx, "vm-73"); err != nil { // logged in over TLS 1.2
		t.Fatal(err)
	}
	front.old.Store(true)
	c.http.HTTPClient.CloseIdleConnections()
	before := front.handshakes.Load()

	err = c.Power(ctx, "vm-73", PowerStart)
	var tlsErr *TLSError
	var te *TransportError
	if !errors.As(err, &tlsErr) || errors.As(err, &te) {
		t.Fatalf("err = %v, want a TLSError: vCenter was reached (not a TransportError)", err)
	}
	if strings.Contains(err.Error(), "may have been applied") || errors.Is(err, ErrUntrustedCertificate) {
		t.Errorf("a POST refused at the TLS handshake is reported as maybe applied, or as a certificate problem: %v", err)
	}
	if !strings.Contains(err.Error(), "was reached, but offers no TLS 1.2 or 1.3") {
		t.Errorf("err = %v, want it to say vCenter offers no TLS 1.2", err)
	}
	if _, err := c.GetPower(ctx, "vm-73"); err == nil {
		t.Error("a GET got through a TLS 1.1-only server")
	}
	if n := front.handshakes.Load() - before; n != 2 {
		t.Errorf("%d handshakes for one POST and one GET, want 2 (a refused handshake is not retried)", n)
	}
	if n := sim.Counters().Routes["POST /api/vcenter/vm/{vm}/power"]; n != 0 {
		t.Errorf("%d power POSTs reached vCenter over TLS 1.1, want none", n)
	}

	// A client that allows TLS 1.1 gets through: the front really is TLS 1.1.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: front.roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + front.host + "/api/vcenter/vm")
	if err != nil {
		t.Fatalf("a TLS 1.1 client: %v", err)
	}
	resp.Body.Close()
}

func TestFailedRequestsSayWhetherTheyWereSent(t *testing.T) {
	for _, tt := range []struct {
		name         string
		fault        vcentersim.Fault
		call         func(*Client) error
		route        string
		maybeApplied bool
	}{
		{
			name:         "POST that hangs past the timeout",
			fault:        vcentersim.Fault{Method: "POST", Path: "/api/vcenter/vm/*/power", Kind: vcentersim.FaultHang},
			call:         func(c *Client) error { return c.Power(context.Background(), "vm-73", PowerStart) },
			route:        "POST /api/vcenter/vm/{vm}/power",
			maybeApplied: true,
		},
		{
			name:         "DELETE whose answer is truncated",
			fault:        vcentersim.Fault{Method: "DELETE", Path: "/api/vcenter/vm/*", Kind: vcentersim.FaultOversized, Size: 4 << 20},
			call:         func(c *Client) error { return c.DeleteVM(context.Background(), "vm-73") },
			route:        "DELETE /api/vcenter/vm/{vm}",
			maybeApplied: true,
		},
		{
			name:  "GET that hangs is never maybe applied",
			fault: vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Count: -1, Kind: vcentersim.FaultHang},
			call:  func(c *Client) error { _, err := c.GetPower(context.Background(), "vm-73"); return err },
			route: "GET /api/vcenter/vm/{vm}/power",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeAPI, func(c *Config) { c.Timeout = 300 * time.Millisecond; c.Retries = -1; c.MaxBodyBytes = 1 << 20 })
			if _, err := c.GetPower(context.Background(), "vm-73"); err != nil { // log in
				t.Fatal(err)
			}
			sim.ResetCounters()
			sim.InjectFault(tt.fault)
			err := tt.call(c)
			var te *TransportError
			if !errors.As(err, &te) || te.MaybeApplied != tt.maybeApplied {
				t.Fatalf("err = %v (%#v), want a TransportError with MaybeApplied %v", err, te, tt.maybeApplied)
			}
			if n := sim.Counters().Routes[tt.route]; n != 1 {
				t.Errorf("%s reached vCenter %d times, want 1", tt.route, n)
			}
		})
	}
}

func TestEchoedCredentialsAreScrubbed(t *testing.T) {
	const password = `Pa55<"straddle">&\9f1x`
	for _, tt := range []struct {
		name    string
		release string
		mode    Mode
		fault   vcentersim.Fault
		call    func(*Client) error
	}{
		{
			name:  "api login echoes the Authorization header",
			mode:  ModeAPI,
			fault: vcentersim.Fault{Path: "/api/session", Status: 500, ErrorType: "ERROR", EchoRequest: true},
		},
		{
			name:  "rest login echoes the Authorization header",
			mode:  ModeREST,
			fault: vcentersim.Fault{Path: "/rest/com/vmware/cis/session", Status: 500, ErrorType: "ERROR", EchoRequest: true},
		},
		{
			name:    "VI/JSON login echoes its body",
			release: "8.0.2.0",
			mode:    ModeAPI,
			fault:   vcentersim.Fault{Path: "/sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login", ErrorType: "SystemError", EchoRequest: true},
			call:    func(c *Client) error { _, err := c.ListSnapshots(context.Background(), "vm-70"); return err },
		},
		{
			name:  "a call echoes the session header",
			mode:  ModeAPI,
			fault: vcentersim.Fault{Path: "/api/vcenter/vm/vm-70/power", Status: 500, ErrorType: "ERROR", EchoRequest: true},
		},
		{
			name:    "a VI/JSON call echoes the session header",
			release: "8.0.2.0",
			mode:    ModeAPI,
			fault:   vcentersim.Fault{Path: "/sdk/vim25/8.0.2.0/VirtualMachine/vm-70/snapshot", ErrorType: "SystemError", EchoRequest: true},
			call:    func(c *Client) error { _, err := c.ListSnapshots(context.Background(), "vm-70"); return err },
		},
		{
			name:  "the password straddles the length cap",
			mode:  ModeAPI,
			fault: vcentersim.Fault{Path: "/api/vcenter/vm/vm-70/power", Status: 500, ErrorType: "ERROR", Message: strings.Repeat("x", maxMessageLen-6) + password},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{Password: password, Release: tt.release})
			c := newClient(t, sim, tt.mode)
			call := tt.call
			if call == nil {
				call = func(c *Client) error { _, err := c.GetPower(context.Background(), "vm-70"); return err }
			}
			if !strings.Contains(tt.fault.Path, "session") && !strings.Contains(tt.fault.Path, "Login") {
				if err := call(c); err != nil { // log in first, so that the call carries a token
					t.Fatal(err)
				}
			}
			sim.InjectFault(tt.fault)
			err := call(c)
			if err == nil {
				t.Fatal("the faulted call succeeded")
			}
			msg := err.Error()
			if tt.fault.EchoRequest && !strings.Contains(msg, "***") {
				t.Errorf("no echo was scrubbed in %q", msg)
			}
			secrets := append(append(secretForms(sim.User(), password), password[:6]), c.tokens()...)
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error carries the secret form %q: %s", s, msg)
				}
			}
		})
	}
}

// tokens returns the session tokens the client holds now.
func (c *Client) tokens() []string {
	var out []string
	for _, s := range []*session{c.sess, c.vimOwn()} {
		if s == nil {
			continue
		}
		s.mu.Lock()
		if s.token != "" {
			out = append(out, s.token)
		}
		s.mu.Unlock()
	}
	return out
}

func (c *Client) vimOwn() *session {
	c.vimMu.Lock()
	defer c.vimMu.Unlock()
	if c.vimSt == nil {
		return nil
	}
	return c.vimSt.own
}

func TestIDsFromVCenterNeverReachAPath(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI)
	ctx := context.Background()
	if _, err := c.GetPower(ctx, "vm-70"); err != nil {
		t.Fatal(err)
	}
	sim.ResetCounters()
	// Two VMs named app-01 whose ids, as vCenter (or whoever answers in its
	// name) sends them, climb out of the VI/JSON path.
	hostile, _ := json.Marshal([]map[string]any{
		{"vm": "../../../../api/session", "name": "app-01", "power_state": "POWERED_ON", "cpu_count": 1, "memory_size_MiB": 4},
		{"vm": "vm-1/../../Task/task-1/CancelTask", "name": "app-01", "power_state": "POWERED_ON", "cpu_count": 1, "memory_size_MiB": 4},
	})
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm", Kind: vcentersim.FaultMalformedJSON, Body: hostile})
	_, err := c.FindVM(ctx, VMRef{Name: "app-01"})
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Fatalf("FindVM = %v, want the two candidates listed", err)
	}
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, "..") || strings.Contains(r.Path, "/api/session") || strings.Contains(r.Path, "CancelTask") {
			t.Errorf("a request left its path: %s %s", r.Method, r.RequestURI)
		}
	}
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("A", 10<<10)
	for _, tt := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "web-01", 80, "web-01"},
		{"ANSI escape", "\x1b[31mred\x1b[0m", 80, " [31mred [0m"},
		{"newlines and separators", "a\r\nSystem: b\u2028c\u2029d", 80, "a  System: b c d"},
		{"bidirectional override", "evil\u202Egnp.exe", 80, "evilgnp.exe"},
		{"zero-width characters", "ad\u200bmin\ufeff", 80, "admin"},
		{"C1 control", "a\u0085b\u009bc", 80, "a b c"},
		{"invalid UTF-8", "a\xffb", 80, "a\uFFFDb"},
		{"cap", long, 256, strings.Repeat("A", 256) + "…"},
		{"cap inside a rune", "ééé", 3, "é…"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitize(tt.in, tt.max); got != tt.want {
				t.Errorf("sanitize(%.40q, %d) = %.80q, want %.80q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestErrorsKeepFewMessages(t *testing.T) {
	var msgs []map[string]any
	for i := range 1000 {
		msgs = append(msgs, map[string]any{"id": fmt.Sprint("m", i), "default_message": strings.Repeat("x", 2000), "args": []string{}})
	}
	body, _ := json.Marshal(map[string]any{"error_type": "ERROR", "messages": msgs})
	e := decodeVAPIError(500, "GET", "/api/vcenter/vm", body, false, sanitize)
	if len(e.Messages) != maxMessages || len(e.Error()) > maxMessages*(maxMessageLen+8)+100 {
		t.Errorf("%d messages, %d bytes of error text; want %d messages of at most %d bytes", len(e.Messages), len(e.Error()), maxMessages, maxMessageLen)
	}
}

// secretForms lists the forms in which vCenter may echo the credentials.
func secretForms(user, password string) []string {
	forms := []string{password, url.QueryEscape(password), url.PathEscape(password),
		base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	for _, html := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		_ = enc.Encode(password)
		forms = append(forms, strings.Trim(strings.TrimSpace(b.String()), `"`))
	}
	return forms
}

// TestClientScrubsEveryForm: the client's scrubber (the process's one,
// package redact) removes the credentials in every form vCenter may echo.
func TestClientScrubsEveryForm(t *testing.T) {
	const user, password = "administrator@vsphere.local", `p<"w&d-long`
	c, err := New(Config{Host: "vc.example.com", User: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range secretForms(user, password) {
		if got := c.clean()("x "+form+" y", 1000); strings.Contains(got, form) {
			t.Errorf("form %q survives: %q", form, got)
		}
	}
	shared := redact.New()
	c, err = New(Config{Host: "vc.example.com", User: user, Password: password, Scrub: shared})
	if err != nil {
		t.Fatal(err)
	}
	if got := shared.Scrub("said " + password); strings.Contains(got, password) {
		t.Errorf("the shared scrubber does not know the credentials the client added: %q", got)
	}
	_ = c
}

func TestNormalizeHostKeepsToHostAndPort(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "vc:0443", want: "vc:443"},
		{in: "VC_01.corp", want: "vc_01.corp:443"},
		{in: "a:b:c", err: "not an IPv6 address"},
		{in: "fe80::1%eth0", err: "zones are not supported"},
		{in: "vc:+443", err: "port must be"},
		{in: "vc\x01", err: "only letters, digits"},
		{in: "vcénter.example.com", err: "xn--"},
		{in: "-vc", err: "only letters, digits"},
		{in: "vc..", err: "only letters, digits"},
		{in: ":]" + strings.Repeat("0", 330) + "\x1b", err: "in address"}, // the error must not repeat it
	} {
		got, err := NormalizeHost(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || len(err.Error()) > 250 || !printable(err.Error()) {
				t.Errorf("NormalizeHost(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
