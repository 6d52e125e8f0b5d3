package vcentersim

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestURLAndHost(t *testing.T) {
	s := newSim(t, Options{})
	if !regexp.MustCompile(`^https://127\.0\.0\.1:\d+$`).MatchString(s.URL) {
		t.Errorf("URL %q", s.URL)
	}
	if s.Host() != strings.TrimPrefix(s.URL, "https://") {
		t.Errorf("Host %q for URL %q", s.Host(), s.URL)
	}
	if s.User() != DefaultUser || s.Password() != DefaultPassword {
		t.Errorf("default credentials %q/%q", s.User(), s.Password())
	}
}

func TestTLS(t *testing.T) {
	s := newSim(t, Options{})

	t.Run("a client without the CA fails", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{}}
		_, err := c.Get(s.URL + "/api/vcenter/vm")
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("error %v, want an unknown authority", err)
		}
	})

	t.Run("a CA bundle file from CACertPEM works", func(t *testing.T) {
		bundle := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(bundle, s.CACertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		pem, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("CACertPEM holds no certificate")
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := c.Get(s.URL + "/api/vcenter/vm")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401 (TLS fine, no session)", resp.StatusCode)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.caPool, MaxVersion: tls.VersionTLS11}}}
		if _, err := c.Get(s.URL + "/api/session"); err == nil {
			t.Error("a TLS 1.1 client connected")
		}
	})
}

func TestCertHostsControlTheSANs(t *testing.T) {
	s := newSim(t, Options{CertHosts: []string{"vcenter.example.com"}})
	_, err := s.Client().Get(s.URL + "/api/session")
	var mismatch x509.HostnameError
	if !errors.As(err, &mismatch) {
		t.Errorf("connecting to 127.0.0.1 with a certificate for vcenter.example.com: %v, want a hostname error", err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.caPool, ServerName: "vcenter.example.com"}}}
	resp, err := c.Get(s.URL + "/api/session")
	if err != nil {
		t.Fatalf("with ServerName vcenter.example.com: %v", err)
	}
	resp.Body.Close()
}

func TestLifecycle(t *testing.T) {
	s := NewUnstartedServer(Options{})
	if s.URL != "" || s.Client() != nil {
		t.Errorf("before Start: URL %q client %v", s.URL, s.Client())
	}
	if len(s.CACertPEM()) == 0 {
		t.Error("CACertPEM is empty before Start")
	}
	s.Start()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a second Start did not panic")
			}
		}()
		s.Start()
	}()
	s.Close()
	s.Close() // safe twice
	if _, err := s.Client().Get(s.URL + "/api/session"); err == nil {
		t.Error("the server still answers after Close")
	}
	NewUnstartedServer(Options{}).Close() // never started
}

func TestUnknownReleasePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "vcentersim: unknown Options.Release") {
			t.Errorf("recover() = %v", r)
		}
	}()
	NewUnstartedServer(Options{Release: "7.0.3.0"})
}

func TestLatency(t *testing.T) {
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	s.SetLatency(40*time.Millisecond, 10*time.Millisecond)
	start := time.Now()
	if r := get(t, s, "/api/vcenter/datacenter", token); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("request took %v, want at least the 40ms latency", d)
	}
	s.SetLatency(0, 0)
}

func TestUnmatchedOutsideTheSurfaces(t *testing.T) {
	s := newSim(t, Options{})
	r := get(t, s, "/ui/", "")
	if r.status != http.StatusNotFound {
		t.Errorf("status %d", r.status)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Route != unmatchedKey || reqs[0].Path != "/ui/" {
		t.Errorf("requests %+v", reqs)
	}
}
