package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// countSyncs replaces l's sync with one that counts, and fails with err when
// err is set.
func countSyncs(l *Log, err *error) *int {
	n := new(int)
	l.sync = func(f *os.File) error {
		*n++
		if *err != nil {
			return *err
		}
		return f.Sync()
	}
	return n
}

// verifyPath verifies the file at path, with key when not nil.
func verifyPath(t *testing.T, path string, key []byte) Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := VerifyWith(f, VerifyOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestBeginIsDurableBeforeTheCallActs: Begin writes and syncs the begin line
// before returning, Finish writes the outcome linked to it, and reads
// (Append) and outcomes are not synced.
func TestBeginIsDurableBeforeTheCallActs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fixedClock(l)
	var failSync error
	syncs := countSyncs(l, &failSync)
	if err := l.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	r := sampleRecord()
	r.Tool, r.RequestID, r.OK, r.Task = "power_on_vm", "r-2", false, nil
	p, err := l.Begin(r)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if *syncs != 1 || len(lines) != 3 || p.Seq() != 2 {
		t.Fatalf("after Begin: %d syncs, %d lines, seq %d; want the begin line synced as line 3, seq 2", *syncs, len(lines), p.Seq())
	}
	want := `{"ts":"2026-11-24T12:00:00.123456789Z","phase":"begin","tool":"power_on_vm","decision":"allowed",` +
		`"args":{"hostname":"vc1","vm_name":"web-01"},"role":"ops","token_fp":"sha256:0123456789ab","vcenter":"vc1.example.com",` +
		`"target":{"id":"vm-42","name":"web-01"},"client":{"name":"claude-desktop","version":"1.2.3"},"request_id":"r-2",` +
		`"seq":2,"prev":"` + lineHash([]byte(lines[1])) + `"}`
	if diff := cmp.Diff(want, lines[2]); diff != "" {
		t.Errorf("begin line (-want +got):\n%s", diff)
	}
	r.OK, r.DurationMS, r.Task = true, 812.5, &Task{ID: "task-9", State: TaskSuccess}
	if err := p.Finish(r); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(r); err == nil {
		t.Error("a second Finish succeeded")
	}
	lines = readLines(t, path)
	var end Record
	if err := json.Unmarshal([]byte(lines[3]), &end); err != nil {
		t.Fatal(err)
	}
	if end.Phase != PhaseEnd || end.BeginSeq != 2 || end.Seq != 3 || !end.OK || *syncs != 1 {
		t.Errorf("outcome line %s (after %d syncs); want phase end, begin_seq 2, seq 3, no more sync", lines[3], *syncs)
	}
	assertIntact(t, path, 4)
}

// TestBeginRefusesWhenSyncFails: a begin line that cannot be made durable
// fails Begin (the caller refuses the call), and the error is kept for Err.
func TestBeginRefusesWhenSyncFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	failSync := error(&os.PathError{Op: "sync", Path: path, Err: syscall.EIO})
	countSyncs(l, &failSync)
	if _, err := l.Begin(sampleRecord()); err == nil || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Begin with a failing sync = %v, want the I/O error", err)
	}
	if !errors.Is(l.Err(), syscall.EIO) {
		t.Errorf("Err = %v, want the sync error", l.Err())
	}
	failSync = nil
	p, err := l.Begin(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	rep := verifyPath(t, path, nil)
	// The first begin line reached the file but not the disk, as far as the
	// writer knows: the call it announced was refused and never ran.
	if !rep.Intact || rep.Unfinished != 1 || rep.Problems[0].Line != 2 {
		t.Errorf("Verify: intact %v, problems %v; want the refused call's begin line reported unfinished", rep.Intact, rep.Problems)
	}
}

// TestUnlinkedFileIsRecreated: the first release kept writing to an audit
// file that had been removed, lines nobody could read. Now the next write
// recreates the file at the path, continuing the chain.
func TestUnlinkedFileIsRecreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 3 {
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatal(err)
		}
	}
	old := readLines(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	p, err := l.Begin(sampleRecord())
	if err != nil {
		t.Fatalf("Begin after the file was removed: %v", err)
	}
	if err := p.Finish(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	var h header
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || h.Reason != reasonRotated || h.Seq != 4 || h.Prev != lineHash([]byte(old[3])) {
		t.Errorf("new file %q; want a rotated header continuing seq 3 of the removed file, then the begin and end lines", lines)
	}
	rep := verifyPath(t, path, nil)
	if !rep.OK() || len(rep.Problems) != 0 || rep.Continues == nil || *rep.Continues != (Link{Seq: 3, Hash: lineHash([]byte(old[3]))}) {
		t.Errorf("Verify: %+v", rep)
	}
}

// TestRotationByRename renames the file away between appends, as logrotate
// does: the writer starts a new file at the path whose header continues the
// old file's chain, and the two verify together.
func TestRotationByRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 3 {
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatal(err)
		}
	}
	// A call begins before the rotation and ends after it.
	p, err := l.Begin(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path+".1"); len(got) != 5 {
		t.Errorf("the rotated file has %d lines, want the 5 written before the rename", len(got))
	}
	rep, err := VerifyFiles([]string{path + ".1", path}, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Problems) != 0 || rep.Lines != 8 || rep.Records != 6 {
		t.Errorf("VerifyFiles: %d lines, %d records, problems %v", rep.Lines, rep.Records, rep.Problems)
	}
	// Alone, the old file shows the call that ended in the next one, and says
	// where to look; the new one says what it continues.
	old := verifyPath(t, path+".1", nil)
	if !old.Intact || old.Unfinished != 1 || !strings.Contains(old.Problems[0].Detail, "verify the files together") {
		t.Errorf("the rotated file alone: %+v", old)
	}
	cur := verifyPath(t, path, nil)
	if !cur.OK() || len(cur.Problems) != 0 || cur.Continues == nil || cur.Continues.Hash != old.LastHash || cur.Continues.Seq != old.LastSeq {
		t.Errorf("the new file alone: %+v; want it to continue %s (seq %d)", cur, old.LastHash, old.LastSeq)
	}
	// Out of order, or with a file missing, the set does not verify.
	if rep, _ := VerifyFiles([]string{path, path + ".1"}, VerifyOptions{}); rep.OK() {
		t.Error("the files in the wrong order verify")
	}
}

// TestReplacedFileIsFollowed: another file moved over the path (a restored
// copy, an attacker's file). The lock each writer held belonged to the old
// file and excluded nobody writing at the path; each writer now notices and
// appends to the file at the path, chaining to its last record.
func TestReplacedFileIsFollowed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, l := range []*Log{a, b} {
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "other.jsonl")
	o, err := Open(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*Log{a, b, a} {
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatal(err)
		}
	}
	assertIntact(t, path, 5) // the moved-in file's header and record, then 3 records
}

// TestBeginFailsWhenThePathCannotBeReopened: once the file is gone, a path
// that cannot be opened again (here a directory stands there) fails Begin
// rather than let the call act unrecorded; the writer recovers when the path
// is usable again.
func TestBeginFailsWhenThePathCannotBeReopened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Begin(sampleRecord()); err == nil || !strings.Contains(err.Error(), "reopen") {
		t.Fatalf("Begin with a directory at the path = %v, want a reopen error", err)
	}
	if err := l.Append(sampleRecord()); err == nil {
		t.Error("Append with a directory at the path succeeded")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Begin(sampleRecord()); err != nil {
		t.Fatalf("Begin once the path is free: %v", err)
	}
	rep := verifyPath(t, path, nil)
	if !rep.Intact || rep.Continues == nil || rep.Unfinished != 1 {
		t.Errorf("Verify: %+v", rep)
	}
}

// TestGroupReadableNewFileIsRefused: a log rotator that creates the new file
// with a wider mode than 0600 gets the same refusal as Open.
func TestGroupReadableNewFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Begin(sampleRecord()); err == nil || !strings.Contains(err.Error(), "mode 0640 lets group or others access it") {
		t.Errorf("Begin on a group-readable rotated file = %v", err)
	}
}

// TestStreamBeginAndFinish: a Log from New writes begin and end lines too,
// fails Begin when the write fails, and keeps its chain whole across a write
// that stopped part way.
func TestStreamBeginAndFinish(t *testing.T) {
	var buf bytes.Buffer
	w := &partialWriter{w: &buf}
	l := New(w)
	p, err := l.Begin(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	w.cut = 30 // the next write stops after 30 bytes
	if _, err := l.Begin(sampleRecord()); err == nil {
		t.Fatal("Begin with a failing write succeeded")
	}
	if err := p.Finish(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || rep.Torn != 1 || rep.Unfinished != 0 || rep.Records != 2 {
		t.Errorf("Verify: %+v", rep)
	}
}

// partialWriter writes only cut bytes of the next write, then fails.
type partialWriter struct {
	w   *bytes.Buffer
	cut int
}

func (p *partialWriter) Write(b []byte) (int, error) {
	if p.cut > 0 {
		n := p.cut
		p.cut = 0
		p.w.Write(b[:n])
		return n, errors.New("disk full")
	}
	return p.w.Write(b)
}
