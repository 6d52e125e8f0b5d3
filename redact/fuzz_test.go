package redact

import (
	"strings"
	"testing"
)

// FuzzScrub scrubs any text with any secret: no long secret survives
// anywhere, no short one as a whole token, and text without a secret comes
// back unchanged.
func FuzzScrub(f *testing.F) {
	for _, seed := range [][2]string{
		{"p", "http pw=p&x"}, {"e", `"tool":"get_vm_details"`}, {"Passw0rd", "myPassw0rds"},
		{"aaaaaaaa", "aaaaaaaaaaaaa"}, {"abc***defg", "abcPassw0rddefg"}, {`pa<"ss&wd`, `"pa\u003c\"ss\u0026wd"`},
		{"é", "é éa"}, {"\xff", "\xff\xff x"}, {"*", "***"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, secret, text string) {
		s := New(secret, "Passw0rd")
		out, found := s.ScrubFound(text)
		if !found && out != text {
			t.Fatalf("nothing found, but the text changed: %q → %q", text, out)
		}
		if found && out == text {
			t.Fatalf("found a secret in %q but changed nothing", text)
		}
		for _, form := range append(formsOf(secret), formsOf("Passw0rd")...) {
			if len(form) >= MinAnywhere && strings.Contains(out, form) {
				t.Fatalf("Scrub(%q) = %q still holds %q", text, out, form)
			}
		}
		if s.Contains(text) != found {
			t.Fatalf("Contains and ScrubFound disagree on %q", text)
		}
	})
}
