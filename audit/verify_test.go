package audit

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	for _, tt := range []struct {
		name     string
		input    string
		want     *Problem
		lines    int
		lastLine string // for LastHash; "" means the last of the input
	}{
		{name: "intact", input: join(l...), lines: 6},
		{name: "empty", input: "", lines: 0},
		{
			name:  "edited record",
			input: join(l[0], l[1], strings.Replace(l[2], "power_off_vm", "power_on_vm", 1), l[3], l[4], l[5]),
			want:  &Problem{Line: 3, Kind: Edited, Detail: "its hash differs from the prev recorded by line 4"},
			lines: 6,
		},
		{
			name:  "edited prev",
			input: join(l[0], l[1], replacePrev(l[2], otherPrev), l[3], l[4], l[5]),
			want:  &Problem{Line: 3, Kind: Edited, Detail: "its prev and its hash both differ from what was written"},
			lines: 6,
		},
		{
			name:  "edited header",
			input: join(secondHeader, l[1], l[2], l[3], l[4], l[5]),
			want:  &Problem{Line: 1, Kind: Edited, Detail: "its hash differs from the prev recorded by line 2"},
			lines: 6,
		},
		{
			name:  "edited seq of the last line",
			input: join(l[0], l[1], l[2], l[3], l[4], strings.Replace(l[5], `"seq":5`, `"seq":9`, 1)),
			want:  &Problem{Line: 6, Kind: Edited, Detail: "seq is 9, want 5"},
			lines: 6,
		},
		{
			name:  "deleted line",
			input: join(l[0], l[1], l[3], l[4], l[5]),
			want:  &Problem{Line: 3, Kind: Missing, Detail: "1 line(s) missing before it (seq 3 follows 1)"},
			lines: 5,
		},
		{
			name:  "deleted lines",
			input: join(l[0], l[1], l[4], l[5]),
			want:  &Problem{Line: 3, Kind: Missing, Detail: "2 line(s) missing before it (seq 4 follows 1)"},
			lines: 4,
		},
		{
			name:  "reordered pair",
			input: join(l[0], l[1], l[3], l[2], l[4], l[5]),
			want:  &Problem{Line: 3, Kind: Reordered, Detail: "written after line 4, not after line 2"},
			lines: 6,
		},
		{
			name:  "truncated mid-line",
			input: join(l[:5]...) + l[5][:40],
			want:  &Problem{Line: 6, Kind: Truncated, Detail: "the last line is cut short"},
			lines: 6,
		},
		{
			name:  "no final newline",
			input: strings.TrimSuffix(join(l...), "\n"),
			want:  &Problem{Line: 6, Kind: Truncated, Detail: "the last line has no final newline"},
			lines: 6,
		},
		{
			name:  "line that is not JSON",
			input: join(l[0], l[1], l[2], "hello", l[3], l[4], l[5]),
			want:  &Problem{Line: 4, Kind: BadJSON, Detail: "not a JSON object"},
			lines: 7,
		},
		{
			name:  "blank line",
			input: join(l[0], l[1], "", l[2]),
			want:  &Problem{Line: 3, Kind: BadJSON, Detail: "not a JSON object"},
			lines: 4,
		},
		{
			name:  "JSON that is not an audit line",
			input: join(l[0], l[1], `{"tool":"list_vms"}`),
			want:  &Problem{Line: 3, Kind: BadJSON, Detail: `no "seq" or "prev"`},
			lines: 3,
		},
		{
			name:  "missing header",
			input: join(l[1:]...),
			want:  &Problem{Line: 1, Kind: BadHeader, Detail: `the first line must be {"audit_header":1,…,"seq":0,"prev":"000…"}`},
			lines: 5,
		},
		{
			name:  "header in the middle",
			input: join(l[0], l[1], l[2], secondHeader, l[3]),
			want:  &Problem{Line: 4, Kind: BadHeader, Detail: "a header after the first line; a writer starts one only in an empty file"},
			lines: 5,
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
			want := Report{Lines: tt.lines, Intact: tt.want == nil, First: tt.want}
			if tt.lines > 0 {
				last := strings.TrimSuffix(tt.input, "\n")
				want.LastHash = lineHash([]byte(last[strings.LastIndexByte(last, '\n')+1:]))
			}
			if diff := cmp.Diff(want, rep); diff != "" {
				t.Errorf("Verify (-want +got):\n%s", diff)
			}
		})
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
