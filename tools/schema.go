package tools

import (
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
)

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
