package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMaskArgs(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"empty", ``, `{}`},
		{"blank", " \n", `{}`},
		{"nothing secret", `{"vm_id": "vm-42", "limit": 10, "power_states": ["POWERED_ON"]}`, `{"limit":10,"power_states":["POWERED_ON"],"vm_id":"vm-42"}`},
		{
			"top level",
			`{"password": "p", "Token": "t", "api_key": "k", "ApiKey": "k", "API-KEY": "k", "Authorization": "Bearer x"}`,
			`{"API-KEY":"***","ApiKey":"***","Authorization":"***","Token":"***","api_key":"***","password":"***"}`,
		},
		{
			"at depth, in lists, whatever the value",
			`{"spec": {"guest": {"customization": [{"admin_passwd": "p", "user": "u"}], "session_id": 7}}, "private_key": {"pem": "x"}}`,
			`{"private_key":"***","spec":{"guest":{"customization":[{"admin_passwd":"***","user":"u"}],"session_id":"***"}}}`,
		},
		{
			"substrings",
			`{"vcenter_password_file": "/x", "x-cookie": "c", "client_secret": "s", "credentials": ["a"], "passphrase": "p", "pwd": "p"}`,
			`{"client_secret":"***","credentials":"***","passphrase":"***","pwd":"***","vcenter_password_file":"***","x-cookie":"***"}`,
		},
		{"numbers kept as written", `{"memory_gb": 1.50, "big": 12345678901234567890}`, `{"big":12345678901234567890,"memory_gb":1.50}`},
		{"not an object", `["a", {"token": "t"}]`, `["a",{"token":"***"}]`},
		{"invalid JSON", `{"password": "p"`, `{"_invalid_json":true}`},
		{"trailing data", `{"a": 1} {"password": "p"}`, `{"_invalid_json":true}`},
		{"too large", `{"notes": "` + strings.Repeat("n", maxArgs) + `"}`, `{"_too_large_bytes":65548}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskArgs(json.RawMessage(tt.in))
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("MaskArgs(%.60s) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestScrubber(t *testing.T) {
	s := NewScrubber("pa ss/word", "", "pa")
	s.Add("tok")
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"nothing here", "nothing here"},
		{"pw=pa ss/word.", "pw=***."}, // the longer secret wins over "pa"
		{"q=pa+ss%2Fword&p=pa%20ss%2Fword", "q=***&p=***"}, // query and path escaped forms
		{"at /pa%20ss%2Fword/", "at /***/"},
		{"path", "***th"}, // short secrets garble text; that is the price
		{"tokens: tok tok", "***ens: *** ***"},
	} {
		if got := s.Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var none *Scrubber
	if got := none.Scrub("pa ss/word"); got != "pa ss/word" {
		t.Errorf("nil Scrubber changed the text: %q", got)
	}
	if got := new(Scrubber).Scrub("x"); got != "x" {
		t.Errorf("zero Scrubber changed the text: %q", got)
	}
}

func TestIsSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"password": true, "PASSWORD": true, "guest_password": true, "Session-Id": true,
		"private.key": true, "authorization": true, "set-cookie": true, "credential": true,
		"vm_name": false, "hostname": false, "snapshot_id": false, "memory_mib": false,
		"description": false, "confirm": false,
	} {
		if got := IsSecretKey(key); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}
