package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPageIsCutToStayUnder100kB(t *testing.T) {
	d := Deps{pages: newPageCache(2, time.Minute)}
	items := make([]vmItem, 3000)
	for i := range items {
		items[i] = vmItem{ID: fmt.Sprintf("vm-%d", i), Name: strings.Repeat("n", 80) + fmt.Sprint(i), PowerState: "POWERED_ON"}
	}
	fetches := 0
	fetch := func() ([]vmItem, error) { fetches++; return items, nil }
	seen := 0
	cursor := ""
	for {
		p, _, err := paginate(d, "k", pageArgs{Limit: 1000, Cursor: cursor}, fetch)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		if len(b) > maxResultBytes {
			t.Fatalf("page of %d bytes", len(b))
		}
		if p.Returned < 1000 && p.NextCursor != "" && !strings.Contains(p.Note, "continue with next_cursor") {
			t.Errorf("a cut page says nothing: %q", p.Note)
		}
		seen += p.Returned
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if seen != len(items) || fetches != 1 {
		t.Errorf("saw %d of %d items with %d fetches; want all, with 1", seen, len(items), fetches)
	}
	for _, bad := range []pageArgs{{Limit: 1001}, {Limit: -1}, {Cursor: "not-base64!"}, {Cursor: encodeCursor(cursor2("other", 0))}, {Cursor: encodeCursor(cursor2("k", 5000))}} {
		if _, _, err := paginate(d, "k", bad, fetch); !isArgError(err) {
			t.Errorf("%+v: err = %v, want an argument error", bad, err)
		}
	}
}

func cursor2(q string, o int) cursor { return cursor{Query: q, Offset: o} }
