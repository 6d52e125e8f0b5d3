package vcenter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// expiredFront serves 404s over TLS with a certificate that expired an
// hour ago, and returns its address and a pool trusting that certificate.
func expiredFront(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "expired-vcenter"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
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
	srv := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		_ = srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	}()
	t.Cleanup(func() { srv.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return ln.Addr().String(), roots
}

// TestTLSRefusalsSayVCenterWasReached: a certificate this client refuses
// used to come back as a TransportError, which the tools layer reads as
// "vCenter could not be reached". vCenter was reached: the error is a
// *TLSError naming the certificate (subject, issuer) and the fix, the same
// as doctor's TLS check, and no request went past the handshake.
func TestTLSRefusalsSayVCenterWasReached(t *testing.T) {
	ctx := context.Background()
	t.Run("untrusted", func(t *testing.T) {
		sim := newSim(t, vcentersim.Options{})
		c := newClient(t, sim, ModeAPI, func(c *Config) { c.RootCAs = x509.NewCertPool() })
		err := c.Power(ctx, "vm-73", PowerStart)
		checkTLSError(t, err, true, "vCenter at "+sim.Host()+" was reached, but its TLS certificate is not trusted",
			`subject "CN=`, `issuer "CN=vcentersim CA,O=vcentersim"`,
			`set VCENTER_CA_BUNDLE to a PEM file with the certificate of "vcentersim CA"`,
			"https://"+sim.Host()+"/certs/download.zip")
		if n := sim.Counters().Requests; n != 0 {
			t.Errorf("%d requests reached the server through an untrusted TLS session", n)
		}
	})
	t.Run("another name", func(t *testing.T) {
		sim := newSim(t, vcentersim.Options{CertHosts: []string{"vcenter.example.test"}})
		c := newClient(t, sim, ModeAPI)
		_, err := c.GetPower(ctx, "vm-70")
		checkTLSError(t, err, true, "was reached, but its TLS certificate does not name 127.0.0.1 (it names vcenter.example.test)",
			"set VCENTER_HOST to one of those names")
	})
	t.Run("expired", func(t *testing.T) {
		host, roots := expiredFront(t)
		c, err := New(Config{Host: host, User: "u", Password: "p", RootCAs: roots, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetPower(ctx, "vm-70")
		checkTLSError(t, err, true, "was reached, but its TLS certificate is not valid", `subject "CN=expired-vcenter"`, "expired",
			"renew vCenter's certificate, or check this machine's clock")
	})
	t.Run("not TLS at all", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
		go func() { _ = srv.Serve(ln) }() // plain HTTP on the port
		t.Cleanup(func() { srv.Close() })
		c, err := New(Config{Host: ln.Addr().String(), User: "u", Password: "p", Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetPower(ctx, "vm-70")
		checkTLSError(t, err, false, "was reached, but the TLS handshake failed", "VCENTER_HOST names vCenter's HTTPS port")
	})
}

func checkTLSError(t *testing.T, err error, certificate bool, want ...string) {
	t.Helper()
	var tlsErr *TLSError
	var te *TransportError
	if !errors.As(err, &tlsErr) || errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want a *TLSError and no TransportError", err, err)
	}
	if errors.Is(err, ErrUntrustedCertificate) != certificate {
		t.Errorf("errors.Is(ErrUntrustedCertificate) = %v, want %v", !certificate, certificate)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v\nwant it to say %q", err, w)
		}
	}
	for _, bad := range []string{"could not be reached", "may have been applied"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("err = %v: says %q", err, bad)
		}
	}
}

func TestSiteOf(t *testing.T) {
	for in, want := range map[string]string{"vc.example.com:443": "vc.example.com", "vc.example.com:8443": "vc.example.com:8443",
		"[::1]:443": "[::1]", "[::1]:9443": "[::1]:9443"} {
		if got := siteOf(in); got != want {
			t.Errorf("siteOf(%s) = %s, want %s", in, got, want)
		}
	}
}
