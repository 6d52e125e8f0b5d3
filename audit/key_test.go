package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, perm os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "  "+strings.Repeat("ab", 32)+"\n", 0o600)
	key, err := LoadKey(good)
	if err != nil || string(key) != strings.Repeat("ab", 32) {
		t.Errorf("LoadKey(good) = %q, %v; want the hex text without white space", key, err)
	}
	short := write("short", strings.Repeat("a", 31)+"\n", 0o600)
	if _, err := LoadKey(short); err == nil || !strings.Contains(err.Error(), "31 bytes, want at least 32") {
		t.Errorf("LoadKey(short) error = %v", err)
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadKey(missing) succeeded")
	}
	if runtime.GOOS != "windows" {
		for _, perm := range []os.FileMode{0o640, 0o604, 0o620, 0o644} {
			p := write(fmt.Sprintf("mode%o", perm), strings.Repeat("k", 64), perm)
			_, err := LoadKey(p)
			want := fmt.Sprintf("audit key %s: mode %04o lets group or others access it; run: chmod 600 %s", p, perm, p)
			if err == nil || err.Error() != want {
				t.Errorf("LoadKey(mode %04o) error:\n got %v\nwant %s", perm, err, want)
			}
		}
	}
	if _, err := Open(filepath.Join(dir, "a.jsonl"), WithKey([]byte("short"))); err == nil {
		t.Error("Open with a 5-byte key succeeded")
	}
}

// keyedLog returns the lines of a keyed log: a header and n records.
func keyedLog(t *testing.T, key []byte, n int) []string {
	t.Helper()
	var buf bytes.Buffer
	l := fixedClock(New(&buf, WithKey(key)))
	for i := range n {
		r := sampleRecord()
		r.RequestID = fmt.Sprint(i + 1)
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func TestKeyedLineShape(t *testing.T) {
	lines := keyedLog(t, testKey, 1)
	id := KeyID(testKey)
	if !strings.Contains(lines[0], `"key_id":"`+id+`"`) || len(id) != 16 {
		t.Errorf("header %s, want key_id %s (16 hex digits)", lines[0], id)
	}
	for _, leak := range []string{string(testKey), hex.EncodeToString(testKey)} {
		if strings.Contains(strings.Join(lines, "\n"), leak) {
			t.Errorf("the log holds the key (%q)", leak)
		}
	}
	for i, line := range lines {
		if !authentic(testKey, []byte(line)) || !json.Valid([]byte(line)) {
			t.Errorf("line %d has no valid MAC or is not JSON: %s", i+1, line)
		}
	}
	rep, err := VerifyWith(strings.NewReader(join(lines...)), VerifyOptions{Key: testKey})
	if err != nil || !rep.OK() || !rep.Authenticated || len(rep.Problems) != 0 || rep.KeyID != id {
		t.Errorf("VerifyWith(key): %+v, %v; want authenticated, no problem", rep, err)
	}
}

// linkRE matches the end of a line: seq, prev and an optional mac.
var linkRE = regexp.MustCompile(`"seq":-?\d+,"prev":"[0-9a-f]*"(,"mac":"[0-9a-f]*")?\}$`)

// rechain rewrites lines as an attacker without the key can: fresh seq and
// prev for every line after the header, each line's old MAC kept (keepMAC) or
// dropped. Lines whose seq and prev do not change stay as they were.
func rechain(lines []string, keepMAC bool) []string {
	out := []string{lines[0]}
	for i, line := range lines[1:] {
		m := linkRE.FindStringSubmatchIndex(line)
		mac := ""
		if keepMAC && m[2] >= 0 {
			mac = line[m[2]:m[3]]
		}
		out = append(out, line[:m[0]]+fmt.Sprintf(`"seq":%d,"prev":"%s"%s}`, i+1, lineHash([]byte(out[len(out)-1])), mac))
	}
	return out
}

// TestKeyedChainDetectsRecomputedForgery is the red team's attack: delete a
// middle line, fix seq and prev after it, append a forged delete_vm line. The
// plain chain says OK (its documented limit); the keyed chain, verified with
// the key, names every line the attacker wrote.
func TestKeyedChainDetectsRecomputedForgery(t *testing.T) {
	forge := func(lines []string, keepMAC bool) string {
		cut := append(append([]string{}, lines[:7]...), lines[8:]...)
		forged := strings.Replace(lines[len(lines)-1], "power_off_vm", "delete_vm", 1)
		return join(rechain(append(cut, forged), keepMAC)...)
	}
	plain := sampleLogN(t, 13)
	if rep, _ := Verify(strings.NewReader(forge(plain, false))); !rep.OK() || rep.Lines != 14 {
		t.Fatalf("the plain chain was expected to accept the recomputed forgery: %+v", rep)
	}
	keyed := keyedLog(t, testKey, 13)
	for _, keepMAC := range []bool{true, false} {
		input := forge(keyed, keepMAC)
		rep, err := VerifyWith(strings.NewReader(input), VerifyOptions{Key: testKey})
		if err != nil {
			t.Fatal(err)
		}
		forged := 0
		for _, p := range rep.Problems {
			if p.Kind == Forged {
				forged++
			}
		}
		// With the old MACs kept, lines 8 to 14 were rewritten (new prev, or
		// seq, or both) and fail; with the MACs dropped, every record fails.
		wantFirst, wantForged := 8, 7
		if !keepMAC {
			wantFirst, wantForged = 2, 13
		}
		if rep.OK() || rep.Intact || rep.Authenticated || forged != wantForged || rep.First == nil || rep.First.Line != wantFirst || rep.First.Kind != Forged {
			t.Errorf("keep MACs %v: OK %v, intact %v, authenticated %v, %d forged lines, first %v; want line %d first and %d forged lines",
				keepMAC, rep.OK(), rep.Intact, rep.Authenticated, forged, rep.First, wantFirst, wantForged)
		}
		// Without the key, the same file: its structure only, and it says so.
		rep, _ = Verify(strings.NewReader(input))
		if keepMAC && (!rep.Intact || rep.Authenticated || !hasKind(rep, NotAuthenticated)) {
			t.Errorf("without the key: intact %v, authenticated %v, problems %v; want intact (structure), not authenticated, and a note saying so", rep.Intact, rep.Authenticated, rep.Problems)
		}
		if !keepMAC && (rep.Intact || rep.First.Kind != Forged) {
			t.Errorf("without the key, lines without MAC in a keyed file: first problem %v, want forged", rep.First)
		}
	}
}

func sampleLogN(t *testing.T, n int) []string {
	t.Helper()
	var buf bytes.Buffer
	l := fixedClock(New(&buf))
	for i := range n {
		r := sampleRecord()
		r.RequestID = fmt.Sprint(i + 1)
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func hasKind(rep Report, k ProblemKind) bool {
	for _, p := range rep.Problems {
		if p.Kind == k {
			return true
		}
	}
	return false
}

func TestVerifyKeyMismatches(t *testing.T) {
	otherKey := bytes.Repeat([]byte("z"), 40)
	keyed := join(keyedLog(t, testKey, 3)...)
	plain := join(sampleLog(t)...)
	for _, tt := range []struct {
		name   string
		input  string
		key    []byte
		ok     bool
		kind   ProblemKind
		detail string
	}{
		{"keyed file, no key", keyed, nil, true, NotAuthenticated,
			"4 line(s) from line 1 are keyed (key id " + KeyID(testKey) + "): without the key only their structure was checked, not who wrote them"},
		{"unkeyed file, a key", plain, testKey, false, Unkeyed,
			"6 line(s) from line 1 are not keyed: the key cannot authenticate them, and anyone who could write the file could have rewritten them"},
		{"keyed file, another key", keyed, otherKey, false, OtherKey,
			"4 line(s) from line 1 are keyed with key id " + KeyID(testKey) + ", not with the key given (key id " + KeyID(otherKey) + "): they cannot be authenticated"},
		{"downgraded: MACs and key id stripped, hashes recomputed", join(rechain(append([]string{plain[:0] + strings.Split(plain, "\n")[0]}, keyedLog(t, testKey, 3)[1:]...), false)...), testKey, false, Unkeyed,
			"4 line(s) from line 1 are not keyed: the key cannot authenticate them, and anyone who could write the file could have rewritten them"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := VerifyWith(strings.NewReader(tt.input), VerifyOptions{Key: tt.key})
			if err != nil {
				t.Fatal(err)
			}
			want := []Problem{{Line: 1, Kind: tt.kind, Detail: tt.detail}}
			if rep.OK() != tt.ok || !rep.Intact || rep.Authenticated || len(rep.Problems) != 1 || rep.Problems[0] != want[0] {
				t.Errorf("OK %v, intact %v, authenticated %v, problems %v; want OK %v, intact, %v", rep.OK(), rep.Intact, rep.Authenticated, rep.Problems, tt.ok, want)
			}
		})
	}
}

// TestKeyChangesMidFile: a file begun without a key and continued with one
// (the operator set AUDIT_KEY_FILE) stays one chain, under a key_changed
// header; the unkeyed lines are reported when verifying with the key, and
// rotating the file gives a wholly authenticated one. A forged line appended
// to a keyed file makes the next keyed writer start a run of its own, and the
// forged line is named.
func TestKeyChangesMidFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	appendWith := func(n int, opts ...Option) {
		l, err := Open(path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for range n {
			if err := l.Append(sampleRecord()); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendWith(2)
	appendWith(2, WithKey(testKey))
	rep := verifyPath(t, path, testKey)
	want := []Problem{{Line: 1, Kind: Unkeyed, Detail: "3 line(s) from line 1 are not keyed: the key cannot authenticate them, and anyone who could write the file could have rewritten them"}}
	if !rep.Intact || rep.Authenticated || len(rep.Problems) != 1 || rep.Problems[0] != want[0] || rep.Lines != 6 {
		t.Errorf("unkeyed then keyed: %d lines, intact %v, authenticated %v, problems %v", rep.Lines, rep.Intact, rep.Authenticated, rep.Problems)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(strings.Split(string(data), "\n")[3], `"reason":"key_changed"`) {
		t.Errorf("line 4 is not a key_changed header:\n%s", data)
	}

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendWith(2, WithKey(testKey))
	if rep := verifyPath(t, path, testKey); !rep.OK() || !rep.Authenticated || len(rep.Problems) != 0 {
		t.Errorf("after rotation: %+v", rep)
	}

	appendRaw(t, path, `{"tool":"delete_vm","seq":3,"prev":"`+zeroHash+`"}`+"\n")
	appendWith(1, WithKey(testKey))
	rep = verifyPath(t, path, testKey)
	if rep.OK() || len(rep.Problems) != 2 || rep.Problems[1].Line != 4 || rep.Problems[1].Kind != Forged {
		t.Errorf("forged line then a keyed writer: problems %v; want its broken link and line 4 forged", rep.Problems)
	}
}
