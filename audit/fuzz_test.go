package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify: it must not panic, and its report must
// be consistent.
func FuzzVerify(f *testing.F) {
	var buf bytes.Buffer
	l := fixedClock(New(&buf))
	for range 3 {
		if err := l.Append(sampleRecord()); err != nil {
			f.Fatal(err)
		}
	}
	good := buf.String()
	lines := strings.SplitAfter(good, "\n")
	for _, seed := range []string{
		good, "", "\n", "{}\n", wantHeader + "\n", good[:len(good)-7],
		lines[0] + lines[2] + lines[1], lines[0] + lines[2], `{"seq":1,"prev":"x"}`,
		wantHeader + "\n" + `{"seq":-9223372036854775808,"prev":""}` + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if rep.Intact != (rep.First == nil) {
			t.Fatalf("Intact = %v with First = %v", rep.Intact, rep.First)
		}
		if rep.First != nil && (rep.First.Line < 1 || rep.First.Line > rep.Lines) {
			t.Fatalf("problem on line %d of %d", rep.First.Line, rep.Lines)
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
