// Package doctor checks a vsphere-mcp-pro setup from configuration to
// vCenter and says, for each failure, what to change. It runs the checks
// in the order a connection needs them (configuration, DNS, TCP, TLS,
// login, VI/JSON, role, audit sink) and skips those that cannot run after a
// failure.
//
// It knows nothing of MCP. It speaks to vCenter through the vcenter
// package, except for the DNS, TCP and TLS probes, which it makes itself so
// that each layer's failure is told apart.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// Result is the outcome of one check.
type Result struct {
	Name    string // "TLS"
	OK      bool
	Skipped bool   // not run because an earlier check failed
	Detail  string // what was found
	Fix     string // what to change, when not OK
}

// Setup is what the checks need. The caller builds it from the
// environment; nothing here reads the environment itself.
type Setup struct {
	// Set names the configuration variables that are set (never values).
	Set []string
	// ConfigErr holds the configuration problems, one per line.
	ConfigErr error
	// VCenter is the client configuration; Host empty when it is invalid.
	VCenter vcenter.Config
	// Simulated marks a run against the embedded simulator.
	Simulated bool
	// Access resolves the launch token's role and tools; when nil, Policy
	// and Identity (or IdentityErr) answer it.
	Access func() (policy.Access, error)
	// Policy is the server's policy, and Identity what the launch token
	// resolved to in it, or IdentityErr why it did not; nil Policy: the
	// configuration did not get that far.
	Policy      *policy.Policy
	Identity    policy.Identity
	IdentityErr error
	// AuditPath is AUDIT_LOG_PATH; "" means stderr.
	AuditPath string
	// Timeout bounds each network check (default 10s).
	Timeout time.Duration
}

// Run performs the checks in order.
func Run(ctx context.Context, s Setup) []Result {
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	var out []Result
	add := func(r Result) bool { out = append(out, r); return r.OK }
	skip := func(names ...string) {
		for _, n := range names {
			out = append(out, Result{Name: n, Skipped: true, Detail: "skipped: an earlier check failed"})
		}
	}
	net := []string{"DNS", "TCP", "TLS", "login", "VI/JSON"}

	if !add(checkConfig(s)) || s.VCenter.Host == "" {
		skip(net...)
	} else {
		host, err := vcenter.NormalizeHost(s.VCenter.Host)
		switch {
		case err != nil:
			skip(net...)
		case !add(checkDNS(ctx, host, s.Timeout)):
			skip(net[1:]...)
		case !add(checkTCP(ctx, host, s.Timeout)):
			skip(net[2:]...)
		case !add(checkTLS(ctx, host, s.VCenter, s.Timeout)):
			skip(net[3:]...)
		default:
			c, err := vcenter.New(s.VCenter)
			if err != nil {
				add(Result{Name: "login", Detail: err.Error(), Fix: "check VCENTER_HOST"})
				skip(net[4:]...)
				break
			}
			defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
			if !add(checkLogin(ctx, c, s)) {
				skip(net[4:]...)
			} else {
				add(checkVIJSON(ctx, c))
			}
		}
	}
	add(checkRole(s))
	add(checkAudit(s))
	return out
}

// Print writes one line per result, ✔ or ✘ with its fix, then whether every
// check passed, and reports it.
func Print(w io.Writer, results []Result) bool {
	ok := true
	for _, r := range results {
		switch {
		case r.Skipped:
			fmt.Fprintf(w, "- %-13s %s\n", r.Name, r.Detail)
			ok = false
		case r.OK:
			fmt.Fprintf(w, "✔ %-13s %s\n", r.Name, r.Detail)
		default:
			ok = false
			fmt.Fprintf(w, "✘ %-13s %s\n", r.Name, r.Detail)
			if r.Fix != "" {
				fmt.Fprintf(w, "  %-13s fix: %s\n", "", r.Fix)
			}
		}
	}
	if ok {
		fmt.Fprintln(w, "\nall checks passed")
	} else {
		fmt.Fprintln(w, "\nsome checks failed: fix the lines marked ✘ (or skipped) and run doctor again")
	}
	return ok
}

func checkConfig(s Setup) Result {
	r := Result{Name: "configuration"}
	set := "no variables set"
	if len(s.Set) > 0 {
		set = "set: " + strings.Join(s.Set, ", ")
	}
	if s.Simulated {
		set = "--simulate (embedded simulated vCenter); " + set
	}
	if s.ConfigErr != nil {
		r.Detail = strings.ReplaceAll(s.ConfigErr.Error(), "\n", "; ")
		r.Fix = "correct the variables named above (see README, Configuration)"
		return r
	}
	r.OK, r.Detail = true, set
	return r
}

func checkDNS(ctx context.Context, host string, timeout time.Duration) Result {
	r := Result{Name: "DNS"}
	name, _, _ := net.SplitHostPort(host)
	if ip := net.ParseIP(name); ip != nil {
		r.OK, r.Detail = true, name+" is an IP address"
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil || len(addrs) == 0 {
		r.Detail = fmt.Sprintf("cannot resolve %s: %v", name, err)
		r.Fix = "check the spelling of VCENTER_HOST and this machine's DNS (try the vCenter's IP address)"
		return r
	}
	r.OK, r.Detail = true, fmt.Sprintf("%s → %s", name, strings.Join(addrs, ", "))
	return r
}

func checkTCP(ctx context.Context, host string, timeout time.Duration) Result {
	r := Result{Name: "TCP"}
	d := net.Dialer{Timeout: timeout}
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		r.Detail = fmt.Sprintf("cannot connect to %s: %v", host, err)
		r.Fix = "check that vCenter is up, the port (VCENTER_HOST=host:port; default 443) and any firewall or proxy in between"
		return r
	}
	conn.Close()
	r.OK, r.Detail = true, fmt.Sprintf("%s reachable in %s", host, time.Since(start).Round(10*time.Microsecond))
	return r
}

// checkTLS handshakes as the client will and names the fix: the CA bundle
// with the certificate's issuer, or the host name the certificate carries.
func checkTLS(ctx context.Context, host string, cfg vcenter.Config, timeout time.Duration) Result {
	r := Result{Name: "TLS"}
	// The client's own TLS configuration: the same roots, bundle-first
	// verification and INSECURE=true.
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: vcenter.TLSConfig(host, cfg.RootCAs, cfg.CABundle, cfg.Insecure)}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		r.Detail, r.Fix = describeTLS(err, host)
		return r
	}
	defer conn.Close()
	st := conn.(*tls.Conn).ConnectionState()
	leaf := st.PeerCertificates[0]
	r.OK = true
	r.Detail = fmt.Sprintf("%s, certificate %q issued by %q, valid until %s", tls.VersionName(st.Version),
		leaf.Subject.CommonName, leaf.Issuer.CommonName, leaf.NotAfter.Format("2006-01-02"))
	if cfg.Insecure {
		r.Detail += "; NOT VERIFIED (INSECURE=true): set VCENTER_CA_BUNDLE instead"
	}
	return r
}

func describeTLS(err error, host string) (detail, fix string) {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	name, port, _ := net.SplitHostPort(host)
	site := host
	if port == "443" {
		site = name
	}
	switch {
	case errors.As(err, &unknown) && unknown.Cert != nil:
		c := unknown.Cert
		return fmt.Sprintf("certificate not trusted: subject %q, issuer %q", c.Subject.String(), c.Issuer.String()),
			fmt.Sprintf("set VCENTER_CA_BUNDLE to a PEM file with the certificate of %q (vCenter serves its CA at https://%s/certs/download.zip)", c.Issuer.CommonName, site)
	case errors.As(err, &hostname) && hostname.Certificate != nil:
		c := hostname.Certificate
		names := append(append([]string(nil), c.DNSNames...), ipStrings(c.IPAddresses)...)
		return fmt.Sprintf("the certificate is for %s, not %s", strings.Join(names, ", "), name),
			"set VCENTER_HOST to one of the names in the certificate"
	case errors.As(err, &invalid):
		return "certificate invalid: " + invalid.Error(), "renew vCenter's certificate, or check this machine's clock"
	case errors.As(err, &verify):
		return "certificate verification failed: " + verify.Error(), "set VCENTER_CA_BUNDLE to the CA that issued vCenter's certificate"
	}
	return "TLS handshake failed: " + err.Error(), "check that VCENTER_HOST points at vCenter's HTTPS port"
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

func checkLogin(ctx context.Context, c *vcenter.Client, s Setup) Result {
	r := Result{Name: "login"}
	api := "/" + string(c.Mode())
	dcs, _, err := c.ListDatacenters(ctx, vcenter.DatacenterFilter{})
	if err != nil {
		r.Detail = fmt.Sprintf("as %s on %s: %v", s.VCenter.User, api, err)
		switch {
		case errors.Is(err, vcenter.ErrInvalidLogin):
			r.Fix = "check VCENTER_USER (user@domain, e.g. administrator@vsphere.local) and VCENTER_PASSWORD or VCENTER_PASSWORD_FILE"
		case errors.Is(err, vcenter.ErrUnauthorized):
			r.Fix = "the account lacks System.View/System.Read: grant it a role (docs/privileges.md)"
		case errors.Is(err, vcenter.ErrNotFound):
			r.Fix = fmt.Sprintf("vCenter has no %s API here: try VSPHERE_API_MODE=%s", api, otherMode(c.Mode()))
		default:
			r.Fix = "see the error above; LOG_LEVEL=debug shows every request"
		}
		return r
	}
	r.OK = true
	r.Detail = fmt.Sprintf("as %s on %s (VSPHERE_API_MODE=%s): %d datacenters visible", s.VCenter.User, api, c.Mode(), len(dcs))
	return r
}

func otherMode(m vcenter.Mode) vcenter.Mode {
	if m == vcenter.ModeAPI {
		return vcenter.ModeREST
	}
	return vcenter.ModeAPI
}

func checkVIJSON(ctx context.Context, c *vcenter.Client) Result {
	r := Result{Name: "VI/JSON"}
	info, err := c.CheckVIJSON(ctx)
	if err != nil {
		r.Detail = err.Error()
		if errors.Is(err, vcenter.ErrNoVIJSON) {
			r.Fix = "the snapshot tools need vCenter 8.0 U1 or later; every other tool works"
		} else {
			r.Fix = "check the VI/JSON login (same credentials) and /sdk reachability"
		}
		return r
	}
	session := "its own login (vCenter before 8.0 U3)"
	if info.SharedSession {
		session = "the Automation API session (8.0 U3+)"
	}
	r.OK = true
	r.Detail = fmt.Sprintf("%s, apiVersion %s: snapshots supported, using %s", info.FullName, info.APIVersion, session)
	return r
}

func checkRole(s Setup) Result {
	r := Result{Name: "role"}
	if s.Access == nil && s.Policy != nil {
		s.Access = func() (policy.Access, error) {
			if s.IdentityErr != nil {
				return policy.Access{}, fmt.Errorf("VSPHERE_MCP_TOKEN: %w", s.IdentityErr)
			}
			return s.Policy.Describe(s.Identity), nil
		}
	}
	if s.Access == nil {
		r.Detail, r.Fix = "policy not loaded (configuration error)", "fix the configuration first"
		return r
	}
	a, err := s.Access()
	if err != nil {
		r.Detail = err.Error()
		r.Fix = "set VSPHERE_MCP_TOKEN to a token listed in TOKENS_TO_ROLES (or POLICY_FILE), or AUTH_ENFORCE=false for a single trusted user"
		return r
	}
	who := "no token"
	if a.TokenFP != "" {
		who = "token " + a.TokenFP
	}
	ro := ""
	if a.ReadOnly {
		ro = ", READ_ONLY"
	}
	r.OK = true
	r.Detail = fmt.Sprintf("%s (%s%s): %d tools: %s", a.Role, who, ro, len(a.Tools), strings.Join(a.Tools, ", "))
	return r
}

func checkAudit(s Setup) Result {
	r := Result{Name: "audit"}
	if s.AuditPath == "" {
		r.OK, r.Detail = true, "to stderr (set AUDIT_LOG_PATH to keep a file)"
		return r
	}
	// As the server does at start: a missing directory is created, for
	// this user only.
	if err := os.MkdirAll(filepath.Dir(s.AuditPath), 0o700); err != nil {
		r.Detail = "create its directory: " + err.Error()
		r.Fix = "make AUDIT_LOG_PATH a regular file (mode 0600) in a directory this user can write"
		return r
	}
	l, err := audit.Open(s.AuditPath)
	if err != nil {
		r.Detail = err.Error()
		r.Fix = "make AUDIT_LOG_PATH a regular file (mode 0600) in a directory this user can write"
		return r
	}
	_ = l.Close()
	r.OK, r.Detail = true, s.AuditPath+" is writable (append-only, 0600)"
	return r
}
