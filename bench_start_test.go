package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartup: spawn → initialize → notifications/initialized →
// tools/list answered, over stdio, driven by a bare pipe client (three JSON
// lines written, answers read) so that no SDK client's process handling is
// in the figure. Variants, interleaved round by round so that load on the
// machine falls on all alike:
//
//   - bundle: VCENTER_CA_BUNDLE set, as every real user has, and the password
//     in the environment (so the process re-executes itself once to shed it,
//     config/secrets.go);
//   - nobundle: the same without the bundle;
//   - bundle+pwfile: the bundle, and the password in VCENTER_PASSWORD_FILE
//     (no re-execution);
//   - floor: a go-sdk server with one tool (testdata/floor), built here.
//
// It reports each variant's median in ms, its ratio to the floor's, its
// median CPU time (less sensitive to other load than wall time), and the
// garbage collections the bundle variant ran before its answer (GODEBUG
// gctrace, one extra run). BENCH_BINARY=/path measures another binary (a
// "before").
//
//	go test -run '^$' -bench Startup -benchtime 1x .
func BenchmarkStartup(b *testing.B) {
	bin := benchBinary(b)
	floor := buildFloor(b)
	dir := b.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pwfile := filepath.Join(dir, "password")
	if err := os.WriteFile(ca, benchCAPEM(b), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(pwfile, []byte("p\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LOG_LEVEL=warn", "RATE_LIMIT=false",
		"VCENTER_HOST=vcenter.example.com", "VCENTER_USER=u", "AUTH_ENFORCE=false", "AUDIT_LOG_PATH=" + filepath.Join(dir, "audit.jsonl")}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	variants := []struct {
		name string
		bin  string
		env  []string
	}{
		{"floor", floor, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}},
		{"bundle", bin, with("VCENTER_PASSWORD=p", "VCENTER_CA_BUNDLE="+ca)},
		{"nobundle", bin, with("VCENTER_PASSWORD=p")},
		{"bundle+pwfile", bin, with("VCENTER_PASSWORD_FILE="+pwfile, "VCENTER_CA_BUNDLE="+ca)},
	}
	for b.Loop() {
		samples := make([][]time.Duration, len(variants))
		cpu := make([][]time.Duration, len(variants))
		for range 25 {
			for i, v := range variants {
				d, c, _ := pipeStart(b, v.bin, v.env)
				samples[i] = append(samples[i], d)
				cpu[i] = append(cpu[i], c)
			}
		}
		floorMS := ms(median(samples[0]))
		for i, v := range variants {
			m := ms(median(samples[i]))
			b.ReportMetric(m, v.name+"-ms-median")
			b.ReportMetric(ms(median(cpu[i])), v.name+"-cpu-ms-median")
			if i > 0 {
				b.ReportMetric(m/floorMS, v.name+"-ratio-to-floor")
			}
		}
		_, _, stderr := pipeStart(b, bin, append(variants[1].env, "GODEBUG=gctrace=1"))
		gcs := 0
		for _, l := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(l, "gc ") {
				gcs++
			}
		}
		b.ReportMetric(float64(gcs), "bundle-gcs-before-answer")
	}
}

// pipeStart starts bin, writes initialize, notifications/initialized and
// tools/list on its stdin, and returns the time until the tools/list answer
// was read, the CPU time (user and system) of the process's whole life
// (both images of a re-execution; stdin is closed after the answer), and
// what it wrote on stderr.
func pipeStart(b *testing.B, bin string, env []string) (took, cpu time.Duration, stderrText string) {
	b.Helper()
	cmd := exec.Command(bin)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	const lines = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
`
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if _, err := io.WriteString(stdin, lines); err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			b.Fatalf("%s: no tools/list answer: %v\nstderr: %s", bin, err, stderr.String())
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Result *struct {
				Tools []json.RawMessage `json:"tools"`
			} `json:"result"`
		}
		if json.Unmarshal(line, &msg) == nil && string(msg.ID) == "2" {
			took = time.Since(start)
			if msg.Result == nil || len(msg.Result.Tools) == 0 {
				b.Fatalf("%s: tools/list answered %s", bin, line)
			}
			break
		}
	}
	stdin.Close()
	_, _ = io.Copy(io.Discard, r)
	_ = cmd.Wait()
	return took, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), stderr.String()
}

// buildFloor builds testdata/floor, the one-tool go-sdk server.
func buildFloor(b *testing.B) string { return buildTestdata(b, "floor") }

// buildTestdata builds the command testdata/name, static and stripped as
// the releases (and the binary under test) are, and returns its path.
func buildTestdata(b *testing.B, name string) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), name)
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/"+name)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build testdata/%s: %v\n%s", name, err, out)
	}
	return bin
}

// benchCAPEM is a CA certificate, as VCENTER_CA_BUNDLE holds.
func benchCAPEM(b *testing.B) []byte {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(fmt.Errorf("CA: %w", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
