package state

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRedisOverTLS: rediss:// verifies Redis's certificate against
// SERVER_STATE_CA_BUNDLE's authorities and the URL's host name, on a real
// redis-server with TLS; the system's roots alone refuse it.
func TestRedisOverTLS(t *testing.T) {
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test redis CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certFile, keyFile, caFile := write("redis.crt", "CERTIFICATE", der), write("redis.key", "EC PRIVATE KEY", keyDER), write("ca.crt", "CERTIFICATE", caDER)
	port := startRedisServer(t, true, "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no", "--requirepass", secret)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	cfg := testConfig("rediss://localhost:" + strconv.Itoa(port) + "/0")
	cfg.Password, cfg.RootCAs = secret, pool
	if err := openStore(t, cfg).Ping(context.Background()); err != nil {
		t.Fatalf("rediss:// with the CA: %v", err)
	}
	cfg.RootCAs = nil
	err = openStore(t, cfg).Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), secret) {
		t.Errorf("rediss:// without the CA: %v, want a certificate error", err)
	}
	// Plain redis:// to the TLS port gets no answer it can use.
	cfg = testConfig("redis://127.0.0.1:" + strconv.Itoa(port) + "/0")
	cfg.Password = secret
	if err := openStore(t, cfg).Ping(context.Background()); err == nil {
		t.Error("redis:// to a TLS port succeeded")
	}
}
