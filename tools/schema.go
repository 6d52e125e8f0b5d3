package tools

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// toolSchemas are a tool's schemas. Inferring them by reflection, and
// marshalling them for every tools/list, cost a third of start-up; so they
// are inferred at build time (schemas_gen.go, written by go test ./tools
// -update and checked by TestGeneratedSchemas) and kept as the JSON that
// tools/list shows. The input schema is parsed for validation on the
// tool's first call.
type toolSchemas struct {
	def   *mcp.Tool
	gen   genSchemas
	infer func() (in, out *jsonschema.Schema) // the truth schemas_gen.go is generated from
	// input is the input schema as the tool's def shows it, parsed once.
	input func() *jsonschema.Schema
}

// genSchemas is one tool's entry of schemas_gen.go: the input schema as
// the tool's spec infers it without hostname (one vCenter), and the output
// schema, each as tools/list shows it.
type genSchemas struct{ In, Out string }

// inferSchemas makes every tool infer its schemas instead of reading
// schemas_gen.go: set by the tests that rewrite it (-update).
var inferSchemas bool

// newToolSchemas sets def's schemas for one vCenter; hostnameArg changes
// them for several.
func newToolSchemas(def *mcp.Tool, infer func() (in, out *jsonschema.Schema)) *toolSchemas {
	g, ok := generatedSchemas[def.Name]
	if !ok || inferSchemas {
		g = renderSchemas(infer())
	}
	t := &toolSchemas{def: def, gen: g, infer: infer}
	def.InputSchema, def.OutputSchema = json.RawMessage(g.In), json.RawMessage(g.Out)
	t.input = sync.OnceValue(func() *jsonschema.Schema {
		var s jsonschema.Schema
		if err := json.Unmarshal(def.InputSchema.(json.RawMessage), &s); err != nil {
			panic(fmt.Sprintf("tool %q: input schema: %v", def.Name, err))
		}
		return &s
	})
	return t
}

// renderSchemas is genSchemas of inferred schemas (in loses hostname).
func renderSchemas(in, out *jsonschema.Schema) genSchemas {
	delete(in.Properties, "hostname")
	return genSchemas{In: mustMarshalString(in), Out: mustMarshalString(out)}
}

func mustMarshalString(s *jsonschema.Schema) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tools: schema: %v", err))
	}
	return string(b)
}

// hostnameArg offers the hostname argument only where there is a choice:
// with several allowed vCenters it lists them as an enum; with one it is
// left out, as it could only name the default. It runs before the tool
// is first called.
func (t *toolSchemas) hostnameArg(hosts []string) {
	if len(hosts) < 2 {
		return // newToolSchemas set the one-vCenter schema
	}
	// Inferred again (the generated JSON has lost the order of the
	// properties), as before schemas were generated: several vCenters are
	// the rare case.
	in, _ := t.infer()
	if p := in.Properties["hostname"]; p != nil { // whoami reports every host instead
		p.Enum = make([]any, len(hosts))
		for i, h := range hosts {
			p.Enum[i] = h
		}
	}
	t.def.InputSchema = json.RawMessage(mustMarshalString(in))
	t.input = func() *jsonschema.Schema { return in }
}

// InputSchema is the tool's input schema, as tools/list shows it.
func (t Tool) InputSchema() *jsonschema.Schema { return t.schemas.input() }

// schema is an inferred JSON schema being edited by a tool constructor for
// what struct tags cannot say (enums, bounds).
type schema struct{ s *jsonschema.Schema }

// inferSchema infers T's schema and normalises it: go-sdk's inference gives
// slices and pointers the type ["null", X], which strict clients reject as
// not portable. The tools never send null (slices are made, pointers are
// omitted when nil), so X alone is exact.
func inferSchema[T any]() *schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("tools: schema for %T: %v", *new(T), err))
	}
	dropNull(s)
	return &schema{s}
}

func dropNull(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if len(s.Types) == 2 && s.Types[0] == "null" {
		s.Type, s.Types = s.Types[1], nil
	}
	dropNull(s.Items)
	for _, p := range s.Properties {
		dropNull(p)
	}
}

// compactOutput reduces an output schema to its top level: the names and
// types of the result's fields. Nested shapes, descriptions and required
// lists are dropped because every byte of every schema is paid in each
// tools/list (kept under 16 kB for 24 tools), while the result itself shows
// the nested fields; the Go structs and testdata/toolsnaps document them.
func compactOutput(s *jsonschema.Schema) {
	s.Description, s.Required, s.AdditionalProperties, s.PropertyOrder = "", nil, nil, nil
	for _, p := range s.Properties {
		p.Description, p.Required, p.AdditionalProperties, p.PropertyOrder, p.Properties = "", nil, nil, nil, nil
		if p.Items != nil {
			p.Items = &jsonschema.Schema{Type: p.Items.Type}
			if p.Items.Type == "object" {
				p.Items = nil
			}
		}
	}
}

// prop returns the schema of a property (dotted for nesting: "cpu.count";
// "items[]" steps into array items). It panics on a typo, at start-up.
func (s *schema) prop(path ...string) *jsonschema.Schema {
	cur := s.s
	for _, p := range path {
		if p == "[]" {
			cur = cur.Items
		} else {
			cur = cur.Properties[p]
		}
		if cur == nil {
			panic(fmt.Sprintf("tools: schema has no property %v", path))
		}
	}
	return cur
}

// enum restricts a string property, or the items of a string-array
// property, to values.
func (s *schema) enum(name string, values ...string) {
	p := s.prop(name)
	if p.Type == "array" {
		p = p.Items
	}
	p.Enum = make([]any, len(values))
	for i, v := range values {
		p.Enum[i] = v
	}
}

// between bounds a numeric property.
func (s *schema) between(name string, lo, hi float64) {
	p := s.prop(name)
	p.Minimum, p.Maximum = &lo, &hi
}

// maxLen bounds a string property, or each string of an array property.
func (s *schema) maxLen(name string, n int) {
	p := s.prop(name)
	if p.Type == "array" {
		p.MaxItems = new(100)
		p = p.Items
	}
	p.MaxLength = &n
}
