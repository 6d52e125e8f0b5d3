package redact

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestShortSecretsOnlyAsWholeTokens(t *testing.T) {
	for _, tt := range []struct {
		name, secret, in, want string
	}{
		// The red-team findings: a one-letter password or token garbled text
		// (and the hash-chained audit line) wherever the letter occurred.
		{"password p inside a word", "p", "http://vc1/api", "http://vc1/api"},
		{"token e inside a tool name", "e", `"tool":"get_vm_details"`, `"tool":"get_vm_details"`},
		{"underscore joins a token", "vm", "get_vm_details", "get_vm_details"},
		{"short secret alone", "p", "pw=p&x", "pw=***&x"},
		{"at the edges", "p", "p", "***"},
		{"quoted", "admin1", `user "admin1" refused`, `user "***" refused`},
		{"after a colon and a space", "vmware1", "password: vmware1", "password: ***"},
		{"glued to a digit", "abc", "abc1 xabc abc", "abc1 xabc ***"},
		{"unicode letters are word characters", "abc", "éabc abcé abc", "éabc abcé ***"},
		{"several occurrences", "tok", "tok tok,tok;tokens", "*** ***,***;tokens"},
		{"non-word edges need no boundary", "&p!", "x&p!y", "x***y"},
		{"URL-escaped short form as a token", "p&", "q=p%26&r=1", "q=***&r=1"},
		{"seven bytes is still short", "Passw0r", "myPassw0rd Passw0r", "myPassw0rd ***"},
		// From MinAnywhere bytes on, anywhere.
		{"long secret inside a word", "Passw0rd", "myPassw0rds", "my***s"},
		{"long secret in a URL", "S3cret-Pw!", "https://u:S3cret-Pw%21@vc/", "https://u:***@vc/"},
		{"long secret JSON-escaped", `pa<"ss&wd`, `{"m":"pa\u003c\"ss\u0026wd"} {"m":"pa<\"ss&wd"}`, `{"m":"***"} {"m":"***"}`},
		{"long secret path-escaped", "pa ss/word", "at /pa%20ss%2Fword/ and q=pa+ss%2Fword", "at /***/ and q=***"},
		{"nothing to replace", "Passw0rd", "nothing here", "nothing here"},
		{"empty text", "Passw0rd", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.secret)
			if got := s.Scrub(tt.in); got != tt.want {
				t.Errorf("New(%q).Scrub(%q) = %q, want %q", tt.secret, tt.in, got, tt.want)
			}
			if got, want := s.Contains(tt.in), tt.in != tt.want; got != want {
				t.Errorf("Contains(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

func TestOverlappingSecrets(t *testing.T) {
	for _, tt := range []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		// strings.Replacer took the leftmost match and left the rest of the
		// second secret in clear: "***345678xy".
		{"two long secrets overlap", []string{"abcdefgh12", "12345678xy"}, "<abcdefgh12345678xy>", "<***>"},
		{"touching secrets become one mask", []string{"abcdefgh", "12345678"}, "abcdefgh12345678", "***"},
		{"a secret inside another", []string{"Passw0rd", "xPassw0rdx"}, "a xPassw0rdx b Passw0rd", "a *** b ***"},
		{"overlapping occurrences of one secret", []string{"aaaaaaaa"}, "aaaaaaaaaaaa-b", "***-b"},
		{"a short secret glued to a long one was no token", []string{"Qw3rty-Long", "ab"}, "Qw3rty-Longab x", "***ab x"},
		{"masking joins the pieces of a long secret", []string{"abc***defgh", "Passw0rd"}, "abcPassw0rddefgh", "***"},
		{"longer first at the same place", []string{"Passw0rd", "Passw0rd123"}, "Passw0rd123", "***"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.secrets...).Scrub(tt.in); got != tt.want {
				t.Errorf("Scrub(%q) with %q = %q, want %q", tt.in, tt.secrets, got, tt.want)
			}
		})
	}
}

func TestAddCredentials(t *testing.T) {
	const user, password = "administrator@vsphere.local", `p<"w&d`
	s := new(Scrubber)
	s.AddCredentials(user, password)
	s.AddCredentials(user, "") // adds nothing
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for _, form := range []string{
		`p<"w&d`, `p\u003c\"w\u0026d`, `p<\"w&d`, "p%3C%22w%26d", basic,
	} {
		in := "echo: " + form + " end"
		if got := s.Scrub(in); got != "echo: *** end" {
			t.Errorf("Scrub(%q) = %q, want the form masked", in, got)
		}
	}
	if got := s.Scrub("Authorization: Basic " + basic); got != "Authorization: Basic ***" {
		t.Errorf("basic auth header: %q", got)
	}
	if got := s.Scrub(user); got != user {
		t.Errorf("the user name is not a secret: %q", got)
	}
}

func TestNilAndZeroScrubbers(t *testing.T) {
	var none *Scrubber
	if got := none.Scrub("Passw0rd"); got != "Passw0rd" || none.Contains("Passw0rd") {
		t.Errorf("nil Scrubber changed the text: %q", got)
	}
	if got := new(Scrubber).Scrub("x"); got != "x" {
		t.Errorf("zero Scrubber changed the text: %q", got)
	}
	s := New("", "*", "***")
	if got := s.Scrub("a * b *** c"); got != "a * b *** c" {
		t.Errorf("mask-only secrets must be ignored (they would never converge): %q", got)
	}
}

func TestAddLater(t *testing.T) {
	s := New("Passw0rd")
	s.Add("session-token-1234")
	if got := s.Scrub("Passw0rd session-token-1234"); got != "*** ***" {
		t.Errorf("Scrub = %q", got)
	}
	if got, found := s.ScrubFound("clean"); got != "clean" || found {
		t.Errorf("ScrubFound(clean) = %q, %v", got, found)
	}
	if got, found := s.ScrubFound("x Passw0rd"); got != "x ***" || !found {
		t.Errorf("ScrubFound = %q, %v", got, found)
	}
}

// TestHugeInputs checks that scrubbing stays linear: 6 MB of text (the
// size of the red team's tool name) with many and with no matches.
func TestHugeInputs(t *testing.T) {
	s := New("Passw0rd-long", "p", "aaaaaaaa")
	for _, tt := range []struct {
		name, in string
		check    func(string) bool
	}{
		{"no match", strings.Repeat("\xff", 6_000_000), func(out string) bool { return len(out) == 6_000_000 }},
		{"dense long matches", strings.Repeat("Passw0rd-long", 460_000), func(out string) bool { return out == Mask }},
		{"overlapping run", strings.Repeat("a", 6_000_000), func(out string) bool { return out == Mask }},
		{"dense short tokens", strings.Repeat("p ", 3_000_000), func(out string) bool { return out == strings.Repeat("*** ", 3_000_000) }},
		{"short secret never whole", strings.Repeat("pq", 3_000_000), func(out string) bool { return len(out) == 6_000_000 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out := s.Scrub(tt.in)
			if !tt.check(out) {
				t.Errorf("Scrub of %d bytes gave %d bytes: %.40q…", len(tt.in), len(out), out)
			}
			t.Logf("%d bytes in %v", len(tt.in), time.Since(start))
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New("Passw0rd")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			s.Add("token-" + strings.Repeat("x", 8+i))
		}
	}()
	for range 100 {
		if got := s.Scrub("a Passw0rd b"); got != "a *** b" {
			t.Errorf("Scrub = %q", got)
		}
	}
	<-done
}

func BenchmarkScrub(b *testing.B) {
	s := New("S3cret-Passw0rd", "launch-token-Qm7Zx")
	s.AddCredentials("administrator@vsphere.local", "S3cret-Passw0rd")
	line := `{"ts":"2026-11-24T12:00:00Z","tool":"power_on_vm","decision":"allowed","ok":true,"args":{"vm_name":"web-01"},"role":"ops","vcenter":"vc1.example.com","request_id":"abc-17"}`
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		s.Scrub(line)
	}
}

// TestScrubExceptIsNoOracle: the client's own input comes back as sent, so
// that the answer does not say which guess was a secret; every other secret
// in the text is still replaced.
func TestScrubExceptIsNoOracle(t *testing.T) {
	const password, token = "hunter2-is-the-password", "tok-0123456789abcdef"
	s := New(token)
	s.AddCredentials("admin@vsphere.local", password)
	for _, guess := range []string{"wrong-guess-1234", password, token} {
		input := "hunter2|" + guess + "|letmein"
		echo := `no tool named "` + input + `"`
		if got := s.ScrubExcept(echo, input); got != echo {
			t.Errorf("guess %q: echo changed to %q: an oracle", guess, got)
		}
	}
	// A secret the client did not send is still removed, next to one it did.
	input := "name " + token
	got := s.ScrubExcept("echo "+input+" and vCenter said "+password, input)
	if strings.Contains(got, password) || !strings.Contains(got, token) {
		t.Errorf("ScrubExcept = %q: want the token kept (sent) and the password masked", got)
	}
	if got := s.ScrubExcept("vCenter said "+password, ""); strings.Contains(got, password) {
		t.Errorf("nothing excepted: %q", got)
	}
}
