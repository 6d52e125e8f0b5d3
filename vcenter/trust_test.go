package vcenter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// otherCAPEM is a CA that signed nothing the simulator serves.
func otherCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// systemRoots is an injected x509.SystemCertPool that counts its calls.
type systemRoots struct {
	pool  *x509.CertPool
	calls atomic.Int32
}

func (s *systemRoots) load() (*x509.CertPool, error) {
	s.calls.Add(1)
	if s.pool == nil {
		return nil, errors.New("no system roots here")
	}
	return s.pool.Clone(), nil
}

// bundleClient is a client of sim trusting bundlePEM in addition to sys.
func bundleClient(t *testing.T, sim *vcentersim.Server, bundlePEM []byte, sys *systemRoots) *Client {
	t.Helper()
	b := newCABundle(bundlePEM, sys.load)
	if b == nil {
		t.Fatal("no certificate in the bundle")
	}
	return newClient(t, sim, ModeAPI, func(c *Config) { c.RootCAs, c.CABundle = nil, b })
}

// TestCABundleVerifiesWithoutTheSystemRoots: a vCenter whose CA is in the
// bundle is trusted without the system roots ever being parsed (they cost
// most of start-up), on every connection.
func TestCABundleVerifiesWithoutTheSystemRoots(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	sys := &systemRoots{}
	c := bundleClient(t, sim, sim.CACertPEM(), sys)
	for range 2 {
		if _, err := c.GetPower(context.Background(), "vm-70"); err != nil {
			t.Fatal(err)
		}
		c.http.HTTPClient.CloseIdleConnections() // a new handshake next time
	}
	if n := sys.calls.Load(); n != 0 {
		t.Errorf("the system roots were loaded %d times, want never", n)
	}
}

// TestCABundleAddsToTheSystemRoots: a certificate the bundle does not
// vouch for is still trusted when the system roots do; they are loaded once
// for every later handshake.
func TestCABundleAddsToTheSystemRoots(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	sys := &systemRoots{pool: sim.CertPool()} // the simulator's CA as a system root
	c := bundleClient(t, sim, otherCAPEM(t), sys)
	for range 3 {
		if _, err := c.GetPower(context.Background(), "vm-70"); err != nil {
			t.Fatal(err)
		}
		c.http.HTTPClient.CloseIdleConnections()
	}
	if n := sys.calls.Load(); n != 1 {
		t.Errorf("the system roots were loaded %d times, want once", n)
	}
}

// TestCABundleRefusesWhatTheSystemPoolWould: a wrong name or an unknown
// issuer is refused with the same operator-facing error as crypto/tls's
// own verification against the system roots plus the bundle gave, and no
// request passes the handshake.
func TestCABundleRefusesWhatTheSystemPoolWould(t *testing.T) {
	ctx := context.Background()
	// old is the error of a client verifying as before: crypto/tls itself,
	// with the bundle added to the (injected) system pool.
	old := func(sim *vcentersim.Server, bundlePEM []byte, sys *x509.CertPool) error {
		pool := x509.NewCertPool()
		if sys != nil {
			pool = sys.Clone()
		}
		pool.AppendCertsFromPEM(bundlePEM)
		c := newClient(t, sim, ModeAPI, func(c *Config) { c.RootCAs = pool })
		_, err := c.GetPower(ctx, "vm-70")
		return err
	}
	for _, tc := range []struct {
		name   string
		opts   vcentersim.Options
		bundle func(*vcentersim.Server) []byte
		system func(*vcentersim.Server) *x509.CertPool
		want   []string
	}{
		{"wrong name", vcentersim.Options{CertHosts: []string{"vcenter.example.test"}},
			(*vcentersim.Server).CACertPEM, func(*vcentersim.Server) *x509.CertPool { return nil },
			[]string{"its TLS certificate does not name 127.0.0.1 (it names vcenter.example.test)"}},
		{"wrong name, system CA", vcentersim.Options{CertHosts: []string{"vcenter.example.test"}},
			func(*vcentersim.Server) []byte { return otherCAPEM(t) }, (*vcentersim.Server).CertPool,
			[]string{"its TLS certificate does not name 127.0.0.1 (it names vcenter.example.test)"}},
		{"unknown issuer", vcentersim.Options{},
			func(*vcentersim.Server) []byte { return otherCAPEM(t) }, func(*vcentersim.Server) *x509.CertPool { return x509.NewCertPool() },
			[]string{"its TLS certificate is not trusted", `issuer "CN=vcentersim CA,O=vcentersim"`, "set VCENTER_CA_BUNDLE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t, tc.opts)
			bundlePEM, sysPool := tc.bundle(sim), tc.system(sim)
			c := bundleClient(t, sim, bundlePEM, &systemRoots{pool: sysPool})
			_, err := c.GetPower(ctx, "vm-70")
			checkTLSError(t, err, true, tc.want...)
			if want := old(sim, bundlePEM, sysPool); err == nil || want == nil || err.Error() != want.Error() {
				t.Errorf("err = %v\nwant what crypto/tls said before: %v", err, want)
			}
			var ve *tls.CertificateVerificationError
			if !errors.As(err, &ve) || len(ve.UnverifiedCertificates) == 0 {
				t.Errorf("err = %v: no *tls.CertificateVerificationError with the certificates", err)
			}
			if n := sim.Counters().Requests; n != 0 {
				t.Errorf("%d requests passed a refused handshake", n)
			}
		})
	}
}

// TestCABundleExpiredIsRefused: validity dates are checked too.
func TestCABundleExpiredIsRefused(t *testing.T) {
	host, _ := expiredFront(t)
	// The front's certificate is its own CA: it is the bundle.
	conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // fetches the certificate under test
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: conn.ConnectionState().PeerCertificates[0].Raw})
	conn.Close()
	b := newCABundle(pemBytes, (&systemRoots{}).load)
	c, err := New(Config{Host: host, User: "u", Password: "p", CABundle: b})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPower(context.Background(), "vm-70")
	checkTLSError(t, err, true, "was reached, but its TLS certificate is not valid", "expired")
}

// TestInsecureIgnoresTheBundle: INSECURE=true verifies nothing, bundle or not.
func TestInsecureIgnoresTheBundle(t *testing.T) {
	sim := newSim(t, vcentersim.Options{})
	b := newCABundle(otherCAPEM(t), (&systemRoots{}).load)
	c := newClient(t, sim, ModeAPI, func(c *Config) { c.RootCAs, c.CABundle, c.Insecure = nil, b, true })
	if _, err := c.GetPower(context.Background(), "vm-70"); err != nil {
		t.Fatal(err)
	}
}

// TestLoadCABundle: the file is read and checked at once; the errors are
// the configuration's.
func TestLoadCABundle(t *testing.T) {
	dir := t.TempDir()
	good, junk := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(good, append([]byte("comment\n"), otherCAPEM(t)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junk, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := LoadCABundle(good)
	if err != nil || b == nil || len(b.certs) != 1 {
		t.Fatalf("LoadCABundle(good) = %v, %v", b, err)
	}
	if _, err := LoadCABundle(junk); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("LoadCABundle(junk) err = %v", err)
	}
	if _, err := LoadCABundle(filepath.Join(dir, "missing.pem")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadCABundle(missing) err = %v", err)
	}
}
