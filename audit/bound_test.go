package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// TestAppendBoundsEveryField is the red team's finding: a tools/call with a
// 6,000,000-byte tool name of 0xFF bytes was refused, but its audit line stored
// the whole name (18 MB once each byte became U+FFFD), and every later append
// failed: one read-role call silenced the shared file for every process. A
// 300 KB invalid argument was echoed whole into "error" too.
func TestAppendBoundsEveryField(t *testing.T) {
	for _, tool := range []struct{ name, value string }{
		{"raw 0xFF bytes", strings.Repeat("\xff", 6_000_000)},
		{"U+FFFD as decoded from JSON", strings.Repeat("\ufffd", 6_000_000)},
	} {
		t.Run(tool.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			l, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ctl := strings.Repeat("\x01", 1<<20) // 6 bytes each once escaped
			big := &Record{
				Tool: tool.value, Decision: ctl, Error: "invalid limit: " + strings.Repeat("9", 300_000),
				Role: ctl, TokenFP: ctl, VCenter: ctl, RequestID: ctl,
				Target: &Target{ID: ctl, Name: ctl}, Task: &Task{ID: ctl, State: TaskState(ctl)},
				Client: Client{Name: ctl, Version: ctl},
				Args:   json.RawMessage(`{"limit":"` + strings.Repeat("9", 300_000) + `"}`),
			}
			if err := l.Append(big); err != nil {
				t.Fatalf("Append: %v", err)
			}
			if err := l.Append(sampleRecord()); err != nil {
				t.Fatalf("the append after it: %v", err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d lines, want a header and 2 records", len(lines))
			}
			if n := len(lines[1]) + 1; n > MaxLine {
				t.Errorf("the line is %d bytes, want at most %d", n, MaxLine)
			}
			var got Record
			if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name, value string
				orig, limit int
			}{
				{"tool", got.Tool, len(tool.value), capTool},
				{"decision", got.Decision, len(ctl), capDecision},
				{"error", got.Error, len(big.Error), capError},
				{"role", got.Role, len(ctl), capRole},
				{"token_fp", got.TokenFP, len(ctl), capTokenFP},
				{"vcenter", got.VCenter, len(ctl), capVCenter},
				{"request_id", got.RequestID, len(ctl), capRequestID},
				{"target.id", got.Target.ID, len(ctl), capTargetID},
				{"target.name", got.Target.Name, len(ctl), capTarget},
				{"task.id", got.Task.ID, len(ctl), capTaskID},
				{"task.state", string(got.Task.State), len(ctl), capTaskState},
				{"client.name", got.Client.Name, len(ctl), capClient},
				{"client.version", got.Client.Version, len(ctl), capVersion},
			} {
				marker := fmt.Sprintf("…[truncated from %d bytes]", f.orig)
				enc, _ := json.Marshal(f.value)
				if !strings.HasSuffix(f.value, marker) || !utf8.ValidString(f.value) || len(enc)-2 > f.limit {
					t.Errorf("%s = %.40q… (%d bytes as JSON), want valid UTF-8 of at most %d bytes ending in %q", f.name, f.value, len(enc)-2, f.limit, marker)
				}
			}
			if string(got.Args) != `{"_too_large_bytes":300012}` {
				t.Errorf("args = %.80s, want the size marker", got.Args)
			}
			assertIntact(t, path, 3)
		})
	}
}

// TestLineBoundReplacesLargeArgs checks that arguments within their own bound
// (64 KiB masked) but too large for the line become the size marker, and that
// smaller ones are kept.
func TestLineBoundReplacesLargeArgs(t *testing.T) {
	for _, tt := range []struct {
		size int
		kept bool
	}{{30_000, true}, {maxArgs - 100, false}} {
		var buf bytes.Buffer
		l := New(&buf)
		args := `{"notes":"` + strings.Repeat("n", tt.size) + `"}`
		r := sampleRecord()
		r.Args = json.RawMessage(args)
		r.Error = strings.Repeat("e", capError) // the longest other members make the most room needed
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
		line := strings.Split(buf.String(), "\n")[1]
		var got Record
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		if kept := string(got.Args) == args; kept != tt.kept || len(line)+1 > MaxLine {
			t.Errorf("args of %d bytes: kept %v (%.40s), line %d bytes; want kept %v, line ≤ %d", tt.size, kept, got.Args, len(line)+1, tt.kept, MaxLine)
		}
	}
}

// TestWorstLineFits fills every member to its cap with the costliest
// characters, with the largest arguments and a key: the line still fits.
func TestWorstLineFits(t *testing.T) {
	worst := strings.Repeat("\u2028", 1<<16) // 3 bytes in, 6 out
	r := &Record{
		Tool: worst, Decision: worst, Error: worst, Role: worst, TokenFP: worst, VCenter: worst,
		RequestID: worst, Target: &Target{ID: worst, Name: worst}, Task: &Task{ID: worst, State: TaskState(worst)},
		Client: Client{Name: worst, Version: worst}, DurationMS: -math.MaxFloat64, TS: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", -12*3600)),
	}
	for _, args := range []string{`{"a":"` + strings.Repeat("\\u0001", maxArgs/6-2) + `"}`, `{}`} {
		for _, mode := range []writeMode{modeOne, modeBegin, modeEnd} {
			var buf bytes.Buffer
			l := New(&buf, WithKey(testKey))
			r.Args = json.RawMessage(args)
			if _, err := l.write(r, mode, math.MaxInt64); err != nil {
				t.Fatalf("mode %d: %v", mode, err)
			}
			for i, line := range strings.SplitAfter(buf.String(), "\n") {
				if len(line) > MaxLine {
					t.Errorf("mode %d, line %d: %d bytes, want at most %d", mode, i+1, len(line), MaxLine)
				}
			}
		}
	}
}

// TestOddValuesStillWrite: values encoding/json or time.Time refuse to encode
// must not cost the line.
func TestOddValuesStillWrite(t *testing.T) {
	var buf bytes.Buffer
	l := fixedClock(New(&buf))
	for _, r := range []*Record{
		{Tool: "a", DurationMS: math.NaN()},
		{Tool: "b", DurationMS: math.Inf(1)},
		{Tool: "c", TS: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Tool: "d", TS: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Tool: "e", Args: json.RawMessage("\xff\x00")},
	} {
		if err := l.Append(r); err != nil {
			t.Errorf("Append(%+v): %v", r, err)
		}
	}
	rep, err := Verify(&buf)
	if err != nil || !rep.Intact || rep.Records != 5 {
		t.Errorf("Verify: %+v, %v", rep, err)
	}
}

// TestAppendAfterHugeLastLine: a file whose last line is longer than the
// first release could read back (16 MiB), written by that release or by
// anyone with access to the file, stopped every later append. The writer
// now steps over it, with bounded memory, and chains to the record before.
func TestAppendAfterHugeLastLine(t *testing.T) {
	for _, tt := range []struct{ name, tail string }{
		{"foreign bytes", strings.Repeat("\xff", 17<<20) + "\n"},
		{"a version 1 record", `{"tool":"` + strings.Repeat("\ufffd", 6<<20) + `","seq":2,"prev":"` + zeroHash + `"}` + "\n"},
		{"unterminated", strings.Repeat("x", 17<<20)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			l, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.Append(sampleRecord()); err != nil {
				t.Fatal(err)
			}
			appendRaw(t, path, tt.tail)
			for range 2 {
				if err := l.Append(sampleRecord()); err != nil {
					t.Fatalf("Append after the huge line: %v", err)
				}
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := Verify(f)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Intact || rep.Records != 3 || len(rep.Problems) != 1 || rep.Problems[0].Kind != Oversized || rep.Problems[0].Line != 3 {
				t.Errorf("Verify: intact %v, %d records, problems %v; want intact, 3 records, line 3 oversized", rep.Intact, rep.Records, rep.Problems)
			}
		})
	}
}

// TestAppendPastUnreadableTail: beyond tailScan bytes of data that holds no
// record, the writer starts a new chain rather than stop, and Verify says
// where the chain restarted.
func TestAppendPastUnreadableTail(t *testing.T) {
	defer func(n int64) { tailScan = n }(tailScan)
	tailScan = 1 << 20
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
	appendRaw(t, path, strings.Repeat("garbage\n", 200_000)) // 1.6 MB of short foreign lines
	if err := l.Append(sampleRecord()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := &Problem{Line: 200_003, Kind: Restarted, Detail: "the writer found no readable record in the 1048576 bytes before it (damaged or foreign data) and started a new chain: nothing ties the lines after it to those before"}
	if diff := cmp.Diff(want, rep.First); diff != "" || rep.Torn != 200_000 || rep.Records != 2 {
		t.Errorf("Verify: %d torn, %d records, first problem (-want +got):\n%s", rep.Torn, rep.Records, diff)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if h := lines[len(lines)-2]; !strings.Contains(h, `"reason":"unreadable_tail"`) {
		t.Errorf("the new chain starts with %s, want a header with reason unreadable_tail", h)
	}
}
