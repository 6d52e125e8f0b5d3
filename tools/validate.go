package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
)

// This file checks a call's arguments against its tool's input schema before
// the SDK decodes them, and words every problem as one sentence a person
// (or the model) can act on: the SDK's own messages ("validating root:
// validating /properties/limit: minimum: 0/1 is less than 1.000000") are
// for programmers. It also refuses what a schema cannot say: a key given
// twice, which encoding/json would silently resolve to its last value
// ({"confirm":false,"confirm":true} is confirm: true).

// Bounds of what an error says.
const (
	maxProblems = 5  // sentences; the rest are counted
	maxEcho     = 40 // bytes of a value or key the caller sent
)

// validateArgs checks raw arguments (a JSON object, or nothing) against in,
// the tool's input schema: no key twice at any depth, only the arguments
// the tool takes, each of its type, within its bounds and enum, and the
// required ones present. It returns an *argError joining one sentence per
// problem, at most maxProblems of them.
func validateArgs(raw json.RawMessage, in *jsonschema.Schema) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = json.RawMessage("{}")
	}
	if path, dup, err := DuplicateKey(raw, ""); err != nil {
		return argErrorf("the arguments are not valid JSON: %s", truncate(err.Error(), 200))
	} else if dup {
		return argErrorf("the arguments name %s more than once; send each argument once", path)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return argErrorf("the arguments are not valid JSON: %s", truncate(err.Error(), 200))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return argErrorf("the arguments must be a JSON object, not %s", jsonKind(v))
	}
	var p problems
	p.unknown(obj, in)
	p.object("", obj, in)
	return p.err()
}

// problems collects the sentences of one validation.
type problems struct {
	list []string
}

func (p *problems) add(format string, a ...any) { p.list = append(p.list, fmt.Sprintf(format, a...)) }

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	shown := p.list
	more := ""
	if len(shown) > maxProblems {
		more = fmt.Sprintf(" (and %d more problems)", len(shown)-maxProblems)
		shown = shown[:maxProblems]
	}
	return argErrorf("%s%s", strings.Join(shown, ". "), more)
}

// unknown refuses top-level arguments the tool does not take, naming the
// ones it does: a misspelt "confirm" or "remove_children" must not be
// ignored. (The schemas do not say additionalProperties: false, which would
// cost bytes in every tools/list.)
func (p *problems) unknown(obj map[string]any, in *jsonschema.Schema) {
	var unknown []string
	for k := range obj {
		if _, ok := in.Properties[k]; !ok {
			unknown = append(unknown, quote(k))
		}
	}
	if len(unknown) == 0 {
		return
	}
	slices.Sort(unknown)
	if len(unknown) > maxProblems {
		unknown = append(unknown[:maxProblems], fmt.Sprintf("and %d more", len(unknown)-maxProblems))
	}
	known := slices.Sorted(maps.Keys(in.Properties))
	if len(known) == 0 {
		p.add("unknown argument %s: this tool takes none", strings.Join(unknown, ", "))
		return
	}
	p.add("unknown argument %s: this tool takes %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// object checks the known properties of obj (at path, "" for the top level)
// in name order, and the required ones.
func (p *problems) object(path string, obj map[string]any, s *jsonschema.Schema) {
	for _, name := range s.Required {
		if _, ok := obj[name]; !ok {
			p.add("%s is required", join(path, name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		v, ok := obj[name]
		switch {
		case !ok:
		case v == "" && isRef(name):
			// Security: a reference left out often means "the default"
			// (no snapshot_id reverts to the current snapshot); sent
			// empty, it must not mean the same: the caller meant some
			// object and named none.
			p.add("%s must not be empty: give a value, or leave the argument out", join(path, name))
		default:
			p.value(join(path, name), v, s.Properties[name])
		}
	}
}

// isRef reports whether an argument names an object: vm_id, snapshot_name.
// (The rule lives here, not as minLength in every schema: each byte of the
// schemas is paid in every tools/list.)
func isRef(name string) bool {
	return strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_name")
}

// value checks one value against its schema; it adds at most one sentence,
// the first problem found.
func (p *problems) value(path string, v any, s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if !typeMatches(v, s) {
		p.add("%s", typeSentence(path, v, s))
		return
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		switch {
		case s.MinLength != nil && n < *s.MinLength && *s.MinLength == 1:
			p.add("%s must not be empty: give a value, or leave the argument out", path)
		case s.MinLength != nil && n < *s.MinLength:
			p.add("%s must have at least %d characters", path, *s.MinLength)
		case s.MaxLength != nil && n > *s.MaxLength:
			p.add("%s must have at most %d characters", path, *s.MaxLength)
		case len(s.Enum) > 0 && !slices.Contains(s.Enum, any(x)):
			p.add("%s: %s is not one of %s", path, quote(x), enumList(s.Enum))
		}
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			p.add("%s must be a number", path)
			return
		}
		lo, hi := s.Minimum, s.Maximum
		switch {
		case lo != nil && hi != nil && (f < *lo || f > *hi):
			p.add("%s must be between %s and %s", path, num(*lo), num(*hi))
		case lo != nil && f < *lo:
			p.add("%s must be at least %s", path, num(*lo))
		case hi != nil && f > *hi:
			p.add("%s must be at most %s", path, num(*hi))
		case len(s.Enum) > 0 && !numberInEnum(f, s.Enum):
			p.add("%s: %s is not one of %s", path, x.String(), enumList(s.Enum))
		}
	case []any:
		switch {
		case s.MinItems != nil && len(x) < *s.MinItems:
			p.add("%s must have at least %d items", path, *s.MinItems)
			return
		case s.MaxItems != nil && len(x) > *s.MaxItems:
			p.add("%s must have at most %d items", path, *s.MaxItems)
			return
		}
		for i, item := range x {
			before := len(p.list)
			// An enum of the items reads better without the index:
			// power_states: "off" is not one of ….
			itemPath := fmt.Sprintf("%s[%d]", path, i)
			if str, ok := item.(string); ok && s.Items != nil && typeMatches(item, s.Items) && len(s.Items.Enum) > 0 && !slices.Contains(s.Items.Enum, any(str)) {
				p.add("%s: %s is not one of %s", path, quote(str), enumList(s.Items.Enum))
			} else {
				p.value(itemPath, item, s.Items)
			}
			if len(p.list) > before {
				return // one sentence per argument
			}
		}
	case map[string]any:
		p.object(path, x, s)
	}
}

// typeMatches reports whether v has one of the schema's types ("integer"
// being a number without a fraction); a schema without a type takes
// anything.
func typeMatches(v any, s *jsonschema.Schema) bool {
	types := s.Types
	if s.Type != "" {
		types = []string{s.Type}
	}
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		switch x := v.(type) {
		case nil:
			if t == "null" {
				return true
			}
		case bool:
			if t == "boolean" {
				return true
			}
		case string:
			if t == "string" {
				return true
			}
		case json.Number:
			if t == "number" {
				return true
			}
			if t == "integer" {
				if f, err := x.Float64(); err == nil && f == math.Trunc(f) && !math.IsInf(f, 0) {
					return true
				}
			}
		case []any:
			if t == "array" {
				return true
			}
		case map[string]any:
			if t == "object" {
				return true
			}
		}
	}
	return false
}

// typeSentence says what type path must have.
func typeSentence(path string, v any, s *jsonschema.Schema) string {
	t := s.Type
	if t == "" && len(s.Types) > 0 {
		t = s.Types[len(s.Types)-1]
	}
	want := map[string]string{
		"integer": "a whole number", "number": "a number", "string": "a string", "boolean": "true or false",
		"array": "a list", "object": "an object",
	}[t]
	if want == "" {
		want = t
	}
	switch {
	case v == nil:
		return fmt.Sprintf("%s must be %s; leave it out rather than send null", path, want)
	case t == "boolean":
		if _, isString := v.(string); isString {
			return fmt.Sprintf("%s must be true or false (the JSON boolean, not a string)", path)
		}
	case t == "integer":
		return fmt.Sprintf("%s must be a whole number", path)
	}
	return fmt.Sprintf("%s must be %s, not %s", path, want, jsonKind(v))
}

// jsonKind names the JSON type of v for a sentence.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func enumList(values []any) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = fmt.Sprint(v)
	}
	return strings.Join(out, ", ")
}

func numberInEnum(f float64, values []any) bool {
	for _, v := range values {
		switch e := v.(type) {
		case float64:
			if e == f {
				return true
			}
		case int:
			if float64(e) == f {
				return true
			}
		}
	}
	return false
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// quote quotes a value or key the caller sent, cut to maxEcho bytes.
//
// Security: an error must not echo an unbounded value back (a 300 kB limit
// was once echoed whole into the result and the audit line).
func quote(s string) string { return strconv.Quote(truncate(s, maxEcho)) }

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// DuplicateKey reports the first object key that appears twice in the same
// object of the JSON document data, at any depth, as a path ("arguments"
// members are named by key: confirm, names[2].x). The subtree at skip
// (dotted, like "params.arguments"; "" for none) is not checked. err is the
// syntax error of a document that is not JSON.
//
// Security: encoding/json keeps the last of two equal keys, so
// {"confirm":false,"confirm":true} reads as confirm: true to the decoder
// and as "not confirmed" to a person, a log or a proxy that reads the
// first; such a document is refused, not interpreted.
func DuplicateKey(data []byte, skip string) (path string, found bool, err error) {
	return duplicateKey(data, skip, json.Valid(data))
}

// DuplicateKeyOfValid is [DuplicateKey] for data the caller has found
// valid with json.Valid, which it does not scan for that once more.
func DuplicateKeyOfValid(data []byte, skip string) (path string, found bool) {
	path, found, _ = duplicateKey(data, skip, true)
	return path, found
}

func duplicateKey(data []byte, skip string, valid bool) (path string, found bool, err error) {
	var skipPath []string
	if skip != "" {
		skipPath = strings.Split(skip, ".")
	}
	// Nearly every document has no duplicate: a scan of the bytes shows it
	// without a token per value. Anything it cannot be sure of (a
	// duplicate, a key with an escape or a non-ASCII byte, which decode to
	// other strings) is read token by token for the exact answer.
	if valid {
		f := dupFast{data: data, skip: skipPath}
		if f.value(0, true) {
			return "", false, nil
		}
	}
	return duplicateKeyTokens(data, skipPath)
}

// duplicateKeyTokens is DuplicateKey, token by token.
func duplicateKeyTokens(data []byte, skipPath []string) (path string, found bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	d := dupScanner{dec: dec, skip: skipPath}
	path, found, err = d.value(nil)
	if err == nil && !found {
		if _, err2 := dec.Token(); err2 != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	return path, found, err
}

// dupFast scans a valid JSON document for keys that could repeat in one
// object. It reports true only when none does outside the subtree at skip.
type dupFast struct {
	data []byte
	i    int
	skip []string
}

func (f *dupFast) space() {
	for f.i < len(f.data) {
		switch f.data[f.i] {
		case ' ', '\t', '\n', '\r':
			f.i++
		default:
			return
		}
	}
}

// str moves past the string at f.i and returns its bytes between the
// quotes; plain is false when they hold an escape or a non-ASCII byte.
func (f *dupFast) str() (s []byte, plain bool) {
	f.i++ // the opening quote
	start, plain := f.i, true
	for f.i < len(f.data) {
		switch c := f.data[f.i]; c {
		case '"':
			s = f.data[start:f.i]
			f.i++
			return s, plain
		case '\\':
			plain = false
			f.i += 2
		default:
			plain = plain && c < utf8.RuneSelf
			f.i++
		}
	}
	return nil, false
}

// value moves past the value at f.i; on is how many steps of skip the path
// to it matches (-1: off the path), check is false inside the subtree at
// skip. It returns false at a possible duplicate.
func (f *dupFast) value(on int, check bool) bool {
	f.space()
	if f.i >= len(f.data) {
		return false
	}
	switch f.data[f.i] {
	case '{':
		f.i++
		var buf [8][]byte
		keys := buf[:0]
		for {
			f.space()
			switch f.data[f.i] {
			case '}':
				f.i++
				return true
			case ',':
				f.i++
				f.space()
			}
			key, plain := f.str()
			if check {
				if !plain {
					return false
				}
				for _, k := range keys {
					if bytes.Equal(k, key) {
						return false
					}
				}
				keys = append(keys, key)
			}
			f.space()
			f.i++ // the colon
			child := -1
			if on >= 0 && on < len(f.skip) && string(key) == f.skip[on] {
				child = on + 1
			}
			if !f.value(child, check && (child < 0 || child < len(f.skip))) {
				return false
			}
		}
	case '[':
		f.i++
		for {
			f.space()
			switch f.data[f.i] {
			case ']':
				f.i++
				return true
			case ',':
				f.i++
			}
			if !f.value(-1, check) {
				return false
			}
		}
	case '"':
		f.str()
	default: // a number, true, false or null
		for f.i < len(f.data) {
			switch f.data[f.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return true
			}
			f.i++
		}
	}
	return true
}

type dupScanner struct {
	dec  *json.Decoder
	skip []string
}

// step is one step of a path into a document: a key, or an index.
type step struct {
	key   string
	index int // when key is "" and isIndex
	isIdx bool
}

// value scans one value whose first token is next; path is where it is.
func (d *dupScanner) value(path []step) (string, bool, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", false, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return "", false, nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for d.dec.More() {
			kt, err := d.dec.Token()
			if err != nil {
				return "", false, err
			}
			k, _ := kt.(string)
			child := append(slices.Clip(path), step{key: k})
			if seen[k] {
				return pathString(child), true, nil
			}
			seen[k] = true
			if d.skips(child) {
				var discard json.RawMessage
				if err := d.dec.Decode(&discard); err != nil {
					return "", false, err
				}
				continue
			}
			if p, found, err := d.value(child); err != nil || found {
				return p, found, err
			}
		}
	case '[':
		for i := 0; d.dec.More(); i++ {
			child := append(slices.Clip(path), step{index: i, isIdx: true})
			if p, found, err := d.value(child); err != nil || found {
				return p, found, err
			}
		}
	}
	_, err = d.dec.Token() // the closing delimiter
	return "", false, err
}

// skips reports whether path is the subtree not to check.
func (d *dupScanner) skips(path []step) bool {
	if len(d.skip) == 0 || len(path) != len(d.skip) {
		return false
	}
	for i, s := range path {
		if s.isIdx || s.key != d.skip[i] {
			return false
		}
	}
	return true
}

// pathString renders a path for a sentence: keys quoted and cut short,
// joined by dots, indexes attached.
func pathString(path []step) string {
	var b strings.Builder
	for i, s := range path {
		switch {
		case s.isIdx:
			fmt.Fprintf(&b, "[%d]", s.index)
		default:
			if i > 0 {
				b.WriteString(".")
			}
			b.WriteString(quote(s.key))
		}
	}
	return b.String()
}
