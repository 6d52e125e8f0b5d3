package vcenter

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
)

// CABundle is VCENTER_CA_BUNDLE: certificate authorities trusted in
// addition to the system roots.
//
// Parsing the system roots (x509.SystemCertPool, some 150 certificates)
// costs 10-13 ms, more than the rest of start-up, while a vCenter whose CA
// is in the bundle never needs them. So a peer is first verified against
// the bundle alone, and only when that fails against the system roots plus
// the bundle, parsed once, on that first need. A certificate is accepted
// exactly when a verification against the system roots plus the bundle
// would accept it, and refused with that verification's error.
type CABundle struct {
	certs []*x509.Certificate
	// bundle holds certs alone; all adds them to the system roots, built
	// on first use by system (x509.SystemCertPool; tests inject theirs).
	bundle *x509.CertPool
	all    func() *x509.CertPool
}

// LoadCABundle reads and checks the PEM file at path (VCENTER_CA_BUNDLE,
// SERVER_STATE_CA_BUNDLE) at once, so that a mistake is a configuration
// error at start; the system roots it adds to are parsed when first needed.
func LoadCABundle(path string) (*CABundle, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: the operator names this file (VCENTER_CA_BUNDLE)
	if err != nil {
		return nil, fmt.Errorf("VCENTER_CA_BUNDLE: %w", err)
	}
	b := newCABundle(data, x509.SystemCertPool)
	if b == nil {
		return nil, fmt.Errorf("VCENTER_CA_BUNDLE: %s holds no PEM certificate", path)
	}
	return b, nil
}

// newCABundle parses the certificates of a PEM document, skipping what
// x509.CertPool.AppendCertsFromPEM skips (other blocks, certificates that do
// not parse); nil when none is left. system returns the system roots.
func newCABundle(data []byte, system func() (*x509.CertPool, error)) *CABundle {
	b := &CABundle{bundle: x509.NewCertPool()}
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		b.certs = append(b.certs, cert)
		b.bundle.AddCert(cert)
	}
	if len(b.certs) == 0 {
		return nil
	}
	b.all = sync.OnceValue(func() *x509.CertPool {
		pool, err := system()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, c := range b.certs {
			pool.AddCert(c)
		}
		return pool
	})
	return b
}

// Pool returns the system roots plus the bundle's certificates, parsing the
// system roots now if they were not yet: for clients that take a pool
// (Redis), off the stdio start-up path.
func (b *CABundle) Pool() *x509.CertPool { return b.all() }

// TLSConfig returns the TLS configuration of a client of host ("host:port",
// as [NormalizeHost] returns it): TLS 1.2 or later, trusting roots (nil:
// the system's) and the bundle, if any, in addition to the system roots, or
// nothing at all with insecure (INSECURE=true, the operator's choice).
// With a bundle, crypto/tls's own verification is replaced by the
// bundle-first one of [CABundle], which checks the chain, the validity
// dates, the server-auth usage and that the certificate names host, as
// crypto/tls would.
func TLSConfig(host string, roots *x509.CertPool, bundle *CABundle, insecure bool) *tls.Config {
	// The name net/http would give crypto/tls: host without its port
	// (an IPv6 address keeps its brackets, which x509 accepts).
	name := host
	if _, _, err := net.SplitHostPort(host); err == nil {
		name = host[:strings.LastIndex(host, ":")]
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: name,
		RootCAs:    roots,
	}
	switch {
	case insecure:
		cfg.InsecureSkipVerify = true //nolint:gosec // INSECURE=true is the operator's explicit choice, warned about at start
	case roots == nil && bundle != nil:
		// Security: crypto/tls verifies nothing now; VerifyConnection
		// verifies everything it would, against the fixed name of host
		// (not the SNI, which is empty for an address).
		cfg.InsecureSkipVerify = true //nolint:gosec // verified by VerifyConnection below
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return bundle.verify(cs.PeerCertificates, name) }
	}
	return cfg
}

// verify checks a peer's chain for name as crypto/tls does, first against
// the bundle alone, then against the system roots plus the bundle; the
// error is crypto/tls's for the latter.
func (b *CABundle) verify(certs []*x509.Certificate, name string) error {
	if len(certs) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: b.bundle, DNSName: name, Intermediates: x509.NewCertPool()}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err == nil {
		return nil
	}
	opts.Roots = b.all()
	if _, err := certs[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}
