package doctor

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

func simSetup(t *testing.T, opts vcentersim.Options) (*vcentersim.Server, Setup) {
	t.Helper()
	sim := vcentersim.NewServer(opts)
	t.Cleanup(sim.Close)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CACertPEM())
	return sim, Setup{
		Set:     []string{"VCENTER_HOST", "VCENTER_PASSWORD", "VCENTER_USER"},
		VCenter: vcenter.Config{Host: sim.Host(), User: sim.User(), Password: sim.Password(), RootCAs: roots, Retries: -1, Log: zerolog.Nop()},
		Access: func() (policy.Access, error) {
			return policy.Access{Role: "ops", TokenFP: "sha256:0123456789ab", Tools: []string{"list_vms", "power_on_vm"}}, nil
		},
		Timeout: 5 * time.Second,
	}
}

// report runs the checks and returns the printed lines by check name.
func report(t *testing.T, s Setup) (map[string]string, bool, string) {
	t.Helper()
	var b bytes.Buffer
	ok := Print(&b, Run(context.Background(), s))
	lines := map[string]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) > 1 && (f[0] == "✔" || f[0] == "✘" || f[0] == "-") {
			lines[f[1]] = l
		}
	}
	return lines, ok, b.String()
}

func TestAllGood(t *testing.T) {
	_, s := simSetup(t, vcentersim.Options{})
	s.AuditPath = filepath.Join(t.TempDir(), "audit.jsonl")
	lines, ok, out := report(t, s)
	if !ok {
		t.Fatalf("checks failed:\n%s", out)
	}
	for _, name := range []string{"configuration", "DNS", "TCP", "TLS", "login", "VI/JSON", "role", "audit"} {
		if !strings.HasPrefix(lines[name], "✔") {
			t.Errorf("%s: %q", name, lines[name])
		}
	}
}

func TestFailures(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edit  func(*vcentersim.Server, *Setup)
		opts  vcentersim.Options
		check string   // the failing check
		want  []string // in its lines
		after string   // a later check that must be skipped
	}{
		{
			name: "wrong password", check: "login", after: "VI/JSON",
			edit: func(_ *vcentersim.Server, s *Setup) { s.VCenter.Password = "wrong" },
			want: []string{"✘ login", "VCENTER_PASSWORD"},
		},
		{
			name: "untrusted certificate", check: "TLS", after: "login",
			edit: func(_ *vcentersim.Server, s *Setup) { s.VCenter.RootCAs = x509.NewCertPool() },
			want: []string{"✘ TLS", "not trusted", `issuer "CN=vcentersim CA`, "VCENTER_CA_BUNDLE", "/certs/download.zip"},
		},
		{
			name: "wrong host name", check: "TLS", opts: vcentersim.Options{CertHosts: []string{"vcenter.example.test"}},
			want: []string{"✘ TLS", "vcenter.example.test", "set VCENTER_HOST"},
		},
		{
			name: "unknown token", check: "role",
			edit: func(_ *vcentersim.Server, s *Setup) {
				s.Access = func() (policy.Access, error) { return policy.Access{}, policy.ErrUnknownToken }
			},
			want: []string{"✘ role", "unknown token", "VSPHERE_MCP_TOKEN"},
		},
		{
			name: "no VI/JSON", check: "VI/JSON", opts: vcentersim.Options{Release: "8.0.0.0"},
			want: []string{"✘ VI/JSON", "8.0 U1", "every other tool works"},
		},
		{
			name: "configuration", check: "configuration", after: "DNS",
			edit: func(_ *vcentersim.Server, s *Setup) { s.ConfigErr = errors.New("VCENTER_TIMEOUT_S: not a number") },
			want: []string{"✘ configuration", "VCENTER_TIMEOUT_S: not a number"},
		},
		{
			name: "connection refused", check: "TCP", after: "TLS",
			edit: func(_ *vcentersim.Server, s *Setup) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					panic(err)
				}
				s.VCenter.Host = l.Addr().String()
				l.Close()
			},
			want: []string{"✘ TCP", "firewall"},
		},
		{
			name: "audit path unusable", check: "audit",
			edit: func(_ *vcentersim.Server, s *Setup) { s.AuditPath = "/proc/audit.jsonl" },
			want: []string{"✘ audit", "AUDIT_LOG_PATH"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim, s := simSetup(t, tt.opts)
			if tt.edit != nil {
				tt.edit(sim, &s)
			}
			lines, ok, out := report(t, s)
			if ok {
				t.Fatalf("all checks passed:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if !strings.HasPrefix(lines[tt.check], "✘") {
				t.Errorf("%s not marked failed: %q", tt.check, lines[tt.check])
			}
			if tt.after != "" && !strings.HasPrefix(lines[tt.after], "-") {
				t.Errorf("%s not skipped after the failure: %q", tt.after, lines[tt.after])
			}
		})
	}
}

// TestAuditDirectoryIsCreated: doctor judges AUDIT_LOG_PATH as the server
// uses it: a directory that does not exist yet is created (0700), not
// reported as a failure.
func TestAuditDirectoryIsCreated(t *testing.T) {
	_, s := simSetup(t, vcentersim.Options{})
	s.AuditPath = filepath.Join(t.TempDir(), "Logs", "vsphere-mcp-pro", "audit.jsonl")
	lines, _, out := report(t, s)
	if !strings.HasPrefix(lines["audit"], "✔") {
		t.Fatalf("audit: %q\n%s", lines["audit"], out)
	}
	fi, err := os.Stat(filepath.Dir(s.AuditPath))
	if err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v %v", fi, err)
	}
}
