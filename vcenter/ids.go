package vcenter

import (
	"fmt"
	"strings"
)

// Kind names a vCenter managed-object type whose id this package accepts.
type Kind string

// The managed-object kinds the tools address by id.
const (
	KindVM           Kind = "vm"
	KindHost         Kind = "host"
	KindCluster      Kind = "cluster"
	KindDatastore    Kind = "datastore"
	KindNetwork      Kind = "network"
	KindDatacenter   Kind = "datacenter"
	KindFolder       Kind = "folder"
	KindResourcePool Kind = "resource_pool"
	KindSnapshot     Kind = "snapshot"
	KindTask         Kind = "task"
	KindAlarm        Kind = "alarm"
	// KindTag and KindCategory are Automation API tagging ids, URNs rather
	// than managed-object ids (vcenter-api-observability.md §6).
	KindTag      Kind = "tag"
	KindCategory Kind = "category"
	// KindEventCollector is the EventHistoryCollector vCenter creates for
	// one event listing: opaque, issued by vCenter, never by the model.
	KindEventCollector Kind = "event_collector"
)

// maxIDLen bounds an id; vCenter's are short ("vm-123456"), so anything long
// is a mistake or an attack and is refused before it is echoed anywhere.
const maxIDLen = 64

// idShape is one form of a managed-object id: a type prefix, then one
// letter from letters (optional when optional is set; none when letters is
// empty), then 1 to 12 decimal digits.
type idShape struct {
	prefix   string
	letters  string
	optional bool
}

// idGrammar holds, per kind, vCenter's managed-object id grammar: a type
// prefix, a dash, an optional one-letter class and a decimal counter
// ("vm-42", "domain-c8", "group-v4", "resgroup-v10", "dvportgroup-33").
// It is matched by hand rather than by regexp: the ids are checked on
// every call and the patterns compiled at every start.
//
// Security: this is the only gate between model-supplied strings and URL
// paths. Anything that does not match is rejected before a request is built,
// so "../x", "vm-1/power?action=stop" or "vm-1%2F.." can never reach vCenter.
var idGrammar = map[Kind][]idShape{
	KindVM:           {{prefix: "vm-"}},
	KindHost:         {{prefix: "host-"}},
	KindCluster:      {{prefix: "domain-c"}},
	KindDatastore:    {{prefix: "datastore-"}},
	KindNetwork:      {{prefix: "network-", letters: "o", optional: true}, {prefix: "dvportgroup-"}},
	KindDatacenter:   {{prefix: "datacenter-"}},
	KindFolder:       {{prefix: "group-", letters: "abcdefghijklmnopqrstuvwxyz"}},
	KindResourcePool: {{prefix: "resgroup-", letters: "v", optional: true}},
	KindSnapshot:     {{prefix: "snapshot-"}},
	KindTask:         {{prefix: "task-"}},
	KindAlarm:        {{prefix: "alarm-"}},
}

// idMatchers holds the grammar of the kinds whose ids are not a prefix and a
// counter. Each bounds the length itself.
//
// Security: like idGrammar, these are the gate between a string and a URL
// path; the characters they admit need no escaping but are escaped anyway.
var idMatchers = map[Kind]func(string) bool{
	KindTag:            urnMatcher("urn:vmomi:InventoryServiceTag:"),
	KindCategory:       urnMatcher("urn:vmomi:InventoryServiceCategory:"),
	KindEventCollector: collectorID,
}

// urnMatcher matches a tagging URN: prefix, a UUID (8-4-4-4-12 hex digits),
// then ":GLOBAL", as vCenter writes
// "urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7f:GLOBAL".
func urnMatcher(prefix string) func(string) bool {
	return func(s string) bool {
		rest, ok := strings.CutPrefix(s, prefix)
		if !ok {
			return false
		}
		uuid, ok := strings.CutSuffix(rest, ":GLOBAL")
		return ok && isUUID(uuid)
	}
}

// isUUID reports whether s is 8-4-4-4-12 hexadecimal digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// collectorID matches what vCenter names an EventHistoryCollector,
// "session[52c3…]52f1…": 1 to 200 letters, digits and "[]-_.:". The value
// is vCenter's to choose, so the grammar is wide, but it keeps out every
// character with a meaning in a URL.
func collectorID(s string) bool {
	if len(s) < 1 || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && (c < '0' || c > '9') && !strings.ContainsRune("[]-_.:", rune(c)) {
			return false
		}
	}
	return true
}

// match reports whether s has this shape.
func (sh idShape) match(s string) bool {
	rest, ok := strings.CutPrefix(s, sh.prefix)
	if !ok {
		return false
	}
	if sh.letters != "" {
		if rest != "" && strings.IndexByte(sh.letters, rest[0]) >= 0 {
			rest = rest[1:]
		} else if !sh.optional {
			return false
		}
	}
	if len(rest) < 1 || len(rest) > 12 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// idExample is what an error shows the model as a well-formed id.
var idExample = map[Kind]string{
	KindVM:             "vm-42",
	KindHost:           "host-10",
	KindCluster:        "domain-c8",
	KindDatastore:      "datastore-11",
	KindNetwork:        "network-12 or dvportgroup-33",
	KindDatacenter:     "datacenter-3",
	KindFolder:         "group-v4",
	KindResourcePool:   "resgroup-9",
	KindSnapshot:       "snapshot-5",
	KindTask:           "task-7",
	KindAlarm:          "alarm-3",
	KindTag:            "urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7f:GLOBAL",
	KindCategory:       "urn:vmomi:InventoryServiceCategory:1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d:GLOBAL",
	KindEventCollector: "session[52c3a0f1-1b2c-4d5e-8f90-a1b2c3d4e5f6]52f1e2d3-c4b5-4a69-8877-665544332211",
}

// IDError reports a string that is not a valid managed-object id of the
// expected kind. It never carries more than a short, quoted prefix of the
// input.
type IDError struct {
	Kind  Kind
	Value string // truncated and quoted for display
}

func (e *IDError) Error() string {
	return fmt.Sprintf("invalid %s id %s: expected an id like %s (list tools show ids)", e.Kind, e.Value, idExample[e.Kind])
}

// Is makes every IDError match [ErrInvalidID].
func (e *IDError) Is(target error) bool { return target == ErrInvalidID }

// ValidateID reports whether s is a well-formed id of kind k.
func ValidateID(k Kind, s string) error {
	if m, ok := idMatchers[k]; ok {
		if m(s) {
			return nil
		}
		return &IDError{Kind: k, Value: quoteShort(s)}
	}
	shapes, ok := idGrammar[k]
	if !ok {
		return fmt.Errorf("unknown id kind %q", k)
	}
	if len(s) <= maxIDLen {
		for _, sh := range shapes {
			if sh.match(s) {
				return nil
			}
		}
	}
	return &IDError{Kind: k, Value: quoteShort(s)}
}

// LooksLikeID reports whether s is a well-formed id of kind k. Filters use it
// to tell ids from names ("domain-c8" versus "Cluster-B").
func LooksLikeID(k Kind, s string) bool { return ValidateID(k, s) == nil }

// validIDs validates every id in ids as kind k.
func validIDs(k Kind, ids []string) error {
	for _, id := range ids {
		if err := ValidateID(k, id); err != nil {
			return err
		}
	}
	return nil
}

// quoteShort quotes s for an error message, cut to a few dozen bytes so a
// 10 kB argument is not echoed back whole.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", strings.ToValidUTF8(s[:max], ""), len(s))
	}
	return fmt.Sprintf("%q", s)
}
