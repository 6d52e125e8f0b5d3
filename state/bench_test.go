package state

import (
	"context"
	"crypto/rand"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := "127.0.0.1:" + port
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			b.Fatal("redis-server did not answer")
		}
		<-time.After(2 * time.Millisecond)
	}
	return addr
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
