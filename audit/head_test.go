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
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// openLog opens the audit file at path with opts for a test, and closes it
// at the end.
func openLog(t *testing.T, path string, opts ...Option) *Log {
	t.Helper()
	l, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendN appends a record with each request id through l.
func appendN(t *testing.T, l *Log, ids ...string) {
	t.Helper()
	for _, id := range ids {
		r := sampleRecord()
		r.RequestID = id
		if err := l.Append(r); err != nil {
			t.Fatalf("append %s: %v", id, err)
		}
	}
}

// rotate renames the file at path to path.N, N the next free number, as a
// log rotator does, and returns the new name.
func rotate(t *testing.T, path string) string {
	t.Helper()
	for n := 1; ; n++ {
		next := fmt.Sprintf("%s.%d", path, n)
		if _, err := os.Lstat(next); err == nil {
			continue
		}
		if err := os.Rename(path, next); err != nil {
			t.Fatal(err)
		}
		return next
	}
}

// headerOf returns the header that starts the file at path.
func headerOf(t *testing.T, path string) header {
	t.Helper()
	var h header
	if err := json.Unmarshal([]byte(readLines(t, path)[0]), &h); err != nil {
		t.Fatalf("%s: first line: %v", path, err)
	}
	return h
}

// verifySet verifies files together and fails unless they are one intact
// chain with no problem and records records.
func verifySet(t *testing.T, key []byte, records int, files ...string) {
	t.Helper()
	rep, err := VerifyFiles(files, VerifyOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Problems) != 0 || rep.Records != records {
		t.Errorf("VerifyFiles(%d files): OK %v, %d records, problems %v; want %d records, no problem",
			len(files), rep.OK(), rep.Records, rep.Problems, records)
	}
}

// TestIdleWriterAcrossTwoRotations is the interleaving that broke the chain
// across rotated files: writer A appends, then sits idle while B appends
// across two rotations; A's next write finds no file at the path and starts
// one. A holds the first file, and before the chain head it linked the new
// file to that file's last line, not to the last line written (in the second
// file, which A never saw): VerifyFiles reported the third file's header
// "reordered". A call A began before the rotations and finished after them is
// part of the check.
func TestIdleWriterAcrossTwoRotations(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		t.Run(fmt.Sprintf("keyed=%v", key != nil), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			var opts []Option
			if key != nil {
				opts = append(opts, WithKey(key))
			}
			a, b := openLog(t, path, opts...), openLog(t, path, opts...)
			appendN(t, a, "a1")
			p, err := a.Begin(sampleRecord())
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, b, "b1")
			first := rotate(t, path)
			appendN(t, b, "b2", "b3")
			second := rotate(t, path)
			if err := p.Finish(sampleRecord()); err != nil { // A, idle since before both rotations
				t.Fatal(err)
			}
			appendN(t, a, "a2")
			appendN(t, b, "b4")
			if h := headerOf(t, path); h.Reason != reasonRotated {
				t.Errorf("the third file's header has reason %q, want %q", h.Reason, reasonRotated)
			}
			verifySet(t, key, 8, first, second, path)
		})
	}
}

// TestWriterStartedAfterRotation: a process that opens the log after a
// rotation, while no file stands at the path, creates it; before the chain
// head it started a new chain there, which VerifyFiles reported as
// "restarted" after the rotated file.
func TestWriterStartedAfterRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a := openLog(t, path)
	appendN(t, a, "a1", "a2")
	a.Close()
	old := rotate(t, path)
	c := openLog(t, path)
	appendN(t, c, "c1")
	if h := headerOf(t, path); h.Reason != reasonRotated || h.Seq != 3 {
		t.Errorf("header of the new file: %+v, want reason %q continuing seq 2", h, reasonRotated)
	}
	verifySet(t, nil, 3, old, path)
}

// TestFailedWriteLeavesNoStaleContinuation: a writer finds its file renamed
// away, and its write fails (a directory stands at the path); it keeps where
// its old file ended. Another writer then writes a new file, which is
// rotated in turn. When the first writer's path is free again, the new file
// it starts continues the last line written, not the end of the file it
// held before its failure.
func TestFailedWriteLeavesNoStaleContinuation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, b := openLog(t, path), openLog(t, path)
	appendN(t, a, "a1")
	first := rotate(t, path)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(sampleRecord()); err == nil {
		t.Fatal("Append with a directory at the path succeeded")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendN(t, b, "b1", "b2")
	second := rotate(t, path)
	appendN(t, a, "a2")
	verifySet(t, nil, 4, first, second, path)
}

// TestCopytruncateContinuesTheChain: a file emptied in place (logrotate's
// copytruncate) continues the chain, since the head names the last line
// written: the copy and the emptied file verify together when no line was
// written between the copy and the truncation, and when one was, VerifyFiles
// says that a line is missing. Before the chain head, the emptied file
// started a new chain, which could not be tied to the copy.
func TestCopytruncateContinuesTheChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, b := openLog(t, path), openLog(t, path)
	copyOf := func(n int) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cp := fmt.Sprintf("%s.%d", path, n)
		mustDo(t, os.WriteFile(cp, data, 0o600))
		return cp
	}
	appendN(t, a, "a1")
	appendN(t, b, "b1")
	first := copyOf(1)
	mustDo(t, os.Truncate(path, 0))
	appendN(t, a, "a2")
	if h := headerOf(t, path); h.Reason != reasonRotated || h.Seq != 3 {
		t.Errorf("the emptied file's header: %+v, want reason %q continuing seq 2", h, reasonRotated)
	}
	verifySet(t, nil, 3, first, path)

	second := copyOf(2)
	appendN(t, b, "b2") // after the copy: lost by the truncation
	mustDo(t, os.Truncate(path, 0))
	appendN(t, a, "a3")
	rep, err := VerifyFiles([]string{first, second, path}, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.First == nil || rep.First.Kind != Missing || rep.First.File != path || rep.First.Line != 1 {
		t.Errorf("VerifyFiles with a lost line: first problem %v, want line 1 of %s: missing", rep.First, path)
	}
}

// TestPreviousVersionWriters covers logs shared with (or left by) the
// previous version, which knows no chain head: a Log with noHead writes as
// it did (the same file lock, the same continuation from its own file; only
// the header reason differs, and Verify reads no reason).
func TestPreviousVersionWriters(t *testing.T) {
	t.Run("its log is continued, and the head starts with the first write", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		prev := openLog(t, path)
		prev.noHead = true
		appendN(t, prev, "p1", "p2")
		if _, err := os.Lstat(headPath(path)); err == nil {
			t.Fatal("the previous version's writer made a head")
		}
		n := openLog(t, path)
		appendN(t, n, "n1")
		assertHeadNamesLastLine(t, path, nil)
		old := rotate(t, path)
		appendN(t, prev, "p3") // the previous version follows the rotation as it did
		appendN(t, n, "n2")
		if h := headerOf(t, path); h.Reason != reasonRotatedFromTail {
			t.Errorf("new file after the previous version's rotation: %+v, want reason %q", h, reasonRotatedFromTail)
		}
		verifySet(t, nil, 5, old, path)
	})
	t.Run("a rotation before any write of this version", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		prev := openLog(t, path)
		prev.noHead = true
		n := openLog(t, path) // opened, holding the first file, but has not written
		appendN(t, prev, "p1")
		old := rotate(t, path)
		appendN(t, n, "n1") // no head: the end of the file it holds
		if h := headerOf(t, path); h.Reason != reasonRotatedFromTail || h.Seq != 2 {
			t.Errorf("header: %+v, want reason %q continuing seq 1", h, reasonRotatedFromTail)
		}
		verifySet(t, nil, 2, old, path)
		assertHeadNamesLastLine(t, path, nil)
	})
	t.Run("lines it wrote after the head", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		n := openLog(t, path)
		prev := openLog(t, path)
		prev.noHead = true
		appendN(t, n, "n1")    // the head names n1
		appendN(t, prev, "p1") // written after it, unknown to the head
		old := rotate(t, path)
		appendN(t, n, "n2") // the file it holds ends past the head: that end wins
		if h := headerOf(t, path); h.Reason != reasonRotatedFromTail || h.Seq != 3 {
			t.Errorf("header: %+v, want reason %q continuing seq 2", h, reasonRotatedFromTail)
		}
		verifySet(t, nil, 3, old, path)
	})
	t.Run("idle across two rotations, it still links to its own stale file, and Verify says why", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		prev, n := openLog(t, path), openLog(t, path)
		prev.noHead = true
		appendN(t, prev, "p1")
		first := rotate(t, path)
		appendN(t, n, "n1")
		second := rotate(t, path)
		appendN(t, prev, "p2")
		rep, err := VerifyFiles([]string{first, second, path}, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.First == nil || rep.First.Kind != Reordered || rep.First.File != path || !strings.Contains(rep.First.Detail, "no usable chain head") {
			t.Errorf("VerifyFiles: first problem %v, want the third file reordered, saying its writer had no usable chain head", rep.First)
		}
	})
	t.Run("a process started after a rotation of its log starts a new chain, as before", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		prev := openLog(t, path)
		prev.noHead = true
		appendN(t, prev, "p1")
		old := rotate(t, path)
		appendN(t, openLog(t, path), "n1")
		if h := headerOf(t, path); h.Reason != "" || h.Seq != 0 {
			t.Errorf("header: %+v, want a new chain", h)
		}
		rep, err := VerifyFiles([]string{old, path}, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.First == nil || rep.First.Kind != Restarted || rep.First.File != path {
			t.Errorf("VerifyFiles: first problem %v, want the new file restarted", rep.First)
		}
	})
}

// assertHeadNamesLastLine checks that the chain head beside path names the
// last line of the file at path.
func assertHeadNamesLastLine(t *testing.T, path string, key []byte) {
	t.Helper()
	b, err := os.ReadFile(headPath(path))
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	last := lines[len(lines)-1]
	l, ok := parseLink([]byte(last))
	if !ok {
		t.Fatalf("last line %q", last)
	}
	if want := encodeHead(*l.Seq, lineHash([]byte(last)), key); !bytes.Equal(b, want) {
		t.Errorf("head = %q, want %q", b, want)
	}
}

// TestHeadFile: the head sits beside the log under a name that globs skip,
// mode 0600, holds only the seq and hash of the last line (and a MAC when
// keyed), and is not an audit line.
func TestHeadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l := openLog(t, path, WithKey(testKey))
	appendN(t, l, "1", "2")
	hp := filepath.Join(dir, ".audit.jsonl.head")
	if headPath(path) != hp {
		t.Errorf("headPath = %s, want %s", headPath(path), hp)
	}
	// Shell globs and glob(3), which logrotate uses, skip names that start
	// with a dot unless the pattern does (Go's filepath.Glob does not).
	if base := filepath.Base(headPath(path)); base[0] != '.' {
		t.Errorf("head %s: want a name that starts with a dot", base)
	}
	fi, err := os.Stat(hp)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o600 {
		t.Errorf("head mode %04o, want 0600", perm)
	}
	assertHeadNamesLastLine(t, path, testKey)
	b, _ := os.ReadFile(hp)
	if _, ok := parseLink(bytes.TrimSpace(b)); ok || !bytes.HasPrefix(b, []byte(`{"audit_head":1,"last_seq":2,"last_hash":"`)) || len(b) > headMax {
		t.Errorf("head %q: want {\"audit_head\":1,\"last_seq\":2,…}, no audit line, at most %d bytes", b, headMax)
	}
}

// TestDamagedHead: whatever stands at the head's path, every write goes on,
// no process is stopped, and nothing is overwritten that is not the head. A
// writer that finds its file renamed away continues the end of that file
// (reason rotated_from_tail), and the set verifies; a writer with no file to
// continue starts a new chain (reason head_unusable), which Verify reports.
// A damaged head file is repaired by the next write; one that is not a plain
// file of this user alone is left alone.
func TestDamagedHead(t *testing.T) {
	valid := func(key []byte) []byte { return encodeHead(5, lineHash([]byte("x")), key) }
	otherKey := []byte("another key, also at least thirty-two bytes")
	for _, tt := range []struct {
		name     string
		key      []byte
		damage   func(t *testing.T, hp string) // hp: the head's path
		repaired bool                          // the next write makes it a valid head again
		victim   string                        // a file the damage points the head at: must stay as it is
	}{
		{name: "garbage", damage: writeHead([]byte("\x00\xffnot a head\n")), repaired: true},
		{name: "a mebibyte", damage: writeHead(bytes.Repeat([]byte("{"), 1<<20)), repaired: true},
		{name: "torn", damage: writeHead(valid(nil)[:30]), repaired: true},
		{name: "an extra member", damage: writeHead(append(valid(nil)[:len(valid(nil))-2], `,"x":1}`+"\n"...)), repaired: true},
		{name: "upper-case hash", damage: writeHead(bytes.Replace(valid(nil), []byte(lineHash([]byte("x"))), []byte(strings.ToUpper(lineHash([]byte("x")))), 1)), repaired: true},
		{name: "negative seq", damage: writeHead(encodeHead(-4, lineHash([]byte("x")), nil)), repaired: true},
		{name: "unkeyed under a key", key: testKey, damage: writeHead(valid(nil)), repaired: true},
		{name: "MAC of another key", key: testKey, damage: writeHead(valid(otherKey)), repaired: true},
		{name: "MAC of another head", key: testKey, damage: writeHead(bytes.Replace(encodeHead(6, lineHash([]byte("x")), testKey), []byte(`"last_seq":6`), []byte(`"last_seq":5`), 1)), repaired: true},
		{name: "a directory", damage: func(t *testing.T, hp string) { replaceHead(t, hp); mustDo(t, os.Mkdir(hp, 0o700)) }},
		{name: "group-readable", damage: func(t *testing.T, hp string) {
			if runtime.GOOS == "windows" {
				t.Skip("no mode bits on Windows")
			}
			replaceHead(t, hp)
			mustDo(t, os.WriteFile(hp, valid(nil), 0o600))
			mustDo(t, os.Chmod(hp, 0o640))
		}},
		{name: "a symbolic link", victim: "victim", damage: func(t *testing.T, hp string) {
			replaceHead(t, hp)
			victim := filepath.Join(filepath.Dir(hp), "victim")
			mustDo(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
			if err := os.Symlink(victim, hp); err != nil {
				t.Skipf("symlink: %v", err)
			}
		}},
		{name: "a hard link", victim: "victim", damage: func(t *testing.T, hp string) {
			if runtime.GOOS == "windows" {
				t.Skip("link counts are not read on Windows")
			}
			replaceHead(t, hp)
			victim := filepath.Join(filepath.Dir(hp), "victim")
			mustDo(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
			mustDo(t, os.Link(victim, hp))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.key != nil {
				opts = append(opts, WithKey(tt.key))
			}
			for _, withOld := range []bool{true, false} {
				dir := t.TempDir()
				path := filepath.Join(dir, "audit.jsonl")
				hp := headPath(path)
				a := openLog(t, path, opts...)
				appendN(t, a, "a1", "a2")
				tt.damage(t, hp)
				old := rotate(t, path)
				w := a
				if !withOld {
					w = openLog(t, path, opts...)
				}
				appendN(t, w, "w1", "w2")
				h := headerOf(t, path)
				if withOld {
					if h.Reason != reasonRotatedFromTail || h.Seq != 3 {
						t.Errorf("with the old file: header %+v, want reason %q continuing seq 2", h, reasonRotatedFromTail)
					}
					verifySet(t, tt.key, 4, old, path)
				} else {
					if h.Reason != reasonHeadUnusable || h.Seq != 0 {
						t.Errorf("without an old file: header %+v, want a new chain with reason %q", h, reasonHeadUnusable)
					}
					rep, err := VerifyFiles([]string{old, path}, VerifyOptions{Key: tt.key})
					if err != nil {
						t.Fatal(err)
					}
					if rep.First == nil || rep.First.Kind != Restarted || !strings.Contains(rep.First.Detail, "chain head") {
						t.Errorf("VerifyFiles: first problem %v, want a restart that names the chain head", rep.First)
					}
				}
				if tt.repaired {
					assertHeadNamesLastLine(t, path, tt.key)
				}
				if tt.victim != "" {
					if b, _ := os.ReadFile(filepath.Join(dir, tt.victim)); string(b) != "precious\n" {
						t.Errorf("the file the head pointed at now holds %q", b)
					}
				}
			}
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeHead overwrites the head file in place with b.
func writeHead(b []byte) func(*testing.T, string) {
	return func(t *testing.T, hp string) {
		mustDo(t, os.WriteFile(hp, b, 0o600))
	}
}

// replaceHead removes the head file, so that another can take its name.
func replaceHead(t *testing.T, hp string) {
	mustDo(t, os.Remove(hp))
}

// TestHeadRemoved: the head file removed while a writer has it open is
// made again; the next rotation falls back to the end of the old file, and
// the one after that uses the new head.
func TestHeadRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, b := openLog(t, path), openLog(t, path)
	appendN(t, a, "a1")
	mustDo(t, os.Remove(headPath(path)))
	first := rotate(t, path)
	appendN(t, a, "a2")
	if h := headerOf(t, path); h.Reason != reasonRotatedFromTail {
		t.Errorf("after the head was removed: header %+v, want reason %q", h, reasonRotatedFromTail)
	}
	assertHeadNamesLastLine(t, path, nil)
	second := rotate(t, path)
	appendN(t, b, "b1") // b holds the first file, two rotations old
	if h := headerOf(t, path); h.Reason != reasonRotated {
		t.Errorf("with the head back: header %+v, want reason %q", h, reasonRotated)
	}
	verifySet(t, nil, 3, first, second, path)
}

// TestRewoundHead: a head set back to an earlier line (a copy restored, or
// written by someone who can write the directory; keyed, its MAC is then
// genuine) loses to the end of the file a writer holds. A writer with no
// file to compare follows it, and VerifyFiles shows the break: the head is a
// pointer, not a record (see the package comment).
func TestRewoundHead(t *testing.T) {
	for _, key := range [][]byte{nil, testKey} {
		for _, withOld := range []bool{true, false} {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			var opts []Option
			if key != nil {
				opts = append(opts, WithKey(key))
			}
			a := openLog(t, path, opts...)
			appendN(t, a, "a1")
			saved, err := os.ReadFile(headPath(path))
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, a, "a2", "a3")
			mustDo(t, os.WriteFile(headPath(path), saved, 0o600))
			first := rotate(t, path)
			if withOld {
				appendN(t, a, "a4")
				if h := headerOf(t, path); h.Reason != reasonRotatedFromTail || h.Seq != 4 {
					t.Errorf("keyed=%v: header %+v, want reason %q continuing seq 3", key != nil, h, reasonRotatedFromTail)
				}
				verifySet(t, key, 4, first, path)
				continue
			}
			appendN(t, openLog(t, path, opts...), "c1")
			rep, err := VerifyFiles([]string{first, path}, VerifyOptions{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			if rep.First == nil || rep.First.Kind != Reordered || rep.First.File != path || rep.First.Line != 1 {
				t.Errorf("keyed=%v, no old file: first problem %v, want line 1 of the new file reordered", key != nil, rep.First)
			}
		}
	}
}

// TestIdleProcessAcrossRotations drives three processes step by step over
// their standard input (no sleeps, no races left to chance): A and B append,
// the file is renamed, B appends, it is renamed again, and A, idle since
// before both rotations, appends; after a third rotation, a process C starts
// while no file stands at the path. Before the chain head, A linked the
// third file to the first one ("reordered") and C started a new chain
// ("restarted").
func TestIdleProcessAcrossRotations(t *testing.T) {
	if path := os.Getenv(stepChildPathEnv); path != "" {
		stepChild(t, path)
		return
	}
	if !crossProcessLock {
		t.Skip("no cross-process file lock on this system")
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, b := startStepChild(t, path), startStepChild(t, path)
	a.do(t, "append a1")
	b.do(t, "append b1")
	first := rotate(t, path)
	b.do(t, "append b2")
	second := rotate(t, path)
	a.do(t, "begin a2") // A holds the first file
	third := rotate(t, path)
	c := startStepChild(t, path)
	c.do(t, "append c1")
	a.do(t, "finish a2")
	b.do(t, "append b3")
	for _, ch := range []*stepProc{a, b, c} {
		ch.exit(t)
	}
	for _, f := range []string{second, third, path} {
		if h := headerOf(t, f); h.Reason != reasonRotated {
			t.Errorf("%s: header %+v, want reason %q", f, h, reasonRotated)
		}
	}
	verifySet(t, nil, 7, first, second, third, path)
}

const stepChildPathEnv = "AUDIT_TEST_STEP_CHILD_PATH"

// stepProc is a child process that opens the log and runs one command per
// line of its stdin, answering "ok" (or the error) on stderr.
type stepProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	said bytes.Buffer
}

func startStepChild(t *testing.T, path string) *stepProc {
	t.Helper()
	p := &stepProc{cmd: exec.Command(os.Args[0], "-test.run=^TestIdleProcessAcrossRotations$", "-test.count=1")}
	p.cmd.Env = append(os.Environ(), stepChildPathEnv+"="+path)
	p.cmd.Stdout = &p.said
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewScanner(stderr)
	t.Cleanup(func() {
		p.in.Close()
		_ = p.cmd.Wait() // after exit, or a failed test: its error is reported there
	})
	p.do(t, "open")
	return p
}

// do runs one command in the child and waits until it is done.
func (p *stepProc) do(t *testing.T, command string) {
	t.Helper()
	fmt.Fprintln(p.in, command)
	if !p.out.Scan() || p.out.Text() != "ok" {
		t.Fatalf("%s: %q\n%s", command, p.out.Text(), &p.said)
	}
}

func (p *stepProc) exit(t *testing.T) {
	t.Helper()
	p.in.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("child: %v\n%s", err, &p.said)
	}
}

func stepChild(t *testing.T, path string) {
	var l *Log
	pending := map[string]*Pending{}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		verb, id, _ := strings.Cut(in.Text(), " ")
		r := sampleRecord()
		r.RequestID = id
		var err error
		switch verb {
		case "open":
			l, err = Open(path)
		case "append":
			err = l.Append(r)
		case "begin":
			pending[id], err = l.Begin(r)
		case "finish":
			err = pending[id].Finish(r)
		default:
			err = fmt.Errorf("unknown command %q", verb)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			t.Fatal(err)
		}
		fmt.Fprintln(os.Stderr, "ok")
	}
	if l != nil {
		l.Close()
	}
}

// TestParseHead: only the exact bytes encodeHead writes are a head; a keyed
// writer requires the MAC under its key, and an unkeyed one takes a keyed
// head as it is.
func TestParseHead(t *testing.T) {
	hash := lineHash([]byte("a line"))
	want := chainState{prev: hash, seq: 8, sameKey: true}
	for _, tt := range []struct {
		name string
		b    []byte
		key  []byte
		ok   bool
	}{
		{name: "unkeyed", b: encodeHead(7, hash, nil), ok: true},
		{name: "keyed", b: encodeHead(7, hash, testKey), key: testKey, ok: true},
		{name: "keyed, read without the key", b: encodeHead(7, hash, testKey), ok: true},
		{name: "unkeyed, read with a key", b: encodeHead(7, hash, nil), key: testKey},
		{name: "without its newline", b: bytes.TrimSuffix(encodeHead(7, hash, nil), []byte("\n"))},
		{name: "spaces", b: []byte(`{"audit_head":1, "last_seq":7,"last_hash":"` + hash + `"}` + "\n")},
		{name: "another version", b: []byte(`{"audit_head":2,"last_seq":7,"last_hash":"` + hash + `"}` + "\n")},
		{name: "short hash", b: encodeHead(7, hash[:62], nil)},
		{name: "largest seq", b: encodeHead(1<<63-1, hash, nil)},
		{name: "seq as a string", b: []byte(`{"audit_head":1,"last_seq":"7","last_hash":"` + hash + `"}` + "\n")},
		{name: "empty", b: nil},
	} {
		got, ok := parseHead(tt.b, tt.key)
		if ok != tt.ok || ok && got != want {
			t.Errorf("%s: parseHead(%q) = %+v, %v; want ok %v", tt.name, tt.b, got, ok, tt.ok)
		}
	}
}

// TestStartChain pins the rule of the first line of an empty file.
func TestStartChain(t *testing.T) {
	head := chainState{prev: "h", seq: 10, sameKey: true}
	behind := chainState{prev: "o", seq: 12}
	same := chainState{prev: "h", seq: 10}
	older := chainState{prev: "o", seq: 6}
	type result struct {
		At     chainState
		Reason string
		Fresh  bool
	}
	for _, tt := range []struct {
		name   string
		status headStatus
		old    *chainState
		want   result
	}{
		{"head, no old file", headOK, nil, result{head, reasonRotated, false}},
		{"head ahead of the old file", headOK, &older, result{head, reasonRotated, false}},
		{"head at the old file's end", headOK, &same, result{head, reasonRotated, false}},
		{"head behind the old file", headOK, &behind, result{behind, reasonRotatedFromTail, false}},
		{"no head, an old file", headAbsent, &older, result{older, reasonRotatedFromTail, false}},
		{"unusable head, an old file", headUnusable, &older, result{older, reasonRotatedFromTail, false}},
		{"no head, no old file: a new log", headAbsent, nil, result{chainState{}, "", true}},
		{"unusable head, no old file", headUnusable, nil, result{chainState{}, reasonHeadUnusable, true}},
	} {
		at, reason, fresh := startChain(head, tt.status, tt.old)
		if diff := cmp.Diff(tt.want, result{at, reason, fresh}, cmp.AllowUnexported(chainState{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestOwnLastLineIsChecked: a writer skips reading the file's last line when
// it is still the one it wrote, which it knows by the file's size and the
// chain head's bytes. A line of another writer of the previous version
// changes the size; a line of the same size in its place (the file emptied
// and refilled by another writer of this version) changes the head. Either
// way the next line links to the line really last.
func TestOwnLastLineIsChecked(t *testing.T) {
	t.Run("a line appended by the previous version", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		a, prev := openLog(t, path), openLog(t, path)
		prev.noHead = true
		appendN(t, a, "a1")
		appendN(t, prev, "p1")
		appendN(t, a, "a2")
		assertIntact(t, path, 4)
	})
	t.Run("a line of the same size in place of its own", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		a := openLog(t, path)
		appendN(t, a, "a1")
		lines := readLines(t, path)
		other := strings.Replace(lines[1], `"request_id":"a1"`, `"request_id":"b1"`, 1)
		if other == lines[1] {
			t.Fatal("no request id to replace")
		}
		mustDo(t, os.WriteFile(path, []byte(lines[0]+"\n"+other+"\n"), 0o600))
		mustDo(t, os.WriteFile(headPath(path), encodeHead(1, lineHash([]byte(other)), nil), 0o600))
		appendN(t, a, "a2")
		assertIntact(t, path, 3)
	})
}
