package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds returns audit logs for the seed corpora: plain and keyed, with a
// begun call, a torn line, and damage.
func fuzzSeeds(f *testing.F) []string {
	var plain, keyed bytes.Buffer
	for _, l := range []*Log{fixedClock(New(&plain)), fixedClock(New(&keyed, WithKey(testKey)))} {
		for range 2 {
			if err := l.Append(sampleRecord()); err != nil {
				f.Fatal(err)
			}
		}
		p, err := l.Begin(sampleRecord())
		if err != nil {
			f.Fatal(err)
		}
		if err := p.Finish(sampleRecord()); err != nil {
			f.Fatal(err)
		}
		if _, err := l.Begin(sampleRecord()); err != nil {
			f.Fatal(err)
		}
	}
	good := plain.String()
	lines := strings.SplitAfter(good, "\n")
	return []string{
		good, keyed.String(), "", "\n", "{}\n", wantHeader + "\n", good[:len(good)-7],
		lines[0] + lines[2] + lines[1], lines[0] + lines[2], lines[0] + "torn" + "\n" + lines[1], `{"seq":1,"prev":"x"}`,
		wantHeader + "\n" + `{"seq":-9223372036854775808,"prev":""}` + "\n",
		wantHeader + "\n" + `{"seq":9223372036854775807,"prev":"` + lineHash([]byte(wantHeader)) + `","phase":"end","begin_seq":-1}` + "\n",
		strings.Replace(keyed.String(), `"mac":"`, `"mac":"0`, 2),
	}
}

// FuzzVerify feeds arbitrary bytes to Verify, with and without a key: it must
// not panic, and its report must be consistent.
func FuzzVerify(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, keyed bool) {
		var o VerifyOptions
		if keyed {
			o.Key = testKey
		}
		rep, err := VerifyWith(bytes.NewReader(data), o)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if rep.Intact != (rep.First == nil) || rep.First != nil && !rep.First.Kind.Breaks() {
			t.Fatalf("Intact = %v with First = %v", rep.Intact, rep.First)
		}
		if rep.Authenticated && (!keyed || !rep.Intact) || rep.OK() != (rep.Intact && (!keyed || rep.Authenticated)) {
			t.Fatalf("keyed %v: intact %v, authenticated %v, OK %v", keyed, rep.Intact, rep.Authenticated, rep.OK())
		}
		if len(rep.Problems) > maxProblems || rep.Records+rep.Torn > rep.Lines || rep.Unfinished > rep.Records {
			t.Fatalf("%d problems, %d records, %d torn, %d unfinished, %d lines", len(rep.Problems), rep.Records, rep.Torn, rep.Unfinished, rep.Lines)
		}
		for i, p := range rep.Problems {
			if p.Line < 1 || p.Line > rep.Lines || i > 0 && p.Line < rep.Problems[i-1].Line {
				t.Fatalf("problem %d on line %d of %d, after line %d", i, p.Line, rep.Lines, rep.Problems[max(i-1, 0)].Line)
			}
		}
	})
}

// FuzzReadTail checks the writer's backwards reader against a plain forward
// reading of the same bytes: the last record it finds is the last line (less
// than MaxLine long) that parses as an audit line.
func FuzzReadTail(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add([]byte(seed))
	}
	f.Add([]byte(strings.Repeat("x", 5000) + "\n" + `{"seq":3,"prev":""}` + "\n" + strings.Repeat("y", 70000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readTail(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := tail{terminated: len(data) == 0 || data[len(data)-1] == '\n'}
		lines := bytes.Split(data, []byte("\n"))
		for i := len(lines) - 1; i >= 0; i-- {
			if l, ok := parseLink(lines[i]); ok && len(lines[i]) < MaxLine {
				want.at, want.found = after(lines[i], *l.Seq, nil), true
				break
			}
		}
		if got != want {
			t.Fatalf("readTail = %+v, want %+v", got, want)
		}
	})
}

// FuzzAppendAfterGarbage writes arbitrary bytes to an audit file, then appends
// through the writer (a record, a begun call and its outcome), with and
// without a key. The writer must never refuse because of what the file holds,
// and the lines it wrote must verify: nothing that breaks the chain is
// reported on them, and the call it began has its outcome.
func FuzzAppendAfterGarbage(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, garbage []byte, keyed bool) {
		path := filepath.Join(dir, "audit.jsonl")
		if err := os.WriteFile(path, garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		var opts []Option
		var o VerifyOptions
		if keyed {
			opts, o.Key = []Option{WithKey(testKey)}, testKey
		}
		l, err := Open(path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		l.sync = func(*os.File) error { return nil } // durability is not under test; fsync would slow fuzzing down a hundredfold
		if err := l.Append(sampleRecord()); err != nil {
			t.Fatalf("Append after %q: %v", garbage, err)
		}
		p, err := l.Begin(sampleRecord())
		if err != nil {
			t.Fatalf("Begin after %q: %v", garbage, err)
		}
		if err := p.Finish(sampleRecord()); err != nil {
			t.Fatalf("Finish after %q: %v", garbage, err)
		}
		ours := bytes.Count(garbage, []byte("\n")) + 1 // the first line the writer wrote
		if len(garbage) > 0 && garbage[len(garbage)-1] != '\n' {
			ours++ // the torn last line was ended first
		}
		rep := verifyPath(t, path, o.Key)
		forgedBefore := false
		for _, p := range rep.Problems {
			if p.Line < ours {
				forgedBefore = forgedBefore || p.Kind == Forged
				continue
			}
			// An unkeyed writer cannot see that a keyed file's last line is a
			// forgery without a MAC; its own lines are then as unkeyed as that one.
			excused := p.Kind == Forged && !keyed && forgedBefore
			if p.Kind.Breaks() && !excused || p.Kind == Unfinished || p.Kind == Torn {
				t.Fatalf("after %q, problem on the writer's lines (from line %d): %v\nall: %v", garbage, ours, p, rep.Problems)
			}
		}
		if rep.Lines < ours+2 || rep.Records < 3 {
			t.Fatalf("after %q: %d lines, %d records; want the writer's 3 records from line %d", garbage, rep.Lines, rep.Records, ours)
		}
	})
}

// FuzzMaskArgs checks that masking never panics, always yields JSON, leaves no value
// under a secret-looking key, and is idempotent.
func FuzzMaskArgs(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"password":"p"}`, `{"a":{"b":[{"token":1}]}}`, `[1,"x",null]`, `"s"`,
		`{"a":1.50e3}`, `{"a":`, `{"\u0000token":"x"}`, `{"a":"\ud800"}`, "2" + strings.Repeat("0", 320),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := MaskArgs(in)
		if !json.Valid(out) {
			t.Fatalf("MaskArgs(%q) = %q, not JSON", in, out)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber() // numbers beyond float64 are kept as written
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		assertMasked(t, v)
		if again := MaskArgs(out); !bytes.Equal(again, out) {
			t.Fatalf("MaskArgs is not idempotent: %q then %q", out, again)
		}
	})
}

func assertMasked(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			if IsSecretKey(k) && val != Mask {
				t.Fatalf("secret-looking key %q kept %v", k, val)
			}
			assertMasked(t, val)
		}
	case []any:
		for _, val := range v {
			assertMasked(t, val)
		}
	}
}
