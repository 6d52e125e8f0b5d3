package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// The child side of TestConcurrentProcessesWithRotation.
const (
	rotChildPathEnv = "AUDIT_TEST_ROTATION_CHILD_PATH"
	rotChildIDEnv   = "AUDIT_TEST_ROTATION_CHILD_ID"
	rotProcesses    = 3
	rotAppends      = 400 // per process; every 4th is a Begin and Finish pair
	rotProgress     = 25  // a child reports on stdout after this many appends
)

// TestConcurrentProcessesWithRotation starts 3 copies of the test binary that
// append (and begin and finish calls) to one file while the parent renames it
// away again and again, as a log rotator would, each time a few more
// progress reports have come in: nothing sleeps, and the rotations fall
// between appends of running processes. The rotated files and the current
// one must verify as one chain, every record must be in exactly one place,
// and no begun call may lack its outcome.
func TestConcurrentProcessesWithRotation(t *testing.T) {
	if path := os.Getenv(rotChildPathEnv); path != "" {
		appendRotatingChild(t, path, os.Getenv(rotChildIDEnv))
		return
	}
	if !crossProcessLock {
		t.Skip("no cross-process file lock on this system")
	}
	if testing.Short() {
		t.Skip("starts 3 processes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	progress := make(chan struct{})
	var readers sync.WaitGroup
	cmds := make([]*exec.Cmd, rotProcesses)
	said := make([]strings.Builder, rotProcesses) // what each child wrote on stderr besides progress
	outs := make([]bytes.Buffer, rotProcesses)    // and on stdout
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentProcessesWithRotation$", "-test.count=1")
		cmd.Env = append(os.Environ(), rotChildPathEnv+"="+path, rotChildIDEnv+"="+strconv.Itoa(i))
		out, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = &outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child %d: %v", i, err)
		}
		cmds[i] = cmd
		readers.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == "progress" {
					progress <- struct{}{}
				} else {
					fmt.Fprintln(&said[i], sc.Text())
				}
			}
		})
	}
	go func() { readers.Wait(); close(progress) }()
	var rotated []string
	reports := 0
	for range progress {
		reports++
		if reports%4 != 0 {
			continue
		}
		next := fmt.Sprintf("%s.%d", path, len(rotated)+1)
		if err := os.Rename(path, next); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // nobody has written since the last rotation
			}
			t.Fatal(err)
		}
		rotated = append(rotated, next)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s%s", i, err, said[i].String(), outs[i].String())
		}
	}
	if len(rotated) < 5 {
		t.Fatalf("only %d rotations happened", len(rotated))
	}
	files := rotated
	if _, err := os.Stat(path); err == nil { // the last rotation may have come after the last append
		files = append(files, path)
	}
	rep, err := VerifyFiles(files, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pairs := rotAppends / 4
	wantRecords := rotProcesses * (rotAppends + pairs)
	if !rep.OK() || len(rep.Problems) != 0 || rep.Records != wantRecords || rep.Lines != wantRecords+len(files) {
		t.Errorf("VerifyFiles(%d files): %d lines, %d records, problems %v; want %d records, one header per file, no problem",
			len(files), rep.Lines, rep.Records, rep.Problems, wantRecords)
	}
	seen := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var line struct {
				AuditHeader int    `json:"audit_header"`
				RequestID   string `json:"request_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("%s: a line does not parse: %q", f, sc.Text())
			}
			if line.AuditHeader == 0 {
				seen[line.RequestID]++
			}
		}
	}
	for id, n := range seen {
		if want := 1 + btoi(strings.HasSuffix(id, "-pair")); n != want {
			t.Errorf("request %s has %d lines, want %d", id, n, want)
		}
	}
	if len(seen) != rotProcesses*rotAppends {
		t.Errorf("%d distinct requests, want %d", len(seen), rotProcesses*rotAppends)
	}
	t.Logf("%d files, %d lines, %d records, last hash %s", len(files), rep.Lines, rep.Records, rep.LastHash)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func appendRotatingChild(t *testing.T, path, id string) {
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.sync = func(*os.File) error { return nil } // the interleaving is under test, not the disk
	for i := range rotAppends {
		r := sampleRecord()
		r.RequestID = fmt.Sprintf("%s-%d", id, i)
		if i%4 == 3 {
			r.RequestID += "-pair"
			p, err := l.Begin(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Finish(r); err != nil {
				t.Fatal(err)
			}
		} else if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
		if (i+1)%rotProgress == 0 {
			fmt.Fprintln(os.Stderr, "progress") // the parent reads the child's stderr

		}
	}
}
