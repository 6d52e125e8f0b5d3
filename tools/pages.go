package tools

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Lists are paged here, not in vCenter (which has no paging): the full,
// sorted answer is fetched once, kept briefly, and served a page at a time,
// so that paging through 20,000 VMs costs one listing, not one per page.

const (
	defaultLimit = 100
	maxLimit     = 1000
	// maxResultBytes bounds the JSON text of one result; assistants reject
	// tool results over roughly 25k tokens.
	maxResultBytes = 100_000
	// pageOverhead is reserved for the page's own fields.
	pageOverhead = 2_000
)

// pageArgs is embedded by every list tool.
type pageArgs struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// page is one page of a list result.
type page[T any] struct {
	Total      int    `json:"total"` // items matching the filters
	Returned   int    `json:"returned"`
	NextCursor string `json:"next_cursor,omitempty"` // pass as cursor for the next page; absent on the last page
	Note       string `json:"note,omitempty"`
	Items      []T    `json:"items"`

	// encoded is Items as paginate measured them: their JSON, joined by
	// commas. It lets the page be written without marshalling every item
	// a second time (see wireJSON).
	encoded    []byte
	encodedFor *T // &Items[0] when encoded was kept
}

// wireJSON is json.Marshal(p), byte for byte, from the items' JSON that
// paginate kept; ok is false when there is none or Items is no longer the
// slice it was kept for (then json.Marshal is the way). Items must not be
// changed in place after paginate.
func (p page[T]) wireJSON() (any, []byte, bool) {
	if p.encoded == nil || len(p.Items) != p.Returned || len(p.Items) == 0 || &p.Items[0] != p.encodedFor {
		return p, nil, false
	}
	b := make([]byte, 0, len(p.encoded)+len(p.NextCursor)+len(p.Note)+96)
	b = append(b, `{"total":`...)
	b = strconv.AppendInt(b, int64(p.Total), 10)
	b = append(b, `,"returned":`...)
	b = strconv.AppendInt(b, int64(p.Returned), 10)
	for _, f := range [...]struct{ name, v string }{{`,"next_cursor":`, p.NextCursor}, {`,"note":`, p.Note}} {
		if f.v == "" {
			continue
		}
		q, err := json.Marshal(f.v)
		if err != nil {
			return p, nil, false
		}
		b = append(append(b, f.name...), q...)
	}
	b = append(b, `,"items":[`...)
	b = append(b, p.encoded...)
	return p, append(b, "]}"...), true
}

// cursor is the decoded form of next_cursor.
type cursor struct {
	Query  string `json:"q"` // the query's key: filters of another query are refused
	Offset int    `json:"o"`
}

// queryKey identifies a listing: the tool, the vCenter and the filters.
func queryKey(tool, host string, filters any) string {
	b, _ := json.Marshal(filters)
	sum := sha256.Sum256([]byte(tool + "\x00" + host + "\x00" + string(b)))
	return hex.EncodeToString(sum[:8])
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, key string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err != nil || len(b) > 256 || json.Unmarshal(b, &c) != nil || c.Offset < 0 {
		return 0, argErrorf("cursor is not one this server issued: drop it to start from the first page")
	}
	if c.Query != key {
		return 0, argErrorf("cursor belongs to a listing with other filters: repeat the same filters, or drop cursor to start over")
	}
	return c.Offset, nil
}

// paginate serves one page of the listing that fetch produces. The first
// page (no cursor) always fetches afresh; later pages reuse the cached
// listing while it lasts. Items are cut short of limit when the page would
// exceed maxResultBytes, and the note says so.
// It also returns the whole listing, for totals.
func paginate[T any](d Deps, key string, args pageArgs, fetch func() ([]T, error)) (page[T], []T, error) {
	limit := args.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	if limit < 1 || limit > maxLimit {
		return page[T]{}, nil, argErrorf("limit must be between 1 and %d", maxLimit)
	}
	offset := 0
	if args.Cursor != "" {
		var err error
		if offset, err = decodeCursor(args.Cursor, key); err != nil {
			return page[T]{}, nil, err
		}
	}
	var items []T
	cached, ok := any(nil), false
	if args.Cursor != "" {
		cached, ok = d.pages.get(key)
	} else {
		// A first page lists afresh: the listing it replaces is let go
		// first, not held beside the new one while that is fetched.
		d.pages.drop(key)
	}
	if ok {
		items = cached.([]T)
	} else {
		var err error
		if items, err = fetch(); err != nil {
			return page[T]{}, nil, err
		}
		d.pages.put(key, items, len(items))
	}
	p := page[T]{Total: len(items), Items: make([]T, 0)}
	if offset > len(items) {
		return page[T]{}, nil, argErrorf("cursor is past the end of the listing (%d items): drop it to start over", len(items))
	}
	end := min(offset+limit, len(items))
	size := pageOverhead
	// One encoder measures every item: Encode writes what json.Marshal
	// returns plus a newline, the comma's byte in the page. What it wrote
	// is kept, commas for newlines, as the page's items in JSON.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	kept := 0
	for i := offset; i < end; i++ {
		if err := enc.Encode(items[i]); err != nil {
			return page[T]{}, nil, fmt.Errorf("encode item: %w", err)
		}
		n := buf.Len() - kept
		if size+n > maxResultBytes && i > offset {
			p.Note = fmt.Sprintf("page cut to %d items to stay under %d kB; continue with next_cursor", i-offset, maxResultBytes/1000)
			end = i
			break
		}
		size += n
		buf.Bytes()[buf.Len()-1] = ','
		kept = buf.Len()
	}
	p.Items = append(make([]T, 0, end-offset), items[offset:end]...)
	if len(p.Items) > 0 {
		p.encoded, p.encodedFor = buf.Bytes()[:kept-1], &p.Items[0] // without the last comma
	}
	p.Returned = len(p.Items)
	if next := offset + p.Returned; next < len(items) {
		p.NextCursor = encodeCursor(cursor{Query: key, Offset: next})
	}
	return p, items, nil
}

// pageCache keeps the most recent listings for a short time (LRU), at most
// max of them and, past the newest one, at most maxCachedItems items in
// all: eight listings of 50,000 VMs would otherwise hold some 25 MB.
type pageCache struct {
	mu    sync.Mutex // guards order, byKey and count
	max   int
	ttl   time.Duration
	order *list.List // of *pageEntry, most recent first
	byKey map[string]*list.Element
	count int // items held, over all entries
}

// maxCachedItems bounds the items the page cache holds beyond its newest
// listing (which is always kept, however long, so that it can be paged).
const maxCachedItems = 60_000

type pageEntry struct {
	key   string
	items any
	n     int // len(items)
	at    time.Time
}

func newPageCache(max int, ttl time.Duration) *pageCache {
	return &pageCache{max: max, ttl: ttl, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *pageCache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*pageEntry)
	if time.Since(e.at) > c.ttl {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.items, true
}

// drop forgets the listing of key.
func (c *pageCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
}

// put keeps items, n of them, as the listing of key.
func (c *pageCache) put(key string, items any, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	c.byKey[key] = c.order.PushFront(&pageEntry{key: key, items: items, n: n, at: time.Now()})
	c.count += n
	for c.order.Len() > c.max || c.order.Len() > 1 && c.count > n+maxCachedItems {
		c.remove(c.order.Back())
	}
}

func (c *pageCache) remove(el *list.Element) {
	e := el.Value.(*pageEntry)
	c.order.Remove(el)
	delete(c.byKey, e.key)
	c.count -= e.n
}
