package vcenter

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// keyedMap is a vAPI map field such as VM.Info.disks. On /api it is a JSON
// object keyed by device key ({"2000": {...}}); on /rest it is an array of
// {"key": "2000", "value": {...}} (vcenter-api.md §2.1, KB 83022). It decodes
// both into entries sorted by key.
type keyedMap[T any] []keyed[T]

type keyed[T any] struct {
	Key   string
	Value T
}

func (m *keyedMap[T]) UnmarshalJSON(b []byte) error {
	var out keyedMap[T]
	switch firstByte(b) {
	case '{':
		var obj map[string]T
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		for k, v := range obj {
			out = append(out, keyed[T]{k, v})
		}
	case '[':
		var arr []struct {
			Key   json.RawMessage `json:"key"`
			Value T               `json:"value"`
		}
		if err := json.Unmarshal(b, &arr); err != nil {
			return err
		}
		for _, e := range arr {
			out = append(out, keyed[T]{keyString(e.Key), e.Value})
		}
	case 'n': // null
	default:
		return fmt.Errorf("device map: want an object or an array, got %s", quoteShort(string(b)))
	}
	sort.Slice(out, func(i, j int) bool { return lessKey(out[i].Key, out[j].Key) })
	*m = out
	return nil
}

// keyString reads a /rest map key, which is a string ("2000") in vCenter's
// output but may be a number in hand-made fixtures.
func keyString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// lessKey orders device keys numerically when both are numbers.
func lessKey(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return x < y
	}
	return a < b
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}
