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

// TestPageCacheBoundsItems: past its newest listing, the cache holds at
// most maxCachedItems items; the newest is kept however long, and a first
// page lets the listing it replaces go before fetching.
func TestPageCacheBoundsItems(t *testing.T) {
	c := newPageCache(8, time.Minute)
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := c.byKey[k]; !ok {
				return false
			}
		}
		return c.order.Len() == len(keys)
	}
	part := maxCachedItems * 2 / 3 // one fits beyond the newest, two do not
	c.put("a", "A", part)
	c.put("b", "B", part)
	if !has("a", "b") {
		t.Fatal("a listing evicted within the budget")
	}
	c.put("big", "BIG", 2*maxCachedItems) // a and b beyond it are over the budget: a goes
	if !has("b", "big") || c.count != part+2*maxCachedItems {
		t.Fatalf("after big: %d entries, %d items; want b and big", c.order.Len(), c.count)
	}
	c.put("huge", "HUGE", 4*maxCachedItems) // over the budget alone: kept, and alone
	if !has("huge") || c.count != 4*maxCachedItems {
		t.Fatalf("after huge: %d entries, %d items; want huge alone", c.order.Len(), c.count)
	}
	c.drop("huge")
	if c.order.Len() != 0 || c.count != 0 {
		t.Errorf("after drop: %d entries, %d items", c.order.Len(), c.count)
	}

	d := Deps{pages: newPageCache(2, time.Minute)}
	fetches := 0
	fetch := func() ([]int, error) { fetches++; return make([]int, 10), nil }
	p, _, _ := paginate(d, "k", pageArgs{Limit: 3}, fetch)
	if _, _, err := paginate(d, "k", pageArgs{Limit: 3, Cursor: p.NextCursor}, fetch); err != nil || fetches != 1 {
		t.Fatalf("a later page fetched again (%d fetches, %v)", fetches, err)
	}
	if _, _, err := paginate(d, "k", pageArgs{Limit: 3}, func() ([]int, error) {
		if _, ok := d.pages.get("k"); ok {
			t.Error("the old listing is still cached while the new one is fetched")
		}
		return fetch()
	}); err != nil || fetches != 2 {
		t.Errorf("a first page did not list afresh (%d fetches, %v)", fetches, err)
	}
}
