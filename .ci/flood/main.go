// Command flood measures the resident memory of `vsphere-mcp-pro --simulate
// serve --http` under the floods of RELIABILITY.md: connections that announce
// a body and never send it, and initialize calls from one token. It reads
// VmRSS from /proc (Linux). Usage:
//
//	go build -o /tmp/vsphere-mcp-pro . && go run ./.ci/flood /tmp/vsphere-mcp-pro conns|sessions
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const token = "flood-token-0123456789abcdef"

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: flood BINARY conns|sessions")
		os.Exit(2)
	}
	bin, mode := os.Args[1], os.Args[2]
	dir, err := os.MkdirTemp("", "flood")
	check(err)
	defer os.RemoveAll(dir)
	port := freePort()
	cmd := exec.Command(bin, "--simulate", "serve", "--http")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SERVER_HOST=127.0.0.1", "SERVER_PORT=" + port,
		`TOKENS_TO_ROLES={"` + token + `":"read"}`, "AUDIT_LOG_PATH=" + filepath.Join(dir, "audit.jsonl"), "RATE_LIMIT=false"}
	log, err := os.Create(filepath.Join(dir, "server.log"))
	check(err)
	cmd.Stderr = log
	check(cmd.Start())
	defer cmd.Process.Kill()
	base := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			break
		}
		if i == 200 {
			check(fmt.Errorf("the server did not start"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	pid := cmd.Process.Pid
	fmt.Println("idle:", rss(pid))
	switch mode {
	case "conns":
		for round := 1; round <= 2; round++ {
			var conns []net.Conn
			for range 2000 {
				c, err := net.Dial("tcp", "127.0.0.1:"+port)
				check(err)
				fmt.Fprint(c, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
				conns = append(conns, c)
			}
			time.Sleep(3 * time.Second)
			fmt.Printf("round %d: 2000 connections that announce 1000 bytes and send 1: %s\n", round, rss(pid))
			time.Sleep(32 * time.Second) // past SERVER_READ_TIMEOUT_S (30)
			answered := 0
			for _, c := range conns {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
				if b, _ := io.ReadAll(c); len(b) > 0 {
					answered++
				}
				c.Close()
			}
			fmt.Printf("round %d: 35 s later: %s; connections the server answered: %d\n", round, rss(pid), answered)
			time.Sleep(2 * time.Second)
		}
	case "sessions":
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"flood","version":"1"}}}`
		codes := map[int]int{}
		for range 6000 {
			req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			check(err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[resp.StatusCode]++
		}
		time.Sleep(2 * time.Second)
		fmt.Println("after 6000 initialize calls from one token:", rss(pid), "statuses:", codes)
	default:
		check(fmt.Errorf("unknown mode %q", mode))
	}
}

func rss(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	check(err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}
