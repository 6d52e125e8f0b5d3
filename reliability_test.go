package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// Configuration-level reliability tests: TLS as the operator configures it
// (VCENTER_CA_BUNDLE, INSECURE), secrets dropped from the environment, and
// credentials echoed by vCenter in errors. See RELIABILITY.md.

// callCLI runs `vsphere-mcp-pro call TOOL` in-process and returns the exit
// code, stdout and stderr.
func callCLI(t *testing.T, env []string, tool string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"call", tool}, env, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// without returns env with the variables named dropped.
func without(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

const insecureWarning = "WARNING: INSECURE=true: vCenter's TLS certificate is NOT verified"

func TestTLSConfiguration(t *testing.T) {
	for _, tt := range []struct {
		name      string
		opts      vcentersim.Options
		env       func(env []string) []string
		code      int
		out       []string // in stdout
		warned    bool     // the INSECURE warning is on stderr
		noTraffic bool     // no request passed TLS
	}{
		{
			name: "self-signed vCenter without a CA bundle is refused",
			env:  func(env []string) []string { return without(env, "VCENTER_CA_BUNDLE") },
			code: exitFailed, out: []string{"not trusted", "vcentersim", "VCENTER_CA_BUNDLE"}, noTraffic: true,
		},
		{
			name: "a CA bundle that is not vCenter's is refused",
			env: func(env []string) []string {
				return append(env, "VCENTER_CA_BUNDLE="+writeFile(t, "other.pem", otherCA))
			},
			code: exitFailed, out: []string{"not trusted", "VCENTER_CA_BUNDLE"}, noTraffic: true,
		},
		{
			name: "self-signed vCenter with its CA bundle is accepted",
			env:  func(env []string) []string { return env },
			code: exitOK, out: []string{`"total": 36`},
		},
		{
			name: "a certificate for another host name is refused",
			opts: vcentersim.Options{CertHosts: []string{"vcenter.example.test"}},
			env:  func(env []string) []string { return env },
			code: exitFailed, out: []string{"does not name 127.0.0.1", "vcenter.example.test", "VCENTER_HOST"}, noTraffic: true,
		},
		{
			name: "INSECURE=true accepts it, with the warning",
			opts: vcentersim.Options{CertHosts: []string{"vcenter.example.test"}},
			env:  func(env []string) []string { return append(without(env, "VCENTER_CA_BUNDLE"), "INSECURE=true") },
			code: exitOK, out: []string{`"total": 36`}, warned: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim, env := simEnv(t, tt.opts)
			code, stdout, stderr := callCLI(t, tt.env(env), "list_vms")
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.out {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if got := strings.Contains(stderr, insecureWarning); got != tt.warned {
				t.Errorf("INSECURE warning on stderr: %v, want %v\n%s", got, tt.warned, stderr)
			}
			if n := sim.Counters().Requests; tt.noTraffic && n != 0 {
				t.Errorf("%d requests passed a TLS session that should have been refused", n)
			}
		})
	}
}

// oldTLSFront serves h with TLS 1.0 and 1.1 only, as an old appliance
// might, and returns its address and a PEM file of its certificate.
func oldTLSFront(t *testing.T, h http.Handler) (host, caFile string) {
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		_ = srv.Serve(tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	}()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), writeFile(t, "old-ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}

func TestTLS12IsTheMinimum(t *testing.T) {
	sim := vcentersim.NewUnstartedServer(vcentersim.Options{}) // its handler, behind the old front
	host, ca := oldTLSFront(t, sim)

	// The front really speaks TLS 1.1 to a client that allows it.
	roots := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(ca)
	roots.AppendCertsFromPEM(pemBytes)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}
	resp, err := (&http.Client{Transport: tr}).Get("https://" + host + "/api/vcenter/vm")
	if err != nil {
		t.Fatalf("a TLS 1.1 client cannot reach the front: %v", err)
	}
	resp.Body.Close()
	tr.CloseIdleConnections()
	if resp.TLS.Version != tls.VersionTLS11 {
		t.Fatalf("the front negotiated %x, want TLS 1.1", resp.TLS.Version)
	}
	sim.ResetCounters()

	env := []string{"VCENTER_HOST=" + host, "VCENTER_USER=" + sim.User(), "VCENTER_PASSWORD=" + sim.Password(),
		"VCENTER_CA_BUNDLE=" + ca, "AUTH_ENFORCE=false"}
	for _, extra := range [][]string{nil, {"INSECURE=true"}} {
		t.Run(fmt.Sprint("extra ", extra), func(t *testing.T) {
			code, stdout, stderr := callCLI(t, append(env, extra...), "list_vms")
			if code != exitFailed || !strings.Contains(stdout, "offers no TLS 1.2 or 1.3") {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if n := sim.Counters().Requests; n != 0 {
				t.Errorf("%d requests reached vCenter over TLS 1.1", n)
			}
		})
	}
}

func TestSecretsAreReadOnceAndDropped(t *testing.T) {
	const password, token = "pw-dropped-4f2a", "tok-dropped-8c1e"
	sum := sha256.Sum256([]byte(token))
	roles := `{"sha256:` + hex.EncodeToString(sum[:]) + `":"read","tok-plain-in-config-5d":"read"}`
	secrets := map[string]string{"VCENTER_PASSWORD": password, "VSPHERE_MCP_TOKEN": token, "TOKENS_TO_ROLES": roles}
	set := func(t *testing.T) {
		for k, v := range secrets {
			t.Setenv(k, v) // restored after the test; env's unset acts on the process
		}
	}
	assertDropped := func(t *testing.T) {
		t.Helper()
		for k := range secrets {
			if v, ok := os.LookupEnv(k); ok {
				t.Errorf("%s is still in the environment (%d bytes): a child process would inherit it", k, len(v))
			}
		}
		for _, kv := range os.Environ() {
			if strings.Contains(kv, password) || strings.Contains(kv, token) || strings.Contains(kv, "tok-plain-in-config") {
				t.Errorf("a secret is still in os.Environ(): %.20s…", kv)
			}
		}
	}

	t.Run("config.Load", func(t *testing.T) {
		set(t)
		cfg, err := config.Load([]string{"--simulate"}, os.Environ())
		if err != nil {
			t.Fatal(err)
		}
		if string(cfg.Password) != password || string(cfg.Token) != token || string(cfg.TokensToRoles) != roles {
			t.Error("the secrets were not read")
		}
		assertDropped(t)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, cfg); strings.Contains(s, password) || strings.Contains(s, token) || strings.Contains(s, "tok-plain") {
				t.Errorf("fmt %s of the config prints a secret: %s", verb, s)
			}
		}
	})
	t.Run("run", func(t *testing.T) {
		set(t)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"--simulate", "call", "whoami"}, os.Environ(), strings.NewReader(""), &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), `"role": "read"`) {
			t.Errorf("whoami = %s, want role read from the token", stdout.String())
		}
		assertDropped(t)
	})
	t.Run("a configuration error drops them too", func(t *testing.T) {
		set(t)
		t.Setenv("VCENTER_TIMEOUT_S", "soon")
		if _, err := config.Load(nil, os.Environ()); err == nil {
			t.Fatal("bad configuration accepted")
		}
		assertDropped(t)
	})
}

// TestEchoedCredentialsNeverLeak runs every tool while vCenter answers with
// 500s whose message echoes the request: the session header of every call,
// the Authorization header of an /api login, the JSON body of a VI/JSON
// login. No form of the password or of a session token may reach a result,
// stderr or the audit file.
func TestEchoedCredentialsNeverLeak(t *testing.T) {
	const password = `Pa55<"echo">&\7d` // JSON and URL escaping change it
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	sim, env := simEnv(t, vcentersim.Options{Password: password, Release: "8.0.2.0"},
		"RATE_LIMIT=false", "AUDIT_LOG_PATH="+auditPath, "LOG_LEVEL=debug")
	var results, stderrs bytes.Buffer
	echo := vcentersim.Fault{Count: -1, Status: 500, ErrorType: "ERROR", Message: "proxy error.", EchoRequest: true}
	// Each phase is one server process: it logs in (unless told not to),
	// then the fault answers, then every tool runs.
	for _, phase := range []struct {
		name    string
		login   bool
		path    string // the fault's path; "" for every request
		release string
	}{
		{name: "calls echo the session header", login: true},
		{name: "the /api login echoes the Authorization header"},
		{name: "the VI/JSON login echoes its body", path: "/sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login"},
	} {
		cs, code, stderr := serve(t, env)
		if phase.login {
			for _, name := range []string{"list_vms", "list_vm_snapshots"} { // both sessions (8.0 U2)
				if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: toolArgs[name]}); err != nil || res.IsError {
					t.Fatalf("%s: %s: %v %v", phase.name, name, err, res)
				}
			}
		}
		f := echo
		f.Path = phase.path
		sim.InjectFault(f)
		before := sim.Counters().Faults
		for name, args := range toolArgs {
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
			if err != nil {
				t.Fatalf("%s: %s: %v", phase.name, name, err)
			}
			results.WriteString(tools.ResultText(res) + "\n") // decoded: escaped forms show as they would to a reader
		}
		if sim.Counters().Faults == before {
			t.Errorf("%s: no request was answered by the echo", phase.name)
		}
		sim.ClearFaults()
		cs.Close()
		<-code
		stderrs.WriteString(stderr.String())
	}

	auditBytes, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	var auditText strings.Builder // every string of every line, decoded
	for _, line := range strings.Split(strings.TrimSpace(string(auditBytes)), "\n") {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		collectStrings(v, &auditText)
	}
	forms := []string{password, base64.StdEncoding.EncodeToString([]byte(sim.User() + ":" + password)),
		`Pa55\u003c\"echo\"\u003e`, `Pa55<\"echo\">`, "Pa55%3C%22echo"}
	echoedToken := regexp.MustCompile(`(?i)vmware-api-session-id: [0-9a-f]{8}`)
	for where, text := range map[string]string{"results": results.String(), "stderr": stderrs.String(),
		"audit file": string(auditBytes), "audit strings": auditText.String()} {
		for _, want := range []string{"Authorization: Basic ***", "Vmware-Api-Session-Id: ***", "Request: POST /sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login"} {
			if where != "stderr" && !strings.Contains(text, want) {
				t.Errorf("%s lacks the echo %q: the test proves nothing there", where, want)
			}
		}
		for _, s := range forms {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("%s contains the credential form %q: …%s…", where, s, text[max(0, i-60):min(len(text), i+40)])
			}
		}
		if m := echoedToken.FindString(text); m != "" {
			t.Errorf("%s contains a session token: %s", where, m)
		}
	}
	if rep, err := audit.Verify(bytes.NewReader(auditBytes)); err != nil || !rep.Intact {
		t.Errorf("audit chain: %+v, %v", rep.First, err)
	}
}

// collectStrings appends every string in a decoded JSON value to b, one a line.
func collectStrings(v any, b *strings.Builder) {
	switch v := v.(type) {
	case string:
		b.WriteString(v + "\n")
	case []any:
		for _, e := range v {
			collectStrings(e, b)
		}
	case map[string]any:
		for k, e := range v {
			b.WriteString(k + "\n")
			collectStrings(e, b)
		}
	}
}
