package audit

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sampleLog returns the lines (without newlines) of a header and five records.
func sampleLog(t *testing.T) []string {
	t.Helper()
	var buf bytes.Buffer
	l := fixedClock(New(&buf))
	for i := range 5 {
		r := sampleRecord()
		r.RequestID = fmt.Sprint(i + 1)
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func join(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestVerify(t *testing.T) {
	l := sampleLog(t)
	otherPrev := strings.Repeat("ab", 32)
	secondHeader := strings.Replace(wantHeader, "12:00:00Z", "12:30:00Z", 1)
	const torn = "not a JSON object: a write that did not finish (disk full, a crash), or data from elsewhere"
	for _, tt := range []struct {
		name  string
		input string
		want  []Problem
		lines int
	}{
		{name: "intact", input: join(l...), lines: 6},
		{name: "empty", input: "", lines: 0},
		{
			name:  "edited record",
			input: join(l[0], l[1], strings.Replace(l[2], "power_off_vm", "power_on_vm", 1), l[3], l[4], l[5]),
			want:  []Problem{{Line: 3, Kind: Edited, Detail: "its hash differs from the prev recorded by line 4"}},
			lines: 6,
		},
		{
			name:  "edited prev",
			input: join(l[0], l[1], replacePrev(l[2], otherPrev), l[3], l[4], l[5]),
			want:  []Problem{{Line: 3, Kind: Edited, Detail: "its prev and its hash both differ from what was written"}},
			lines: 6,
		},
		{
			name:  "edited header",
			input: join(secondHeader, l[1], l[2], l[3], l[4], l[5]),
			want:  []Problem{{Line: 1, Kind: Edited, Detail: "its hash differs from the prev recorded by line 2"}},
			lines: 6,
		},
		{
			name:  "edited seq of the last line",
			input: join(l[0], l[1], l[2], l[3], l[4], strings.Replace(l[5], `"seq":5`, `"seq":9`, 1)),
			want:  []Problem{{Line: 6, Kind: Edited, Detail: "seq is 9, want 5"}},
			lines: 6,
		},
		{
			name:  "deleted line",
			input: join(l[0], l[1], l[3], l[4], l[5]),
			want:  []Problem{{Line: 3, Kind: Missing, Detail: "1 line(s) missing before it (seq 3 follows 1)"}},
			lines: 5,
		},
		{
			name:  "deleted lines",
			input: join(l[0], l[1], l[4], l[5]),
			want:  []Problem{{Line: 3, Kind: Missing, Detail: "2 line(s) missing before it (seq 4 follows 1)"}},
			lines: 4,
		},
		{
			name:  "reordered pair",
			input: join(l[0], l[1], l[3], l[2], l[4], l[5]),
			want: []Problem{
				{Line: 3, Kind: Reordered, Detail: "written after line 4, not after line 2"},
				{Line: 4, Kind: Reordered, Detail: "written after line 2, not after line 3"},
				{Line: 5, Kind: Reordered, Detail: "written after line 3, not after line 4"},
			},
			lines: 6,
		},
		{
			name:  "two edits, both found",
			input: join(l[0], strings.Replace(l[1], "web-01", "web-02", 1), l[2], l[3], strings.Replace(l[4], "vc1", "vc2", 1), l[5]),
			want: []Problem{
				{Line: 2, Kind: Edited, Detail: "its hash differs from the prev recorded by line 3"},
				{Line: 5, Kind: Edited, Detail: "its hash differs from the prev recorded by line 6"},
			},
			lines: 6,
		},
		{
			name:  "torn last line",
			input: join(l[:5]...) + l[5][:40],
			want:  []Problem{{Line: 6, Kind: Torn, Detail: "the last line is cut short: a write that did not finish (disk full, a crash)"}},
			lines: 6,
		},
		{name: "no final newline after a whole record", input: strings.TrimSuffix(join(l...), "\n"), lines: 6},
		{
			name:  "line that is not JSON",
			input: join(l[0], l[1], l[2], "hello", l[3], l[4], l[5]),
			want:  []Problem{{Line: 4, Kind: Torn, Detail: torn}},
			lines: 7,
		},
		{
			name:  "torn lines do not hide an edit after them",
			input: join(l[0], l[1], "hel", "lo", l[2], strings.Replace(l[3], "vm-42", "vm-43", 1), l[4], l[5]),
			want: []Problem{
				{Line: 3, Kind: Torn, Detail: torn},
				{Line: 4, Kind: Torn, Detail: torn},
				{Line: 6, Kind: Edited, Detail: "its hash differs from the prev recorded by line 7"},
			},
			lines: 8,
		},
		{
			name:  "a record replaced by garbage",
			input: join(l[0], l[1], "garbage", l[3], l[4], l[5]),
			want: []Problem{
				{Line: 3, Kind: Torn, Detail: torn},
				{Line: 4, Kind: Missing, Detail: "1 line(s) missing before it (seq 3 follows 1)"},
			},
			lines: 6,
		},
		{
			name:  "blank line",
			input: join(l[0], l[1], "", l[2]),
			want:  []Problem{{Line: 3, Kind: Torn, Detail: "an empty line"}},
			lines: 4,
		},
		{
			name:  "JSON that is not an audit line",
			input: join(l[0], l[1], `{"tool":"list_vms"}`),
			want:  []Problem{{Line: 3, Kind: Torn, Detail: `JSON without "seq" and "prev": not an audit line`}},
			lines: 3,
		},
		{
			name:  "missing header",
			input: join(l[1:]...),
			want:  []Problem{{Line: 1, Kind: BadHeader, Detail: `the first line must be a header {"audit_header":2,…}; this is a record`}},
			lines: 5,
		},
		{
			name:  "a new chain in the middle",
			input: join(l[0], l[1], l[2], secondHeader, l[3]),
			want: []Problem{
				{Line: 4, Kind: Restarted, Detail: "a new chain starts here: nothing ties the lines after it to those before"},
				{Line: 5, Kind: Reordered, Detail: "written after line 3, not after line 4"},
			},
			lines: 5,
		},
		{
			name:  "unknown header version",
			input: join(strings.Replace(l[0], `"audit_header":2`, `"audit_header":7`, 1)),
			want:  []Problem{{Line: 1, Kind: BadHeader, Detail: "audit_header 7: this version reads 1 and 2"}},
			lines: 1,
		},
		{
			// Limits of a keyless chain: the last line has no successor to vouch for it,
			// and removing lines from the end leaves a valid chain. LastHash changes.
			name:  "edited last line goes unnoticed but changes LastHash",
			input: join(l[0], l[1], l[2], l[3], l[4], strings.Replace(l[5], "power_off_vm", "power_on_vm", 1)),
			lines: 6,
		},
		{name: "removed tail goes unnoticed but changes LastHash", input: join(l[:4]...), lines: 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Verify(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rep.Problems, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Verify problems (-want +got):\n%s", diff)
			}
			var first *Problem
			for _, p := range tt.want {
				if p.Kind.Breaks() {
					first = &p
					break
				}
			}
			if diff := cmp.Diff(first, rep.First); diff != "" {
				t.Errorf("First (-want +got):\n%s", diff)
			}
			if rep.Intact != (first == nil) || rep.OK() != rep.Intact || rep.Lines != tt.lines {
				t.Errorf("intact %v, OK %v, %d lines; want intact %v, %d lines", rep.Intact, rep.OK(), rep.Lines, first == nil, tt.lines)
			}
			if tt.lines > 0 {
				last := lastRecordLine(tt.input)
				if want := lineHash([]byte(last)); rep.LastHash != want {
					t.Errorf("LastHash = %s, want the hash of %.40q", rep.LastHash, last)
				}
			}
		})
	}
}

// lastRecordLine returns the last line of input that parses as an audit line.
func lastRecordLine(input string) string {
	lines := strings.Split(strings.TrimSuffix(input, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if _, ok := parseLink([]byte(lines[i])); ok {
			return lines[i]
		}
	}
	return ""
}

// TestVerifyVersion1Files reads files of the first release: a version 1
// header, and a record after a torn line that chains to the torn line with
// seq 1, as that writer did.
func TestVerifyVersion1Files(t *testing.T) {
	h := `{"audit_header":1,"created":"2026-11-24T12:00:00Z","seq":0,"prev":"` + zeroHash + `"}`
	r1 := `{"tool":"a","seq":1,"prev":"` + lineHash([]byte(h)) + `"}`
	torn := `{"ts":"2026-11-2`
	r2 := `{"tool":"b","seq":1,"prev":"` + lineHash([]byte(torn)) + `"}`
	r3 := `{"tool":"c","seq":2,"prev":"` + lineHash([]byte(r2)) + `"}`
	rep, err := Verify(strings.NewReader(join(h, r1, torn, r2, r3)))
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{{Line: 3, Kind: Torn, Detail: "not a JSON object: a write that did not finish (disk full, a crash), or data from elsewhere"}}
	if diff := cmp.Diff(want, rep.Problems); diff != "" || !rep.Intact {
		t.Errorf("intact %v, problems (-want +got):\n%s", rep.Intact, diff)
	}
	bad := `{"tool":"b","seq":4,"prev":"` + lineHash([]byte(torn)) + `"}`
	rep, _ = Verify(strings.NewReader(join(h, r1, torn, bad)))
	if rep.First == nil || rep.First.Kind != Edited || rep.First.Line != 4 {
		t.Errorf("a wrong seq after a torn line: first problem %v, want line 4 edited", rep.First)
	}
}

// TestVerifyLongLines feeds lines longer than MaxLine: they are skipped as
// oversized with bounded memory, whether the next record links over them (this
// version's writer) or to them (version 1's).
func TestVerifyLongLines(t *testing.T) {
	l := sampleLog(t)
	huge := `{"tool":"` + strings.Repeat("\ufffd", 3_000_000) + `"}`
	overLinked := strings.Replace(l[2], lineHash([]byte(l[1])), lineHash([]byte(huge)), 1)
	for _, tt := range []struct {
		name, input string
		intact      bool
	}{
		{"skipped by the writer", join(l[0], l[1], huge, l[2], l[3]), true},
		{"linked to by version 1", join(l[0], l[1], huge, overLinked), true},
		{"unterminated at the end", join(l[0], l[1]) + huge, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Verify(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Intact != tt.intact || rep.Torn != 1 || len(rep.Problems) != 1 || rep.Problems[0].Kind != Oversized || rep.Problems[0].Line != 3 {
				t.Errorf("intact %v, problems %v; want intact %v and line 3 oversized", rep.Intact, rep.Problems, tt.intact)
			}
		})
	}
}

// TestVerifyListsManyProblemsBounded checks that a file of garbage yields the
// first 1000 problems and a count of the others, not a problem per line in
// memory.
func TestVerifyListsManyProblemsBounded(t *testing.T) {
	l := sampleLog(t)
	input := join(l...) + strings.Repeat("x\n", 5000)
	rep, err := Verify(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != maxProblems || rep.MoreProblems != 4000 || rep.Torn != 5000 || !rep.Intact {
		t.Errorf("%d problems listed, %d more, %d torn, intact %v", len(rep.Problems), rep.MoreProblems, rep.Torn, rep.Intact)
	}
	if rep.Problems[0].Line != 7 || rep.Problems[maxProblems-1].Line != 1006 {
		t.Errorf("problems listed from line %d to %d, want the first ones (7 to 1006)", rep.Problems[0].Line, rep.Problems[maxProblems-1].Line)
	}
}

func replacePrev(line, prev string) string {
	i := strings.Index(line, `"prev":"`) + len(`"prev":"`)
	return line[:i] + prev + line[i+64:]
}

func TestProblemString(t *testing.T) {
	p := &Problem{Line: 7, Kind: Missing, Detail: "1 line(s) missing before it (seq 7 follows 5)"}
	if got, want := p.String(), "line 7: missing: 1 line(s) missing before it (seq 7 follows 5)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
