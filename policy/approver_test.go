package policy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newTestApprover(t *testing.T, clock *time.Time) *Approver {
	t.Helper()
	a, err := NewApprover([]byte("0123456789abcdef0123456789abcdef"), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return *clock }
	return a
}

func TestApprover(t *testing.T) {
	issued := Binding{
		Tool:     "delete_vm",
		Args:     json.RawMessage(`{"vm_id": "vm-42", "options": {"b": 1, "a": [1.50, "x"]}}`),
		TargetID: "vm-42",
		TokenFP:  Fingerprint(tokAlice),
	}
	with := func(f func(*Binding)) Binding {
		b := issued
		f(&b)
		return b
	}
	for _, tt := range []struct {
		name    string
		binding Binding
		later   time.Duration
		alter   func(state string) string
		wantErr error
	}{
		{name: "same call", binding: issued},
		{
			name: "same call with confirm, reordered members and spacing",
			binding: with(func(b *Binding) {
				b.Args = json.RawMessage(`{"options":{"a":[1.50,"x"],"b":1},"confirm":true,"vm_id":"vm-42"}`)
			}),
		},
		{name: "just before expiry", binding: issued, later: 5*time.Minute - 1},
		{name: "expired", binding: issued, later: 5 * time.Minute, wantErr: ErrStateExpired},
		{name: "other tool", binding: with(func(b *Binding) { b.Tool = "delete_vm_snapshot" }), wantErr: ErrStateMismatch},
		{name: "other target", binding: with(func(b *Binding) { b.TargetID = "vm-43" }), wantErr: ErrStateMismatch},
		{name: "other token", binding: with(func(b *Binding) { b.TokenFP = Fingerprint(tokBob) }), wantErr: ErrStateMismatch},
		{name: "other args", binding: with(func(b *Binding) {
			b.Args = json.RawMessage(`{"vm_id": "vm-43", "options": {"b": 1, "a": [1.50, "x"]}}`)
		}), wantErr: ErrStateMismatch},
		{name: "number written differently", binding: with(func(b *Binding) { b.Args = json.RawMessage(`{"vm_id": "vm-42", "options": {"b": 1, "a": [1.5, "x"]}}`) }), wantErr: ErrStateMismatch},
		{name: "nested confirm counts", binding: with(func(b *Binding) {
			b.Args = json.RawMessage(`{"vm_id": "vm-42", "options": {"b": 1, "a": [1.50, "x"], "confirm": true}}`)
		}), wantErr: ErrStateMismatch},
		{name: "args not an object", binding: with(func(b *Binding) { b.Args = json.RawMessage(`[]`) }), wantErr: ErrStateMismatch},
		{name: "altered expiry", binding: issued, alter: flipByte(3), wantErr: ErrStateInvalid},
		{name: "altered nonce", binding: issued, alter: flipByte(12), wantErr: ErrStateInvalid},
		{name: "altered digest", binding: issued, alter: flipByte(40), wantErr: ErrStateInvalid},
		{name: "altered data", binding: issued, alter: flipByte(58), wantErr: ErrStateInvalid},
		{name: "altered mac", binding: issued, alter: flipByte(-1), wantErr: ErrStateInvalid},
		{name: "truncated", binding: issued, alter: func(s string) string { return s[:40] }, wantErr: ErrStateInvalid},
		{name: "not base64url", binding: issued, alter: func(s string) string { return s + "!" }, wantErr: ErrStateInvalid},
		{name: "empty", binding: issued, alter: func(string) string { return "" }, wantErr: ErrStateInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := t0
			a := newTestApprover(t, &clock)
			state, err := a.Issue(issued, []byte("req-7"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.alter != nil {
				state = tt.alter(state)
			}
			clock = clock.Add(tt.later)
			data, err := a.Verify(state, tt.binding)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %q, %v; want error %v", data, err, tt.wantErr)
			}
			if err == nil && string(data) != "req-7" {
				t.Errorf("Verify data = %q, want %q", data, "req-7")
			}
		})
	}
}

// flipByte alters byte i (from the end when negative) of a decoded state.
func flipByte(i int) func(string) string {
	return func(state string) string {
		raw, err := base64.RawURLEncoding.DecodeString(state)
		if err != nil {
			panic(err)
		}
		if i < 0 {
			i += len(raw)
		}
		raw[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(raw)
	}
}

func TestApproverReplay(t *testing.T) {
	clock := t0
	a := newTestApprover(t, &clock)
	b := Binding{Tool: "delete_vm", TargetID: "vm-42", TokenFP: Fingerprint(tokAlice)}
	state, err := a.Issue(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	mismatch := b
	mismatch.TargetID = "vm-1"
	if _, err := a.Verify(state, mismatch); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("Verify(other target) = %v, want ErrStateMismatch", err)
	}
	// A refused attempt does not use the state up.
	if _, err := a.Verify(state, b); err != nil {
		t.Fatalf("first redeem: %v", err)
	}
	if _, err := a.Verify(state, b); !errors.Is(err, ErrStateReplayed) {
		t.Fatalf("second redeem = %v, want ErrStateReplayed", err)
	}
	other, err := a.Issue(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(other, b); err != nil {
		t.Errorf("a second state for the same call: %v", err)
	}
	// Once expired, used nonces are forgotten and the expiry check refuses.
	clock = clock.Add(5 * time.Minute)
	if _, err := a.Verify(state, b); !errors.Is(err, ErrStateExpired) {
		t.Errorf("redeem after expiry = %v, want ErrStateExpired", err)
	}
	fresh, err := a.Issue(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(fresh, b); err != nil {
		t.Fatal(err)
	}
	if got := len(a.used); got != 1 {
		t.Errorf("used nonces kept = %d, want 1 (the expired ones purged)", got)
	}
}

func TestApproverKeys(t *testing.T) {
	clock := t0
	a := newTestApprover(t, &clock)
	b := Binding{Tool: "delete_vm"}
	state, err := a.Issue(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewApprover(nil, time.Minute) // random key
	if err != nil {
		t.Fatal(err)
	}
	other.now = a.now
	if _, err := other.Verify(state, b); !errors.Is(err, ErrStateInvalid) {
		t.Errorf("Verify under another key = %v, want ErrStateInvalid", err)
	}
}

func TestApproverErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  []byte
		ttl  time.Duration
		want string
	}{
		{"short key", []byte("short"), time.Minute, "approval key is 5 bytes, want at least 32"},
		{"no ttl", nil, 0, "approval ttl is 0s, want a positive duration"},
	} {
		if _, err := NewApprover(tt.key, tt.ttl); err == nil || err.Error() != tt.want {
			t.Errorf("%s: NewApprover error = %v, want %s", tt.name, err, tt.want)
		}
	}
	clock := t0
	a := newTestApprover(t, &clock)
	if _, err := a.Issue(Binding{Args: json.RawMessage(`"x"`)}, nil); err == nil {
		t.Error("Issue with args that are not an object succeeded")
	}
	if _, err := a.Issue(Binding{}, make([]byte, MaxApprovalData+1)); err == nil {
		t.Error("Issue with too much data succeeded")
	}
}

func TestCanonicalArgs(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{``, `{}`},
		{`null`, `{}`},
		{`{}`, `{}`},
		{`{"confirm": true}`, `{}`},
		{`{"b": {"d": 1, "c": 2}, "a": 1e3, "confirm": false}`, `{"a":1e3,"b":{"c":2,"d":1}}`},
	} {
		got, err := canonicalArgs(json.RawMessage(tt.in))
		if err != nil {
			t.Errorf("canonicalArgs(%s): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, string(got)); diff != "" {
			t.Errorf("canonicalArgs(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, in := range []string{`[]`, `1`, `{"a":1} {}`, `{"a":1}}`, `{`} {
		if got, err := canonicalArgs(json.RawMessage(in)); err == nil {
			t.Errorf("canonicalArgs(%s) = %s, want an error", in, got)
		}
	}
}

func TestApproverPeek(t *testing.T) {
	clock := t0
	a := newTestApprover(t, &clock)
	b := Binding{Tool: "delete_vm", TargetID: "vm-42", TokenFP: Fingerprint(tokAlice)}
	state, err := a.Issue(b, []byte("req-7"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // Peek neither binds nor uses the state up
		data, err := a.Peek(state)
		if err != nil || string(data) != "req-7" {
			t.Fatalf("Peek = %q, %v; want req-7, nil", data, err)
		}
	}
	if _, err := a.Verify(state, b); err != nil {
		t.Fatalf("Verify after Peek: %v", err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(state)
	raw[len(raw)-1] ^= 1
	if _, err := a.Peek(base64.RawURLEncoding.EncodeToString(raw)); !errors.Is(err, ErrStateInvalid) {
		t.Errorf("Peek(altered) = %v, want ErrStateInvalid", err)
	}
	other, err := newTestApprover(t, &clock).Issue(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	strange, _ := NewApprover(nil, time.Minute)
	if _, err := strange.Peek(other); !errors.Is(err, ErrStateInvalid) {
		t.Errorf("Peek(state of another key) = %v, want ErrStateInvalid", err)
	}
	clock = clock.Add(5 * time.Minute)
	if _, err := a.Peek(state); !errors.Is(err, ErrStateExpired) {
		t.Errorf("Peek(expired) = %v, want ErrStateExpired", err)
	}
}

func TestLoadApprovalKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := strings.Repeat("k", 64)
	if got, err := LoadApprovalKey(""); got != nil || err != nil {
		t.Errorf("no file: %v, %v; want nil, nil", got, err)
	}
	if got, err := LoadApprovalKey(write("ok", key+"\n", 0o600)); err != nil || string(got) != key {
		t.Errorf("0600: %q, %v", got, err)
	}
	if _, err := LoadApprovalKey(write("group-read", key, 0o640)); err != nil {
		t.Errorf("0640 (Kubernetes secret with fsGroup): %v", err)
	}
	for name, mode := range map[string]os.FileMode{"world-read": 0o604, "group-write": 0o660} {
		if _, err := LoadApprovalKey(write(name, key, mode)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("%s: %v, want a refusal naming chmod", name, err)
		}
	}
	if _, err := LoadApprovalKey(write("short", "abc", 0o600)); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short key: %v", err)
	}
	if _, err := LoadApprovalKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}
