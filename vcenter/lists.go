package vcenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// vCenter's list operations have no paging and refuse, rather than
// truncate, a query that matches more than their cap (4000 VMs, 2500 hosts
// and datastores, 1000 of the rest) with UNABLE_TO_ALLOCATE_RESOURCE
// (vcenter-api.md §2.2). listSplit answers such a query by splitting it into
// narrower ones along inventory dimensions, with bounded parallelism, and
// merging the answers.

// filterSet holds list filters by their /api key ("clusters", "names").
type filterSet map[string][]string

// with returns a copy of f with key set to values.
func (f filterSet) with(key string, values ...string) filterSet {
	g := make(filterSet, len(f)+1)
	for k, v := range f {
		g[k] = v
	}
	g[key] = values
	return g
}

// splitter proposes narrower queries whose union is f's answer, or returns
// nil when it has nothing to offer for f.
type splitter func(ctx context.Context, f filterSet) ([]filterSet, error)

// splitExisting splits a filter that already has several values into one
// query per value.
func splitExisting(key string) splitter {
	return func(_ context.Context, f filterSet) ([]filterSet, error) {
		if len(f[key]) < 2 {
			return nil, nil
		}
		out := make([]filterSet, 0, len(f[key]))
		for _, v := range f[key] {
			out = append(out, f.with(key, v))
		}
		return out, nil
	}
}

// splitBy splits a query without a filter on key into one query per value
// that values returns (for example every datacenter).
func splitBy(key string, values func(ctx context.Context, f filterSet) ([]string, error)) splitter {
	return func(ctx context.Context, f filterSet) ([]filterSet, error) {
		if len(f[key]) > 0 {
			return nil, nil
		}
		vs, err := values(ctx, f)
		if err != nil || len(vs) == 0 {
			return nil, err
		}
		out := make([]filterSet, 0, len(vs))
		for _, v := range vs {
			out = append(out, f.with(key, v))
		}
		return out, nil
	}
}

// ListStats counts the work behind one list call.
type ListStats struct {
	Requests int // list requests sent, split queries included
	Split    bool
}

// lister runs one split list: its semaphore bounds requests in flight.
type lister[T any] struct {
	c         *Client
	rel       string // /api-relative path, e.g. "/vcenter/vm"
	id        func(T) string
	splitters []splitter
	sem       chan struct{}
	requests  atomic.Int64
	split     atomic.Bool
}

func newLister[T any](c *Client, rel string, id func(T) string, splitters ...splitter) *lister[T] {
	return &lister[T]{c: c, rel: rel, id: id, splitters: splitters, sem: make(chan struct{}, c.cfg.Parallelism)}
}

// run answers f, splitting as needed, and returns the items deduplicated by
// id (a VM in two matching folders would otherwise appear twice).
func (l *lister[T]) run(ctx context.Context, f filterSet) ([]T, ListStats, error) {
	items, err := l.list(ctx, f)
	stats := ListStats{Requests: int(l.requests.Load()), Split: l.split.Load()}
	if err != nil {
		return nil, stats, err
	}
	seen := make(map[string]bool, len(items))
	out := items[:0]
	for _, it := range items {
		if k := l.id(it); !seen[k] {
			seen[k] = true
			out = append(out, it)
		}
	}
	return out, stats, nil
}

func (l *lister[T]) list(ctx context.Context, f filterSet) ([]T, error) {
	items, err := l.get(ctx, f)
	if !errors.Is(err, ErrUnableToAllocate) {
		return items, err
	}
	for _, s := range l.splitters {
		shards, serr := s(ctx, f)
		if serr != nil {
			return nil, serr
		}
		if len(shards) == 0 {
			continue
		}
		l.split.Store(true)
		return l.fanOut(ctx, shards)
	}
	return nil, fmt.Errorf("too many matches, even after splitting the query by every inventory dimension: add filters (names, power states): %w", err)
}

func (l *lister[T]) fanOut(ctx context.Context, shards []filterSet) ([]T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		out   []T
		first error
		wg    sync.WaitGroup
	)
	for _, f := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items, err := l.list(ctx, f)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
					cancel()
				}
				return
			}
			out = append(out, items...)
		}()
	}
	wg.Wait()
	return out, first
}

// get sends one list request, holding a semaphore slot only while it runs
// so that nested splits cannot deadlock.
func (l *lister[T]) get(ctx context.Context, f filterSet) ([]T, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.sem }()
	l.requests.Add(1)
	var items []T
	if err := l.c.vapi(ctx, http.MethodGet, l.rel, l.c.dialect.filters(f), nil, &items); err != nil {
		return nil, err
	}
	return items, nil
}

// listOnce lists without splitting, for the small look-ups splitters make.
func listOnce[T any](ctx context.Context, c *Client, rel string, f filterSet) ([]T, error) {
	var items []T
	if err := c.vapi(ctx, http.MethodGet, rel, c.dialect.filters(f), nil, &items); err != nil {
		return nil, fmt.Errorf("list %s: %w", rel, err)
	}
	return items, nil
}
