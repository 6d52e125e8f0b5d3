package vcenter

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestReleaseSeam(t *testing.T) {
	for _, tt := range []struct {
		api           string
		vijson, share bool
		path          string
	}{
		{"8.0.0.0", false, false, "8.0.0.0"},
		{"8.0.0.2", false, false, "8.0.0.2"},
		{"8.0.1.0", true, false, "8.0.1.0"},
		{"8.0.2.0", true, false, "8.0.2.0"},
		{"8.0.3.0", true, true, "8.0.3.0"},
		{"8.0.10.0", true, true, "8.0.3.0"}, // numeric, not lexical: 10 > 3
		{"9.0.0.0", true, true, "8.0.3.0"},
		{"7.0.3.2", false, false, "7.0.3.2"},
	} {
		if got := hasVIJSON(tt.api); got != tt.vijson {
			t.Errorf("hasVIJSON(%s) = %v", tt.api, got)
		}
		if got := sharesSession(tt.api); got != tt.share {
			t.Errorf("sharesSession(%s) = %v", tt.api, got)
		}
		if got := pathRelease(tt.api); got != tt.path {
			t.Errorf("pathRelease(%s) = %s, want %s", tt.api, got, tt.path)
		}
	}
}

// releaseLiteral matches a string literal that looks like a vSphere
// release ("8.0.3.0", "7.0.3"), not an IPv4 address such as "127.0.0.1".
var releaseLiteral = regexp.MustCompile(`^"[5-9]\.[0-9]\.[0-9]+(\.[0-9]+)?"$`)

// TestReleaseLiteralsLiveInReleaseGo keeps the knowledge of releases in one
// file per package: release.go here and in vcentersim. A release string in
// any other non-test file (a comparison with "8.0.3.0" inline) fails.
func TestReleaseLiteralsLiveInReleaseGo(t *testing.T) {
	for _, dir := range []string{".", "vcentersim"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || filepath.Base(f) == "release.go" {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			var s scanner.Scanner
			s.Init(fset.AddFile(f, -1, len(src)), src, nil, 0) // comments are skipped
			for {
				pos, tok, lit := s.Scan()
				if tok == token.EOF {
					break
				}
				if tok == token.STRING && releaseLiteral.MatchString(lit) {
					t.Errorf("%s: release literal %s outside release.go: ask the release seam instead", fset.Position(pos), lit)
				}
			}
		}
	}
}

// TestDecodedFieldsAreTagged finds fields that decode only because
// encoding/json matches keys case-insensitively: in every struct type that
// is anonymous or has a json tag, each field must have its own tag. (The
// VM runtime's host was read through an untagged Host field.)
func TestDecodedFieldsAreTagged(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0) //nolint:staticcheck // SA1019: every file of this package builds on every platform; build tags do not matter here
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for _, file := range pkg.Files {
			named := map[*ast.StructType]bool{}
			ast.Inspect(file, func(n ast.Node) bool {
				if ts, ok := n.(*ast.TypeSpec); ok {
					if st, ok := ts.Type.(*ast.StructType); ok {
						named[st] = true
					}
				}
				return true
			})
			ast.Inspect(file, func(n ast.Node) bool {
				st, ok := n.(*ast.StructType)
				if !ok || st.Fields == nil {
					return true
				}
				tagged := false
				for _, f := range st.Fields.List {
					tagged = tagged || f.Tag != nil && strings.Contains(f.Tag.Value, `json:"`)
				}
				if named[st] && !tagged {
					return true // a plain Go type, not a wire type
				}
				for _, f := range st.Fields.List {
					if f.Tag == nil || !strings.Contains(f.Tag.Value, `json:"`) {
						t.Errorf("%s: field without a json tag in a wire struct: it decodes only by case-insensitive matching", fset.Position(f.Pos()))
					}
				}
				return true
			})
		}
	}
}

// TestRenamedKeysAreDecodedExplicitly decodes each key of renamedKeys in
// both spellings: the 8.0 one (live 7.0/8.0 output) and the 9.1 one.
func TestRenamedKeysAreDecodedExplicitly(t *testing.T) {
	covered := map[string]bool{}
	for _, tt := range []struct {
		key  string
		into func([]byte) (int64, error)
	}{
		{keySizeMiB, func(b []byte) (int64, error) { var m MemoryInfo; err := json.Unmarshal(b, &m); return m.SizeMiB, err }},
		{keyHotAddIncrementSizeMiB, func(b []byte) (int64, error) {
			var m MemoryInfo
			err := json.Unmarshal(b, &m)
			if m.HotAddIncrementSizeMiB == nil {
				return 0, err
			}
			return *m.HotAddIncrementSizeMiB, err
		}},
		{keyHotAddLimitMiB, func(b []byte) (int64, error) {
			var m MemoryInfo
			err := json.Unmarshal(b, &m)
			if m.HotAddLimitMiB == nil {
				return 0, err
			}
			return *m.HotAddLimitMiB, err
		}},
		{keyMemorySizeMiB, func(b []byte) (int64, error) {
			var v vmWire
			err := json.Unmarshal(b, &v)
			return v.summary().MemoryMiB, err
		}},
	} {
		covered[tt.key] = true
		for _, key := range []string{tt.key, renamedKeys[tt.key]} {
			got, err := tt.into([]byte(`{"` + key + `":4096}`))
			if err != nil || got != 4096 {
				t.Errorf("%s: decoded %d, %v; want 4096", key, got, err)
			}
		}
		both := []byte(`{"` + renamedKeys[tt.key] + `":1,"` + tt.key + `":4096}`)
		if got, err := tt.into(both); err != nil || got != 4096 {
			t.Errorf("both spellings of %s: decoded %d, %v; want the 8.0 one, 4096", tt.key, got, err)
		}
	}
	for k := range renamedKeys {
		if !covered[k] {
			t.Errorf("renamed key %s has no decoding test", k)
		}
	}
	// The other fields still decode, and the VM list keeps its values.
	var w vmWire
	if err := json.Unmarshal([]byte(`{"vm":"vm-42","name":"web01","power_state":"POWERED_ON","cpu_count":2,"memory_size_mib":4096}`), &w); err != nil {
		t.Fatal(err)
	}
	if v, want := w.summary(), (VMSummary{ID: "vm-42", Name: "web01", PowerState: PoweredOn, CPUCount: 2, MemoryMiB: 4096}); !reflect.DeepEqual(v, want) {
		t.Errorf("VMSummary = %+v, want %+v", v, want)
	}
}
