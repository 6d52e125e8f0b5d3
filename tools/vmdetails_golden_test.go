package tools

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestGetVMDetailsGolden keeps get_vm_details' answers for every VM of the
// default inventory identical, on every dialect and on a vCenter without
// VI/JSON, twice in a row (cold caches, then warm). The golden files were
// written by the code before the per-call optimisations of issue 14;
// -update rewrites them.
//
// A JSON text block is compared by value: since the typed adapter marshals
// the result once, its keys come in the struct's order (id, name,
// power_state first) instead of the sorted order of the SDK's re-marshal.
func TestGetVMDetailsGolden(t *testing.T) {
	for _, c := range []struct {
		name    string
		mode    vcenter.Mode
		release string
	}{
		{"api", vcenter.ModeAPI, ""},
		{"rest", vcenter.ModeREST, ""},
		{"api-8.0.0", vcenter.ModeAPI, "8.0.0.0"},
		{"api-8.0.2", vcenter.ModeAPI, "8.0.2.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t, withMode(c.mode), withSim(vcentersim.Options{Release: c.release}))
			var got bytes.Buffer
			for round := range 2 {
				var b bytes.Buffer
				for _, vm := range append(s.sim.VMs(), s.sim.Templates()...) {
					res := s.call("get_vm_details", map[string]any{"vm_id": vm.ID})
					line, err := json.Marshal(map[string]any{"vm": vm.ID, "error": res.IsError, "text": canonical(textOf(res)), "structured": res.StructuredContent})
					if err != nil {
						t.Fatal(err)
					}
					b.Write(line)
					b.WriteByte('\n')
				}
				for _, id := range []string{"vm-99999", "vm-1"} {
					res := s.call("get_vm_details", map[string]any{"vm_id": id})
					line, _ := json.Marshal(map[string]any{"vm": id, "error": res.IsError, "text": canonical(textOf(res))})
					b.Write(line)
					b.WriteByte('\n')
				}
				if round == 0 {
					got = b
				} else if !bytes.Equal(b.Bytes(), got.Bytes()) {
					t.Errorf("warm caches changed the answers:\n%s\nwant\n%s", b.Bytes(), got.Bytes())
				}
			}
			path := filepath.Join("testdata", "vmdetails", c.name+".jsonl")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				gl, wl := bytes.Split(got.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
				for i := range min(len(gl), len(wl)) {
					if !bytes.Equal(gl[i], wl[i]) {
						t.Fatalf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%d lines, want %d", len(gl), len(wl))
			}
		})
	}
}

// canonical re-marshals a JSON text with sorted keys, as the SDK's
// unmarshal-and-marshal did; other text is returned as it is.
func canonical(text string) string {
	var v any
	if json.Unmarshal([]byte(text), &v) != nil {
		return text
	}
	b, err := json.Marshal(v)
	if err != nil {
		return text
	}
	return string(b)
}
