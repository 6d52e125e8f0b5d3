package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
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

// TestAuditLinesScrubWithoutCorrupting is the red team's finding: with token
// "e" the first release wrote "tool":"g***t_vm_d***tails" into the hash-chained
// audit line, and with password "p" turned "http" into "htt***".
func TestAuditLinesScrubWithoutCorrupting(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, WithScrubber(redact.New("e", "p", "Long-Passw0rd")))
	if err := l.Append(&Record{
		Tool: "get_vm_details", Args: json.RawMessage(`{"url":"http://vc1/", "note":"p", "x":"is Long-Passw0rd!"}`),
		Error: "user e refused", RequestID: "abc-e",
	}); err != nil {
		t.Fatal(err)
	}
	var got Record
	if err := json.Unmarshal([]byte(strings.Split(buf.String(), "\n")[1]), &got); err != nil {
		t.Fatal(err)
	}
	if got.Tool != "get_vm_details" || got.Error != "user *** refused" || got.RequestID != "abc-***" {
		t.Errorf("tool %q, error %q, request id %q", got.Tool, got.Error, got.RequestID)
	}
	if want := `{"note":"***","url":"http://vc1/","x":"is ***!"}`; string(got.Args) != want {
		t.Errorf("args = %s, want %s", got.Args, want)
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
