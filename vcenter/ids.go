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
	KindVM:           "vm-42",
	KindHost:         "host-10",
	KindCluster:      "domain-c8",
	KindDatastore:    "datastore-11",
	KindNetwork:      "network-12 or dvportgroup-33",
	KindDatacenter:   "datacenter-3",
	KindFolder:       "group-v4",
	KindResourcePool: "resgroup-9",
	KindSnapshot:     "snapshot-5",
	KindTask:         "task-7",
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
