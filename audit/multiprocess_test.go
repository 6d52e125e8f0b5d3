package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// The child side of TestConcurrentProcesses: when these variables are set, the test
// binary was started by the parent test to append records and exit.
const (
	childPathEnv = "AUDIT_TEST_CHILD_PATH"
	childIDEnv   = "AUDIT_TEST_CHILD_ID"
)

const (
	processes      = 8
	appendsPerProc = 300
)

// TestConcurrentProcesses starts 8 copies of the test binary that append 300 records
// each to one file at the same time; every line must parse, none may be lost, and
// the chain must be intact.
func TestConcurrentProcesses(t *testing.T) {
	if path := os.Getenv(childPathEnv); path != "" {
		appendAsChild(t, path, os.Getenv(childIDEnv))
		return
	}
	if !crossProcessLock {
		t.Skip("no cross-process file lock on this system")
	}
	if testing.Short() {
		t.Skip("starts 8 processes")
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	cmds := make([]*exec.Cmd, processes)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), childPathEnv+"="+path, childIDEnv+"="+strconv.Itoa(i))
		cmds[i] = cmd
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child %d: %v", i, err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := make(map[string]bool)
	headers := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var line struct {
			AuditHeader int    `json:"audit_header"`
			RequestID   string `json:"request_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d does not parse: %v: %q", n, err, sc.Text())
		}
		if line.AuditHeader != 0 {
			headers++
			continue
		}
		if seen[line.RequestID] {
			t.Errorf("line %d repeats request %s", n, line.RequestID)
		}
		seen[line.RequestID] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if headers != 1 || len(seen) != processes*appendsPerProc {
		t.Errorf("file has %d headers and %d distinct records, want 1 and %d", headers, len(seen), processes*appendsPerProc)
	}
	rep := assertIntact(t, path, processes*appendsPerProc+1)
	t.Logf("%d lines, intact %v, last hash %s", rep.Lines, rep.Intact, rep.LastHash)
}

func appendAsChild(t *testing.T, path, id string) {
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range appendsPerProc {
		r := sampleRecord()
		r.RequestID = fmt.Sprintf("%s-%d", id, i)
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
}
