package tools

import (
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	if cached, ok := d.pages.get(key); ok && args.Cursor != "" {
		items = cached.([]T)
	} else {
		var err error
		if items, err = fetch(); err != nil {
			return page[T]{}, nil, err
		}
		d.pages.put(key, items)
	}
	p := page[T]{Total: len(items), Items: make([]T, 0)}
	if offset > len(items) {
		return page[T]{}, nil, argErrorf("cursor is past the end of the listing (%d items): drop it to start over", len(items))
	}
	end := min(offset+limit, len(items))
	size := pageOverhead
	for i := offset; i < end; i++ {
		b, err := json.Marshal(items[i])
		if err != nil {
			return page[T]{}, nil, fmt.Errorf("encode item: %w", err)
		}
		if size+len(b)+1 > maxResultBytes && len(p.Items) > 0 {
			p.Note = fmt.Sprintf("page cut to %d items to stay under %d kB; continue with next_cursor", len(p.Items), maxResultBytes/1000)
			break
		}
		size += len(b) + 1
		p.Items = append(p.Items, items[i])
	}
	p.Returned = len(p.Items)
	if next := offset + p.Returned; next < len(items) {
		p.NextCursor = encodeCursor(cursor{Query: key, Offset: next})
	}
	return p, items, nil
}

// pageCache keeps the most recent listings for a short time (LRU).
type pageCache struct {
	mu    sync.Mutex // guards order and byKey
	max   int
	ttl   time.Duration
	order *list.List // of *pageEntry, most recent first
	byKey map[string]*list.Element
}

type pageEntry struct {
	key   string
	items any
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
		c.order.Remove(el)
		delete(c.byKey, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.items, true
}

func (c *pageCache) put(key string, items any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.Remove(el)
	}
	c.byKey[key] = c.order.PushFront(&pageEntry{key: key, items: items, at: time.Now()})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*pageEntry).key)
	}
}
