package state

import (
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
)

// The cost a shared store adds to a call, on a real redis-server on
// loopback (skipped without one): the bucket's script on every tool call,
// the nonce's SET NX and script on a confirmation asked and answered. Run:
//
//	go test ./state -run '^$' -bench . -benchtime 2000x
func realRedis(b *testing.B) string {
	b.Helper()
	return "127.0.0.1:" + strconv.Itoa(startRedisServer(b, false))
}

// startRedisServer starts redis-server on a free loopback port with extra
// arguments, stopped when the test ends; tls says the port is the TLS one.
// Without redis-server the test is skipped (failed under
// VSPHERE_MCP_REQUIRE_REDIS=1, as in CI).
func startRedisServer(tb testing.TB, tls bool, extra ...string) int {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("VSPHERE_MCP_REQUIRE_REDIS") == "1" {
			tb.Fatal("redis-server is not installed and VSPHERE_MCP_REQUIRE_REDIS=1")
		}
		tb.Skip("redis-server is not installed (apt-get install -y redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tb.TempDir()}
	if tls {
		args[1] = "0"
		args = append(args, "--tls-port", strconv.Itoa(port))
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Listening is enough to go on: the tests' own commands report the rest.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			tb.Fatal("redis-server did not listen")
		}
		<-time.After(2 * time.Millisecond)
	}
}

func benchStore(b *testing.B) *Store {
	s, err := Open(Config{URL: "redis://" + realRedis(b) + "/0", DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		Rate: policy.Rate{Enabled: true, RPS: 1e6, Burst: 1e6}, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkBucketTakeRedis(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		if ok, _, err := s.Take("tenant"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkBucketTakeMemory(b *testing.B) {
	l, err := policy.NewLimiter(true, 1e6, 1e6)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, _ := l.Take("tenant"); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkNonceIssueRedeemRedis(b *testing.B) {
	s := benchStore(b)
	exp := time.Now().Add(10 * time.Minute)
	nonce := make([]byte, 16)
	for b.Loop() {
		rand.Read(nonce)
		if err := s.Issued(nonce, exp); err != nil {
			b.Fatal(err)
		}
		if ok, err := s.Redeem(nonce, exp); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkBucketTakeRedisParallel(b *testing.B) {
	s := benchStore(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := s.Take("tenant"); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}
