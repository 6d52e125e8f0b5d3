package tools

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestValidationMessages: a call with invalid arguments gets one sentence
// per problem, worded for a person, and the call is audited invalid_args
// with the same text.
func TestValidationMessages(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	before := s.sim.Counters().Requests
	for _, tt := range []struct {
		tool string
		args string
		want []string
	}{
		{"list_vms", `{"limit":0}`, []string{"limit must be between 1 and 1000"}},
		{"list_vms", `{"limit":1001}`, []string{"limit must be between 1 and 1000"}},
		{"list_vms", `{"limit":"ten"}`, []string{"limit must be a whole number"}},
		{"list_vms", `{"limit":1.5}`, []string{"limit must be a whole number"}},
		{"list_vms", `{"power_states":["POWERED_ON","off"]}`, []string{`power_states: "off" is not one of POWERED_ON, POWERED_OFF, SUSPENDED`}},
		{"list_vms", `{"power_states":"POWERED_ON"}`, []string{"power_states must be a list, not a string"}},
		{"list_vms", `{"names":["web-01",7]}`, []string{"names[1] must be a string, not a number"}},
		{"list_vms", `{"cursor":null}`, []string{"cursor must be a string; leave it out rather than send null"}},
		{"create_vm_snapshot", `{"vm_name":"web-01"}`, []string{"snapshot_name is required"}},
		{"create_vm_snapshot", `{"vm_name":"web-01","snapshot_name":"` + strings.Repeat("s", 81) + `"}`, []string{"snapshot_name must have at most 80 characters"}},
		{"delete_vm_snapshot", `{"vm_name":"db-01"}`, []string{"snapshot_id or snapshot_name is required"}},
		{"power_on_vm", `{}`, []string{"vm_id or vm_name is required"}},
		{"delete_vm", `{"vm_name":"backup-01","confirm":"true"}`, []string{"confirm must be true or false (the JSON boolean, not a string)"}},
		{"modify_vm_resources", `{"vm_name":"web-01","cpu_count":0,"memory_gb":-1}`, []string{"cpu_count must be between 1 and 768. memory_gb must be between 0.00390625 and 24576"}},
		{"list_vms", `[1,2]`, []string{"the arguments must be a JSON object, not a list"}},
		{"list_vms", `{"limit":0,"power_states":["off"],"cursor":5,"names":"x","hosts":[1],"clusters":{},"folders":3}`,
			[]string{"limit must be between 1 and 1000", "(and 2 more problems)"}},
		{"power_on_vm", `{"vm_name":"web-01","confrim":true}`, []string{`unknown argument "confrim": this tool takes vm_id, vm_name`}},
	} {
		t.Run(tt.tool+" "+tt.args, func(t *testing.T) {
			msg := s.fails(tt.tool, json.RawMessage(tt.args))
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "validating") || strings.Contains(msg, "/properties/") {
				t.Errorf("raw schema error: %q", msg)
			}
			a := s.lastAudit()
			if a["decision"] != "invalid_args" || a["tool"] != tt.tool || a["error"] != msg {
				t.Errorf("audit = %v", a)
			}
		})
	}
	if n := s.sim.Counters().Requests - before; n != 0 {
		t.Errorf("%d requests reached vCenter for invalid arguments", n)
	}
}

// TestErrorsEchoBoundedValues: whatever the caller sends, an error quotes
// at most a short piece of it; a 300 kB value was once echoed whole into
// the result and the audit line.
func TestErrorsEchoBoundedValues(t *testing.T) {
	s := newSession(t)
	huge := strings.Repeat("\xff<x>", 75_000) // 300 kB, invalid UTF-8 and markup
	var keys []string
	for i := range 1000 {
		keys = append(keys, `"k`+strings.Repeat("y", 1000)+string(rune('a'+i%26))+`":1`)
	}
	for _, tt := range []struct{ tool, args string }{
		{"list_vms", `{"limit":"` + huge + `"}`},
		{"list_vms", `{"power_states":["` + huge + `"]}`},
		{"list_vms", `{"cursor":"x","names":"` + huge + `"}`},
		{"list_vms", `{` + strings.Join(keys, ",") + `}`},
		{"power_on_vm", `{"vm_name":"` + huge + `"}`},
	} {
		res := s.call(tt.tool, json.RawMessage(tt.args))
		if !res.IsError {
			t.Errorf("%s %.40q…: succeeded", tt.tool, tt.args)
		}
		if msg := textOf(res); len(msg) > 1000 {
			t.Errorf("%s %.40q…: error of %d bytes: %.200q", tt.tool, tt.args, len(msg), msg)
		}
		if e, _ := s.lastAudit()["error"].(string); len(e) > 1000 {
			t.Errorf("%s %.40s…: audit error of %d bytes", tt.tool, tt.args, len(e))
		}
	}
}

// TestEmptyIDsAreInvalid: an id or name sent empty is a mistake, not the
// default. revert_vm_snapshot with snapshot_id "" once reverted the VM to
// its current snapshot.
func TestEmptyIDsAreInvalid(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	before := s.sim.Counters()
	for _, tt := range []struct{ tool, args, want string }{
		{"revert_vm_snapshot", `{"vm_name":"db-01","snapshot_id":"","confirm":true}`, "snapshot_id must not be empty"},
		{"revert_vm_snapshot", `{"vm_name":"db-01","snapshot_name":"","confirm":true}`, "snapshot_name must not be empty"},
		{"delete_vm_snapshot", `{"vm_name":"db-01","snapshot_id":"","snapshot_name":"after-patch","confirm":true}`, "snapshot_id must not be empty"},
		{"power_off_vm", `{"vm_id":"","vm_name":"web-01"}`, "vm_id must not be empty"},
		{"delete_vm", `{"vm_id":"vm-82","vm_name":"","confirm":true}`, "vm_name must not be empty"},
	} {
		msg := s.fails(tt.tool, json.RawMessage(tt.args))
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s %s: %q, want %q", tt.tool, tt.args, msg, tt.want)
		}
		if a := s.lastAudit(); a["decision"] != "invalid_args" {
			t.Errorf("%s %s: audit %v", tt.tool, tt.args, a)
		}
	}
	after := s.sim.Counters()
	for route, n := range after.Routes {
		if n != before.Routes[route] && !strings.HasPrefix(route, "POST /api/session") {
			t.Errorf("vCenter saw %s %d times", route, n-before.Routes[route])
		}
	}
	if _, ok := s.sim.VM("vm-82"); !ok || s.vm("vm-70").PowerState != "POWERED_ON" {
		t.Error("a VM changed")
	}
}

// TestDuplicateKeysAreRefused: encoding/json keeps the last of two equal
// keys, so {"confirm":false,"confirm":true} once deleted a VM the caller's
// first word said to keep. A document with a key twice, at any depth, is
// refused before anything reads it.
func TestDuplicateKeysAreRefused(t *testing.T) {
	s := newSession(t, withToolsets("all"))
	for _, tt := range []struct{ tool, args, want string }{
		{"delete_vm", `{"vm_name":"backup-01","confirm":false,"confirm":true}`, `the arguments name "confirm" more than once`},
		{"delete_vm", `{"vm_name":"old-app-01","vm_name":"backup-01","confirm":true}`, `"vm_name" more than once`},
		{"list_vms", `{"names":["a"],"hosts":[{"x":1,"x":2}]}`, `"hosts"[0]."x" more than once`},
		{"power_on_vm", `{"vm_name":"web-04","vm_name":"web-04"}`, `"vm_name" more than once`},
	} {
		msg := s.fails(tt.tool, json.RawMessage(tt.args))
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s %s: %q, want %q", tt.tool, tt.args, msg, tt.want)
		}
		if a := s.lastAudit(); a["decision"] != "invalid_args" {
			t.Errorf("%s %s: audit %v", tt.tool, tt.args, a)
		}
	}
	for _, id := range []string{"vm-82", "vm-104"} {
		if _, ok := s.sim.VM(id); !ok {
			t.Errorf("%s was deleted", id)
		}
	}
	if s.vm("vm-73").PowerState == "POWERED_ON" {
		t.Error("web-04 was powered on")
	}
	// Case does not make another key: the decoder would match "Confirm" to
	// confirm, so it is refused as unknown, not taken for it.
	if msg := s.fails("delete_vm", json.RawMessage(`{"vm_name":"backup-01","Confirm":true}`)); !strings.Contains(msg, `unknown argument "Confirm"`) {
		t.Errorf("Confirm: %q", msg)
	}
}

func TestDuplicateKey(t *testing.T) {
	for _, tt := range []struct {
		doc, skip, path string
		found, bad      bool
	}{
		{doc: `{"a":1,"b":{"a":2}}`},
		{doc: `{"a":1,"a":2}`, path: `"a"`, found: true},
		{doc: `{"a":[{"b":1},{"b":1,"c":[1,{"d":0,"d":0}]}]}`, path: `"a"[1]."c"[1]."d"`, found: true},
		{doc: `{"params":{"arguments":{"x":1,"x":2}},"id":1}`, skip: "params.arguments"},
		{doc: `{"params":{"arguments":{"x":1},"arguments":{}}}`, skip: "params.arguments", path: `"params"."arguments"`, found: true},
		{doc: `{"id":1,"id":2,"params":{"arguments":{}}}`, skip: "params.arguments", path: `"id"`, found: true},
		{doc: `{"` + strings.Repeat("k", 500) + `":1,"` + strings.Repeat("k", 500) + `":2}`, path: `"` + strings.Repeat("k", 40) + `…"`, found: true},
		{doc: `{"a":`, bad: true},
		{doc: `{"a":1} {}`, bad: true},
		{doc: `[[[[[]]]]]`},
		{doc: `"x"`},
		// Keys that decode alike are the same key, however written.
		{doc: `{"a":1,"\u0061":2}`, path: `"a"`, found: true},
		{doc: "{\"\xff\":1,\"\xfe\":2}", path: "\"\ufffd\"", found: true},
		{doc: ` { "x" : [ {"y":1 , "y" : 2} ] } `, path: `"x"[0]."y"`, found: true},
		{doc: `{"a":{"b":{},"c":{"b":{}}},"b":[{"a":1},{"a":2}],"é":1,"e":2}`},
	} {
		path, found, err := DuplicateKey([]byte(tt.doc), tt.skip)
		if path != tt.path || found != tt.found || (err != nil) != tt.bad {
			t.Errorf("DuplicateKey(%.60s, %q) = %q, %v, %v; want %q, %v, error %v", tt.doc, tt.skip, path, found, err, tt.path, tt.found, tt.bad)
		}
	}
}

// FuzzDuplicateKey: the byte scan that answers for documents without a
// duplicate never answers where the token-by-token reading finds one, or
// finds the document invalid.
func FuzzDuplicateKey(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":{"a":2}}`, `{"a":1,"a":2}`, `{"params":{"arguments":{"x":1,"x":2}},"id":1}`,
		`{"a":1,"\u0061":2}`, "{\"\xff\":1,\"\xfe\":2}", `[{"a":[{"b":1,"c":{"b":1}}]},"x",1.5e3,null,true]`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":{"a":1}}}}`,
	} {
		f.Add(seed, "")
		f.Add(seed, "params.arguments")
	}
	f.Fuzz(func(t *testing.T, doc, skip string) {
		var skipPath []string
		if skip != "" {
			skipPath = strings.Split(skip, ".")
		}
		path, found, err := DuplicateKey([]byte(doc), skip)
		wantPath, wantFound, wantErr := duplicateKeyTokens([]byte(doc), skipPath)
		if path != wantPath || found != wantFound || (err == nil) != (wantErr == nil) {
			t.Fatalf("DuplicateKey(%q, %q) = %q, %v, %v; token by token %q, %v, %v", doc, skip, path, found, err, wantPath, wantFound, wantErr)
		}
	})
}

// TestValidatorKnowsEveryKeyword: validateArgs implements the keywords the
// catalogue's input schemas use; a schema edit that uses another one must
// extend it, or the SDK's raw message would reach the user again.
func TestValidatorKnowsEveryKeyword(t *testing.T) {
	known := map[string]bool{"type": true, "properties": true, "required": true, "enum": true, "minimum": true, "maximum": true,
		"minLength": true, "maxLength": true, "items": true, "minItems": true, "maxItems": true, "description": true}
	var walk func(tool string, s map[string]any)
	walk = func(tool string, s map[string]any) {
		for k, v := range s {
			if !known[k] {
				t.Errorf("%s: input schema keyword %q is not checked by validateArgs", tool, k)
			}
			switch k {
			case "properties":
				for _, p := range v.(map[string]any) {
					walk(tool, p.(map[string]any))
				}
			case "items":
				walk(tool, v.(map[string]any))
			}
		}
	}
	for _, tool := range All(Deps{Hosts: []string{"a:443", "b:443"}}) {
		b, err := json.Marshal(tool.InputSchema())
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		walk(tool.Def.Name, m)
	}
}
