package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// These tests drive the built binary over stdio with the pipes a client
// gives it, broken the ways clients break them.

const (
	lineInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"pipes","version":"1"}}}`
	lineCall = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_vm_details","arguments":{"vm_id":"vm-70"}}}`
)

// TestBinarySurvivesClosedStderr: a client that stops reading stderr (the
// pipe's read end closed) used to kill the server with SIGPIPE at its first
// log line, leaving its vCenter session open. The server must answer, keep
// serving across a bad line, and log out of vCenter when stdin ends.
func TestBinarySurvivesClosedStderr(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGPIPE is Unix")
	}
	bin := builtBinary(t)
	sim, env := simEnv(t, vcentersim.Options{}, "LOG_LEVEL=debug")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody reads stderr
	cmd := exec.Command(bin)
	cmd.Env = baseEnv(t, env...)
	cmd.Stderr = w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	out := bufio.NewReader(stdout)
	next := func() map[string]any {
		t.Helper()
		line, err := out.ReadBytes('\n')
		if err != nil {
			t.Fatalf("stdout ended: %v (the server died: %v)", err, cmd.Wait())
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("stdout line %q", line)
		}
		return m
	}
	if _, err := io.WriteString(stdin, lineInit+"\n"); err != nil {
		t.Fatal(err)
	}
	if m := next(); m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	if _, err := io.WriteString(stdin, "garbage\n"+lineCall+"\n"); err != nil {
		t.Fatal(err)
	}
	if m := next(); m["error"] == nil || m["id"] != nil {
		t.Errorf("garbage: %v", m)
	}
	if m := next(); m["id"] != 2.0 || m["result"] == nil || m["result"].(map[string]any)["isError"] == true {
		t.Fatalf("tool call: %v", m)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want 0", err)
	}
	if c := sim.Counters(); c.Logins["api"] != 1 || c.Logouts["api"] != 1 || sim.ActiveSessions() != 0 {
		t.Errorf("logins %d, logouts %d, sessions left %d; want 1, 1, 0 (counters %+v)", c.Logins["api"], c.Logouts["api"], sim.ActiveSessions(), c)
	}
}

// TestBinaryExitsNonZeroOnAProtocolFailure: the SDK's transport ended the
// session on the first unparsable line and the process exited 0, as if all
// was well. Now a bad line is answered and the server goes on; the process
// ends 0 when stdin ends, and 1, saying why, when the session failed (here:
// the client stopped reading stdout).
func TestBinaryExitsNonZeroOnAProtocolFailure(t *testing.T) {
	bin := builtBinary(t)
	t.Run("bad lines, then the end of stdin", func(t *testing.T) {
		cmd := exec.Command(bin, "--simulate")
		cmd.Env = baseEnv(t)
		cmd.Stdin = strings.NewReader("garbage\n{\nnull\n[]\n\xef\xbb\xbf{}\n" + `{"jsonrpc":"1.0","id":9,"method":"ping"}` + "\n" + lineInit + "\n" + lineCall + "\n")
		var stderr recorder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 8 {
			t.Fatalf("%d answers, want 8:\n%s", len(lines), b)
		}
		if !strings.Contains(string(b), `"id":2,"result"`) {
			t.Errorf("the tool call after six bad lines was not answered:\n%s", b)
		}
		if n := strings.Count(stderr.String(), `"decision":"invalid_request"`); n != 6 {
			t.Errorf("%d invalid_request audit lines, want 6", n)
		}
	})
	t.Run("stdout closed", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("closing a pipe's read end is tested on Unix")
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		cmd := exec.Command(bin, "--simulate")
		cmd.Env = baseEnv(t)
		cmd.Stdin = strings.NewReader(lineInit + "\n")
		cmd.Stdout = w
		var stderr recorder
		cmd.Stderr = &stderr
		err = cmd.Run()
		w.Close()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitFailed {
			t.Fatalf("exit: %v, want code 1\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "the MCP session on stdio failed: write stdout") {
			t.Errorf("stderr does not say why:\n%s", stderr.String())
		}
	})
}
