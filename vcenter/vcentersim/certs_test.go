package vcentersim

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestCADownload fetches /certs/download.zip as a client that does not
// trust the simulator yet would (no session), unzips it in memory, and
// verifies the simulator's own server certificate against what it holds.
func TestCADownload(t *testing.T) {
	s := newSim(t, Options{})
	resp := do(t, s, req{method: http.MethodGet, path: caDownloadPath})
	if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("GET %s: %d %s, want 200 application/zip without a session\n%s", caDownloadPath, resp.status, resp.header.Get("Content-Type"), resp.body)
	}
	zr, err := zip.NewReader(bytes.NewReader(resp.body), int64(len(resp.body)))
	if err != nil {
		t.Fatalf("the body is not a zip: %v", err)
	}

	var names []string
	pems := map[string][]byte{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		pems[f.Name] = b
	}
	sort.Strings(names)
	block, _ := pem.Decode(s.CACertPEM())
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := subjectHash(ca.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"certs/lin/" + hash + ".0", "certs/mac/" + hash + ".0", "certs/win/" + hash + ".0.crt"}
	if !slices.Equal(names, want) {
		t.Fatalf("zip holds %q, want %q (vCenter's layout, named by the OpenSSL subject hash)", names, want)
	}
	for _, name := range names {
		if !bytes.Equal(pems[name], s.CACertPEM()) {
			t.Errorf("%s is not the simulator's CA certificate in PEM:\n%s", name, pems[name])
		}
	}

	// What a user does with it: trust certs/lin/*.0 and connect.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pems[want[0]]) {
		t.Fatalf("%s has no PEM certificate", want[0])
	}
	dial := func(roots *x509.CertPool) error {
		conn, err := (&tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}).
			DialContext(context.Background(), "tcp", s.Host())
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(pool); err != nil {
		t.Errorf("TLS to the simulator with the downloaded CA: %v", err)
	}
	if err := dial(x509.NewCertPool()); err == nil {
		t.Error("TLS to the simulator succeeded without the CA: the check above proves nothing")
	}

	if got := s.Counters().Routes["GET "+caDownloadPath]; got != 1 {
		t.Errorf("Counters for GET %s = %d, want 1", caDownloadPath, got)
	}
	if resp := do(t, s, req{method: http.MethodPost, path: caDownloadPath}); resp.status != http.StatusNotFound {
		t.Errorf("POST %s: %d, want 404", caDownloadPath, resp.status)
	}
}

func TestCADownloadZipNamesEveryCA(t *testing.T) {
	a, b := selfSigned(t, rdn(oidCN, "same CA")), selfSigned(t, rdn(oidCN, "same CA"))
	other := selfSigned(t, rdn(oidCN, "other CA"))
	z, err := caDownloadZip(slices.Concat(a, b, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), other))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var lin []string
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "certs/lin/") {
			lin = append(lin, f.Name)
		}
	}
	if len(zr.File) != 9 || len(lin) != 3 || !regexp.MustCompile(`^certs/lin/[0-9a-f]{8}\.1$`).MatchString(lin[1]) {
		t.Errorf("zip of three CAs (two with one subject) and a key: %d files, lin %q; want 9 files and .0, .1 for the shared hash", len(zr.File), lin)
	}
	if _, err := caDownloadZip([]byte("no PEM at all")); err == nil {
		t.Error("caDownloadZip without a certificate succeeded")
	}
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidST = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidDC = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
)

func rdn(oid asn1.ObjectIdentifier, value string) pkix.RelativeDistinguishedNameSET {
	return pkix.RelativeDistinguishedNameSET{{Type: oid, Value: value}}
}

// selfSigned returns a PEM self-signed CA certificate whose subject is the
// given names in that order.
func selfSigned(t *testing.T, names ...pkix.RelativeDistinguishedNameSET) []byte {
	t.Helper()
	raw, err := asn1.Marshal(pkix.RDNSequence(names))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), RawSubject: raw, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestSubjectHash compares subjectHash with `openssl x509 -subject_hash`:
// fixed names whose hashes OpenSSL 3.0 printed, and every hashed link in
// the system's certificate directory when there is one (/etc/ssl/certs,
// made by c_rehash or update-ca-certificates), which covers the string
// types and spellings of real CAs.
func TestSubjectHash(t *testing.T) {
	for _, tt := range []struct {
		name  pkix.RDNSequence
		want  string // openssl x509 -noout -subject_hash
		about string
	}{
		{pkix.RDNSequence{rdn(oidCN, "vcentersim CA"), rdn(oidO, "vcentersim")}, "1bed8b79", "the simulator's CA"},
		{pkix.RDNSequence{rdn(oidDC, "local"), rdn(oidDC, "vsphere"), rdn(oidCN, "CA"), rdn(oidC, "US"), rdn(oidST, "California"),
			rdn(oidO, "vcenter.example.com"), rdn(oidOU, "VMware Engineering")}, "3cc1686e", "a VMCA root"},
		{pkix.RDNSequence{rdn(oidCN, "  Hello   World  "), rdn(oidO, "ACME Corp")}, "84ca5909", "spaces are trimmed and collapsed"},
		{pkix.RDNSequence{rdn(oidCN, "HELLO WORLD"), rdn(oidO, "acme corp")}, "84ca5909", "case does not matter"},
	} {
		raw, err := asn1.Marshal(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := subjectHash(raw); err != nil || got != tt.want {
			t.Errorf("subjectHash(%s) = %s, %v; want %s (%s)", tt.name, got, err, tt.want, tt.about)
		}
	}

	const dir = "/etc/ssl/certs"
	links, _ := filepath.Glob(filepath.Join(dir, "*.[0-9]"))
	checked := 0
	for _, link := range links {
		b, err := os.ReadFile(link)
		if err != nil {
			continue
		}
		block, _ := pem.Decode(b)
		if block == nil {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		got, err := subjectHash(cert.RawSubject)
		want, _, _ := strings.Cut(filepath.Base(link), ".")
		if err != nil || got != want {
			t.Errorf("subjectHash of %s (%s) = %s, %v; the system named it %s", link, cert.Subject, got, err, want)
		}
		checked++
	}
	t.Logf("checked %d hashed certificates in %s", checked, dir)
}
