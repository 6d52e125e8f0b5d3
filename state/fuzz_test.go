package state

import (
	"strings"
	"testing"
)

// FuzzCheckURL: a SERVER_STATE_URL holding a password is always refused,
// and no error ever quotes the password, whatever surrounds it.
func FuzzCheckURL(f *testing.F) {
	for _, seed := range [][2]string{
		{"s3cr3t-password", "redis:6379/0"}, {"s3cr3t-password", "redis:bad/0"}, {"s3cr3t-password", "/0"},
		{"s3cr3t-password", "h@redis:6379/0?x=y#z"}, {"s3cr3t-password", "[::1:6379/0"}, {"s3cr3t-password", "redis:6379/0/%zz"},
		{"00000000", "#\x00000000"}, // CI: the escaped fragment spelled the password
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, password, rest string) {
		if len(password) < 8 || strings.ContainsAny(password, "@/?#:[]%") || strings.Contains(rest, password) {
			return
		}
		raw := "redis://user:" + password + "@" + rest
		_, err := CheckURL(raw)
		if err == nil {
			t.Fatalf("CheckURL(%q) accepted a password in the URL", raw)
		}
		// A password that is a word of the fixed guidance ("password",
		// "FILE") is not a leak: the same URL with another password of
		// the same length must give an error without it.
		_, other := CheckURL("redis://user:" + strings.Repeat("Q", len(password)) + "@" + rest)
		if strings.Contains(err.Error(), password) && (other == nil || !strings.Contains(other.Error(), password)) {
			t.Fatalf("CheckURL(%q): the error quotes the password: %v", raw, err)
		}
	})
}
