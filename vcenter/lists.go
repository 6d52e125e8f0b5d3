package vcenter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	id        func(*T) string
	splitters []splitter
	sem       chan struct{}
	// decode, when set, sends the one request of f and decodes the answer
	// into compact items (see ListVMs); by default the answer is decoded
	// into []T.
	decode func(ctx context.Context, f filterSet) ([]T, error)
	// speculate reports whether f is broad enough to be likely over the
	// cap: the first time such a query is seen, its split plan is worked
	// out while the query itself is in flight (see list).
	speculate func(f filterSet) bool
	requests  atomic.Int64
	split     atomic.Bool
}

func newLister[T any](c *Client, rel string, id func(*T) string, splitters ...splitter) *lister[T] {
	return &lister[T]{c: c, rel: rel, id: id, splitters: splitters, sem: make(chan struct{}, c.cfg.Parallelism)}
}

// run answers f, splitting as needed, and returns the items deduplicated by
// id (a VM in two matching folders would otherwise appear twice).
func (l *lister[T]) run(ctx context.Context, f filterSet) ([]T, ListStats, error) {
	parts, err := l.list(ctx, f)
	stats := ListStats{Requests: int(l.requests.Load()), Split: l.split.Load()}
	if err != nil {
		return nil, stats, err
	}
	return l.merge(parts), stats, nil
}

// merge joins the answers into one slice of exactly the size needed,
// dropping repeated ids; each answer is let go once copied, so that the
// answers and the result are not both held whole for long.
func (l *lister[T]) merge(parts [][]T) []T {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]T, 0, n)
	seen := make(map[string]struct{}, n)
	for i, p := range parts {
		for j := range p {
			k := l.id(&p[j])
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				out = append(out, p[j])
			}
		}
		parts[i] = nil
	}
	if len(out) < n {
		out = slices.Clip(out)
	}
	return out
}

// list answers f: one request when it fits under the cap, else the union of
// the narrower queries the first splitter with something to offer proposes.
//
// What hit the cap is remembered for a while (listMemory): a query known to
// be over it is split at once, without the request that would be refused,
// and the first time a broad query (speculate) is seen its split plan is
// looked up while the query itself is in flight, so the discovery round
// trips do not wait for the refusal.
func (l *lister[T]) list(ctx context.Context, f filterSet) ([][]T, error) {
	key := listKey(l.rel, f)
	switch l.c.lists.known(key) {
	case capKnownOver:
		shards, err := l.plan(ctx, f)
		if err != nil {
			return nil, err
		}
		if len(shards) > 0 {
			l.split.Store(true)
			return l.fanOut(ctx, shards)
		}
		// Nothing left to split on: ask, and let vCenter answer or refuse.
	case capUnknown:
		if l.speculate != nil && l.speculate(f) {
			return l.listSpeculating(ctx, key, f)
		}
	}
	items, err := l.get(ctx, f)
	l.c.lists.remember(key, err)
	if !errors.Is(err, ErrUnableToAllocate) {
		return [][]T{items}, err
	}
	shards, perr := l.plan(ctx, f)
	if perr != nil {
		return nil, perr
	}
	return l.splitOrFail(ctx, shards, err)
}

// listSpeculating sends f and, at the same time, works out its split plan.
// When f fits, the plan is dropped (its look-ups are waited for, not
// cancelled, so that no request outlives the call).
func (l *lister[T]) listSpeculating(ctx context.Context, key string, f filterSet) ([][]T, error) {
	type plan struct {
		shards []filterSet
		err    error
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	planned := make(chan plan, 1)
	go func() {
		shards, err := l.plan(pctx, f)
		planned <- plan{shards, err}
	}()
	items, err := l.get(ctx, f)
	l.c.lists.remember(key, err)
	if !errors.Is(err, ErrUnableToAllocate) {
		if err != nil {
			cancel() // the plan is of no use now
		}
		<-planned
		return [][]T{items}, err
	}
	p := <-planned
	if p.err != nil {
		return nil, p.err
	}
	return l.splitOrFail(ctx, p.shards, err)
}

// plan returns the shards of the first splitter with something to offer
// for f, or none.
func (l *lister[T]) plan(ctx context.Context, f filterSet) ([]filterSet, error) {
	for _, s := range l.splitters {
		shards, err := s(ctx, f)
		if err != nil {
			return nil, err
		}
		if len(shards) > 0 {
			return shards, nil
		}
	}
	return nil, nil
}

// splitOrFail fans out to shards, or fails with capErr, vCenter's refusal,
// when there are none.
func (l *lister[T]) splitOrFail(ctx context.Context, shards []filterSet, capErr error) ([][]T, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("too many matches, even after splitting the query by every inventory dimension: add filters (names, power states): %w", capErr)
	}
	l.split.Store(true)
	return l.fanOut(ctx, shards)
}

// fanOut lists every shard, in parallel within the semaphore, and returns
// their answers unjoined (merge joins them once, at the end).
func (l *lister[T]) fanOut(ctx context.Context, shards []filterSet) ([][]T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		out   [][]T
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
	if l.decode != nil {
		return l.decode(ctx, f)
	}
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

// listMemory remembers, for listTTL, which list queries vCenter refused for
// matching more than its cap and which it answered. It only changes how a
// query is sent, never what a listing holds: a split query returns the same
// objects as the query itself, so a stale entry costs requests, not
// correctness. The zero value is ready; it holds at most maxListMemory
// entries.
type listMemory struct {
	mu sync.Mutex // guards m
	m  map[string]listFact
}

type listFact struct {
	over bool
	at   time.Time
}

type capKnowledge int

const (
	capUnknown capKnowledge = iota
	capKnownUnder
	capKnownOver
)

const (
	listTTL       = 5 * time.Minute
	maxListMemory = 1024
)

func (m *listMemory) known(key string) capKnowledge {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.m[key]
	switch {
	case !ok || time.Since(f.at) > listTTL:
		return capUnknown
	case f.over:
		return capKnownOver
	}
	return capKnownUnder
}

// remember records the outcome of one list request: refused for the cap,
// or answered. Other failures teach nothing.
func (m *listMemory) remember(key string, err error) {
	over := errors.Is(err, ErrUnableToAllocate)
	if err != nil && !over {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]listFact)
	}
	if _, ok := m.m[key]; !ok && len(m.m) >= maxListMemory {
		now := time.Now()
		maps.DeleteFunc(m.m, func(_ string, f listFact) bool { return now.Sub(f.at) > listTTL })
		if len(m.m) >= maxListMemory {
			clear(m.m)
		}
	}
	m.m[key] = listFact{over: over, at: time.Now()}
}

// listKey identifies one list query: the path and the filters, keys sorted.
func listKey(rel string, f filterSet) string {
	keys := slices.Sorted(maps.Keys(f))
	var b strings.Builder
	b.WriteString(rel)
	for _, k := range keys {
		b.WriteByte('?')
		b.WriteString(k)
		for _, v := range f[k] {
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}
