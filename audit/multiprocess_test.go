package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	rotProgress     = 25  // a child reports on stderr after this many appends
	rotIdle         = "idle"
)

// TestConcurrentProcessesWithRotation starts 3 copies of the test binary that
// append (and begin and finish calls) to one file while the parent renames it
// away again and again, as a log rotator would, each time 4 more progress
// reports have come in: nothing sleeps, and the rotations fall between
// appends of running processes. A child waits for the parent to take in each
// of its reports before it goes on, so that a rotation always follows
// appends made since the one before: 12 rotations each run, whatever the
// scheduling.
//
// A fourth process is a mostly idle server sharing the file with busier
// ones: it begins and finishes one call before the first rotation, then one
// after every second rotation, each time holding a file two generations old;
// its last call comes after the last rotation, when no file stands at the
// path. Before the chain head, it linked each new file it started to its own
// stale file, and so did a busy process idle across two rotations by chance.
//
// The rotated files and the current one must verify as one chain, every
// record must be in exactly one place, and no begun call may lack its
// outcome.
func TestConcurrentProcessesWithRotation(t *testing.T) {
	if path := os.Getenv(rotChildPathEnv); path != "" {
		if id := os.Getenv(rotChildIDEnv); id == rotIdle {
			idleRotatingChild(t, path)
		} else {
			appendRotatingChild(t, path, id)
		}
		return
	}
	if !crossProcessLock {
		t.Skip("no cross-process file lock on this system")
	}
	if testing.Short() {
		t.Skip("starts 4 processes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	start := func(id string) (cmd *exec.Cmd, in io.WriteCloser, out *bufio.Scanner, said *bytes.Buffer) {
		cmd = exec.Command(os.Args[0], "-test.run=^TestConcurrentProcessesWithRotation$", "-test.count=1")
		cmd.Env = append(os.Environ(), rotChildPathEnv+"="+path, rotChildIDEnv+"="+id)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if in, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		said = new(bytes.Buffer) // the child's stdout, and what it wrote on stderr besides reports
		cmd.Stdout = said
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child %s: %v", id, err)
		}
		return cmd, in, bufio.NewScanner(stderr), said
	}

	idle, idleIn, idleOut, idleSaid := start(rotIdle)
	if !idleOut.Scan() || idleOut.Text() != "ready" {
		idleIn.Close()
		err := idle.Wait()
		t.Fatalf("the idle child did not get ready: %q, %v\n%s", idleOut.Text(), err, idleSaid)
	}
	idleDone := make(chan []byte)
	go func() {
		var rest bytes.Buffer
		for idleOut.Scan() {
			fmt.Fprintln(&rest, idleOut.Text())
		}
		idleDone <- rest.Bytes()
	}()

	progress := make(chan int) // the child that reported
	var readers sync.WaitGroup
	cmds := make([]*exec.Cmd, rotProcesses)
	acks := make([]io.WriteCloser, rotProcesses)
	said := make([]*bytes.Buffer, rotProcesses)
	errs := make([]strings.Builder, rotProcesses)
	for i := range cmds {
		var out *bufio.Scanner
		cmds[i], acks[i], out, said[i] = start(strconv.Itoa(i))
		readers.Go(func() {
			for out.Scan() {
				if out.Text() == "progress" {
					progress <- i
				} else {
					fmt.Fprintln(&errs[i], out.Text())
				}
			}
		})
	}
	go func() { readers.Wait(); close(progress) }()
	var rotated []string
	reports, idleCalls := 0, 1
	for i := range progress {
		reports++
		if reports%4 == 0 {
			next := fmt.Sprintf("%s.%d", path, len(rotated)+1)
			if err := os.Rename(path, next); err != nil {
				t.Errorf("rotation %d: %v", len(rotated)+1, err)
			} else {
				rotated = append(rotated, next)
			}
			if len(rotated)%2 == 0 {
				fmt.Fprintln(idleIn) // one call, racing the busy children for the new file
				idleCalls++
			}
		}
		fmt.Fprintln(acks[i]) // a child that has exited gets EPIPE, which nobody needs to see
	}
	for i, cmd := range cmds {
		acks[i].Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s%s", i, err, &errs[i], said[i])
		}
	}
	idleIn.Close()
	rest := <-idleDone
	if err := idle.Wait(); err != nil {
		t.Errorf("idle child: %v\n%s%s", err, rest, idleSaid)
	}
	if want := rotProcesses * rotAppends / rotProgress / 4; len(rotated) != want {
		t.Errorf("%d rotations happened, want %d", len(rotated), want)
	}
	files := rotated
	if _, err := os.Stat(path); err == nil { // the idle child's last call started it
		files = append(files, path)
	} else {
		t.Errorf("no file at the path after the idle child's last call: %v", err)
	}
	rep, err := VerifyFiles(files, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pairs := rotAppends / 4
	wantRecords := rotProcesses*(rotAppends+pairs) + 2*idleCalls
	seen := map[string]int{}
	written := 0 // files with lines: one renamed between its creation and its first write is empty
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		written += btoi(len(data) > 0)
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
	if !rep.OK() || len(rep.Problems) != 0 || rep.Records != wantRecords || rep.Lines != wantRecords+written {
		t.Errorf("VerifyFiles(%d files): %d lines, %d records, problems %v; want %d records, one header per file written, no problem",
			len(files), rep.Lines, rep.Records, rep.Problems, wantRecords)
	}
	for id, n := range seen {
		if want := 1 + btoi(strings.HasSuffix(id, "-pair")); n != want {
			t.Errorf("request %s has %d lines, want %d", id, n, want)
		}
	}
	if want := rotProcesses*rotAppends + idleCalls; len(seen) != want {
		t.Errorf("%d distinct requests, want %d", len(seen), want)
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
	acks := bufio.NewScanner(os.Stdin)
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
			if !acks.Scan() {
				t.Fatal("the parent closed stdin before taking in a report")
			}
		}
	}
}

// idleRotatingChild begins and finishes a call, says "ready" on stderr, then
// does so again for each line on stdin until it is closed.
func idleRotatingChild(t *testing.T, path string) {
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.sync = func(*os.File) error { return nil }
	in := bufio.NewScanner(os.Stdin)
	for n := 0; ; n++ {
		r := sampleRecord()
		r.RequestID = fmt.Sprintf("%s-%d-pair", rotIdle, n)
		p, err := l.Begin(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Finish(r); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			fmt.Fprintln(os.Stderr, "ready")
		}
		if !in.Scan() {
			return
		}
	}
}
