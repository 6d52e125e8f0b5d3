package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// testKey is the chain key of the tests (41 bytes).
var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// fixedClock makes l's headers and default timestamps deterministic.
func fixedClock(l *Log) *Log {
	l.now = func() time.Time { return t0 }
	return l
}

func sampleRecord() *Record {
	return &Record{
		TS:         time.Date(2026, 11, 24, 13, 0, 0, 123456789, time.FixedZone("CET", 3600)),
		Tool:       "power_off_vm",
		Decision:   "allowed",
		OK:         true,
		DurationMS: 12.5,
		Args:       json.RawMessage(`{"vm_name": "web-01", "hostname": "vc1"}`),
		Role:       "ops",
		TokenFP:    "sha256:0123456789ab",
		VCenter:    "vc1.example.com",
		Target:     &Target{ID: "vm-42", Name: "web-01"},
		Task:       &Task{ID: "task-7", State: TaskSuccess},
		Client:     Client{Name: "claude-desktop", Version: "1.2.3"},
		RequestID:  "17",
	}
}

const wantHeader = `{"audit_header":2,"created":"2026-11-24T12:00:00Z","seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000"}`

func TestAppendLineShape(t *testing.T) {
	var buf bytes.Buffer
	l := fixedClock(New(&buf))
	if err := l.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if len(lines) != 3 || lines[2] != "" {
		t.Fatalf("got %q, want a header line and a record line, each ending in a newline", buf.String())
	}
	if lines[0] != wantHeader {
		t.Errorf("header:\n got %s\nwant %s", lines[0], wantHeader)
	}
	want := `{"ts":"2026-11-24T12:00:00.123456789Z","tool":"power_off_vm","decision":"allowed","ok":true,` +
		`"duration_ms":12.5,"args":{"hostname":"vc1","vm_name":"web-01"},"role":"ops","token_fp":"sha256:0123456789ab",` +
		`"vcenter":"vc1.example.com","target":{"id":"vm-42","name":"web-01"},"task":{"id":"task-7","state":"success"},` +
		`"client":{"name":"claude-desktop","version":"1.2.3"},"request_id":"17","seq":1,"prev":"` + lineHash([]byte(wantHeader)) + `"}`
	if diff := cmp.Diff(want, lines[1]); diff != "" {
		t.Errorf("record line (-want +got):\n%s", diff)
	}
}

func TestAppendOmitsUnknowns(t *testing.T) {
	var buf bytes.Buffer
	l := fixedClock(New(&buf))
	if err := l.Append(&Record{Tool: "list_vms", Decision: "denied_role"}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	line := strings.Split(buf.String(), "\n")[1]
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"error", "target", "task"} {
		if _, ok := got[key]; ok {
			t.Errorf("line %s has %q, want it omitted", line, key)
		}
	}
	if got["ts"] != "2026-11-24T12:00:00Z" || got["args"] == nil {
		t.Errorf("line %s: want ts from the clock and args {}", line)
	}
}

// countingWriter records each Write call separately.
type countingWriter struct{ writes []string }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// TestOneWritePerAppend checks that each append is one write of whole lines:
// the first carries the header and the record, each later one a record.
func TestOneWritePerAppend(t *testing.T) {
	w := new(countingWriter)
	l := New(w)
	const n = 5
	for range n {
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.writes) != n {
		t.Fatalf("%d appends made %d writes, want %d", n, len(w.writes), n)
	}
	for i, p := range w.writes {
		want := 1
		if i == 0 {
			want = 2
		}
		if strings.Count(p, "\n") != want || !strings.HasSuffix(p, "\n") {
			t.Errorf("write %d = %q, want %d complete line(s)", i+1, p, want)
		}
		for _, line := range strings.Split(strings.TrimSuffix(p, "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("write %d has a line that is not JSON: %q", i+1, line)
			}
		}
	}
}

func TestAppendMasksAndScrubs(t *testing.T) {
	const password, token = "Vc-Passw0rd!", "launch-token-Qm7Zx"
	var buf bytes.Buffer
	l := New(&buf, WithScrubber(NewScrubber(password, token)))
	rec := &Record{
		Tool: "modify_vm_resources",
		Args: json.RawMessage(`{"vm_name": "db-` + password + `", "spec": {"Guest_Password": "x", "notes": ["a ` + token + ` b"]}}`),
		Error: "login as admin with " + password + " failed; url=https://u:" +
			"Vc-Passw0rd%21@vc1/",
		Target:    &Target{ID: "vm-1", Name: "named " + token},
		RequestID: token,
	}
	orig := *rec
	if err := l.Append(rec); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{password, token, "Vc-Passw0rd%21", `"x"`} {
		if strings.Contains(out, secret) {
			t.Errorf("audit output leaks %q:\n%s", secret, out)
		}
	}
	var got Record
	if err := json.Unmarshal([]byte(strings.Split(out, "\n")[1]), &got); err != nil {
		t.Fatal(err)
	}
	wantArgs := `{"spec":{"Guest_Password":"***","notes":["a *** b"]},"vm_name":"db-***"}`
	if string(got.Args) != wantArgs {
		t.Errorf("args = %s, want %s", got.Args, wantArgs)
	}
	if want := "login as admin with *** failed; url=https://u:***@vc1/"; got.Error != want {
		t.Errorf("error = %q, want %q", got.Error, want)
	}
	if got.Target.Name != "named ***" || got.RequestID != "***" {
		t.Errorf("target %+v, request id %q: want secrets scrubbed", got.Target, got.RequestID)
	}
	if diff := cmp.Diff(orig, *rec); diff != "" {
		t.Errorf("Append changed the caller's record (-before +after):\n%s", diff)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("new audit file has mode %04o, want 0600", perm)
		}
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "audit log") {
		t.Errorf("Open(directory) error = %v, want an audit log error", err)
	}
}

func TestOpenRefusesSharedModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits are not checked on Windows")
	}
	for _, perm := range []os.FileMode{0o640, 0o604, 0o660, 0o666} {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, perm); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path)
		want := fmt.Sprintf("audit log: %s: mode %04o lets group or others access it; run: chmod 600 %s (a log rotator must create it with mode 0600)", path, perm, path)
		if err == nil || err.Error() != want {
			t.Errorf("Open(mode %04o) error:\n got %v\nwant %s", perm, err, want)
		}
	}
}

func TestOpenRefusesNonRegular(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	_, err := Open("/dev/null")
	if want := "audit log: /dev/null: not a regular file"; err == nil || err.Error() != want {
		t.Errorf("Open(/dev/null) error = %v, want %s", err, want)
	}
}

func TestNewRefusesStdout(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(os.Stdout) did not panic")
		}
	}()
	New(os.Stdout)
}

// TestFileChain appends through two Logs on one path, truncates the file and
// appends again: each Log chains to the other's lines, and an empty file restarts
// with a header.
func TestFileChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
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
	fixedClock(a)
	fixedClock(b)
	for i := range 6 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatal(err)
		}
	}
	assertIntact(t, path, 7)

	if err := os.Truncate(path, 0); err != nil { // as logrotate's copytruncate does
		t.Fatal(err)
	}
	if err := b.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	assertIntact(t, path, 2)
	data, _ := os.ReadFile(path)
	if first, _, _ := strings.Cut(string(data), "\n"); first != wantHeader {
		t.Errorf("after truncation the file starts with %s, want the header", first)
	}
}

func assertIntact(t *testing.T, path string, lines int) Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Verify(f)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || rep.Lines != lines || len(rep.Problems) != 0 {
		t.Errorf("Verify(%s) = %d lines, intact %v, problems %v; want %d lines, no problem", path, rep.Lines, rep.Intact, rep.Problems, lines)
	}
	return rep
}

// TestTornLineIsEnded checks that a record appended after a torn last line (a
// writer that died mid-write) stays whole and chains to the last record
// before the torn line, and that Verify names the torn line and finds the
// chain intact around it. The first release chained to the torn line and
// restarted seq at 1, and Verify stopped at the torn line.
func TestTornLineIsEnded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fixedClock(l)
	if err := l.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	appendRaw(t, path, `{"ts":"2026-11-24T`)
	for range 2 {
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 5 || !json.Valid([]byte(lines[3])) {
		t.Fatalf("file lines = %q, want header, record, torn line, two whole records", lines)
	}
	var rec Record
	if err := json.Unmarshal([]byte(lines[3]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 2 || rec.Prev != lineHash([]byte(lines[1])) {
		t.Errorf("record after the torn line has seq %d prev %s; want seq 2 and the hash of line 2", rec.Seq, rec.Prev)
	}
	rep, err := Verify(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{{Line: 3, Kind: Torn, Detail: "not a JSON object: a write that did not finish (disk full, a crash), or data from elsewhere"}}
	if diff := cmp.Diff(want, rep.Problems); diff != "" || !rep.Intact || rep.Torn != 1 || rep.Records != 3 {
		t.Errorf("Verify: intact %v, torn %d, records %d, problems (-want +got):\n%s", rep.Intact, rep.Torn, rep.Records, diff)
	}
}

// appendRaw appends text to the file at path, as another program would.
func appendRaw(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// failingWriter fails the writes whose number (from 1) is in fail.
type failingWriter struct {
	n    int
	fail map[int]bool
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	if w.fail[w.n] {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestErrTracksTheLastAppend(t *testing.T) {
	w := &failingWriter{fail: map[int]bool{1: true}} // the first append (header and record) fails
	l := New(w)
	if err := l.Err(); err != nil {
		t.Fatalf("Err before any append = %v, want nil", err)
	}
	if err := l.Append(sampleRecord()); err == nil || err.Error() != "audit log: write: disk full" {
		t.Fatalf("Append = %v, want the write error", err)
	}
	if err := l.Err(); err == nil {
		t.Error("Err after a failed append = nil, want the error")
	}
	if err := l.Append(sampleRecord()); err != nil {
		t.Fatalf("Append after recovery: %v", err)
	}
	if err := l.Err(); err != nil {
		t.Errorf("Err after a later success = %v, want nil", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(sampleRecord()); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if !errors.Is(l.Err(), ErrClosed) {
		t.Errorf("Err after Close and Append = %v, want ErrClosed", l.Err())
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestReadTail(t *testing.T) {
	long := strings.Repeat("x", 10000)
	rec := func(seq int) string { return fmt.Sprintf(`{"seq":%d,"prev":"p"}`, seq) }
	huge := strings.Repeat("\xff", 3*maxBlock+17) // longer than MaxLine: skipped
	for _, tt := range []struct {
		name, data string
		found      bool
		after      string // the line the tail attaches to
		seq        int64
		terminated bool
	}{
		{name: "empty", data: "", terminated: true},
		{name: "one record", data: rec(0) + "\n", found: true, after: rec(0), seq: 1, terminated: true},
		{name: "two records", data: rec(0) + "\n" + rec(1) + "\n", found: true, after: rec(1), seq: 2, terminated: true},
		{name: "torn", data: rec(0) + "\n" + `{"se`, found: true, after: rec(0), seq: 1},
		{name: "torn lines and blank lines", data: rec(4) + "\nab\n\n{}\n" + `{"ts"`, found: true, after: rec(4), seq: 5},
		{name: "a whole record without its newline", data: rec(0) + "\n" + rec(1), found: true, after: rec(1), seq: 2},
		{name: "no record at all", data: "abc\ndef\n", terminated: true},
		{name: "record after a long foreign line", data: long + "\n" + rec(3) + "\n", found: true, after: rec(3), seq: 4, terminated: true},
		{name: "oversized line after the record", data: rec(7) + "\n" + huge + "\n", found: true, after: rec(7), seq: 8, terminated: true},
		{name: "oversized parseable line", data: rec(7) + "\n" + `{"x":"` + huge + `","seq":9,"prev":"p"}` + "\n", found: true, after: rec(7), seq: 8, terminated: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readTail(strings.NewReader(tt.data), int64(len(tt.data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tail{found: tt.found, terminated: tt.terminated}
			if tt.found {
				want.at = chainState{prev: lineHash([]byte(tt.after)), seq: tt.seq, sameKey: true}
			}
			if got != want {
				t.Errorf("readTail(%.30q) = %+v, want %+v", tt.data, got, want)
			}
		})
	}
}
