package vcenter

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// placeCache keeps where each VM runs and is filed (VI/JSON
// VirtualMachine.runtime.host and .parent), so that reading a VM's details
// sends the two VI/JSON reads once per placementTTL rather than on every
// call.
//
// Freshness: a VM that moves is shown at its new place
//   - at once after a change this client makes: every request that is not
//     safe (a POST, PATCH or DELETE: relocate, power, maintenance mode, …)
//     empties the cache before it is sent and again when it is answered,
//     and so does reading a task that has ended (the relocation itself runs
//     as a task, after the POST that starts it);
//   - within placementTTL after a move made elsewhere (DRS, another client),
//     of which vCenter tells nothing without a property collector.
//
// Only complete reads are kept: a failed read is tried again by the next call.
// An entry also says that the VM existed when it was read, and its power
// state then: GetVM sends the optional reads of such a VM with the VM read
// (a VM deleted elsewhere within placementTTL then costs those reads too;
// one this client deleted is forgotten with the DELETE).
type placeCache struct {
	mu      sync.Mutex // guards gen and entries
	gen     uint64     // counts invalidations; a fill started before one is not kept
	entries map[string]placeEntry
	fill    singleflight.Group // concurrent misses of one VM share its reads
}

type placeEntry struct {
	host   *moRef // runtime.host; nil when unset
	parent *moRef // parent; nil for a VM in a vApp (it has parentVApp instead)
	at     time.Time
	// power is the power state of the VM's last read (notePower): whether
	// its guest identity is worth asking for with the VM read.
	power PowerState
	// tags are the VM's tags as last read within the entry's life (noteTags);
	// hasTags says they were. Tags changed by this client empty the cache
	// (attach and detach are POSTs); changed elsewhere, they show within
	// placementTTL, like a move.
	tags    []Tag
	hasTags bool
}

// placeRead is the answer of the two reads, with their errors, and the
// power state last seen.
type placeRead struct {
	host, parent       *moRef
	hostErr, parentErr error
	power              PowerState
	tags               []Tag
	hasTags            bool
}

const (
	// placementTTL bounds how long a move made outside this client can go
	// unseen. DRS moves VMs at most every few minutes (its default
	// interval is 5 minutes); 30 seconds keeps a tool's answer close to
	// vCenter's while repeated reads of a VM cost one request, not three.
	placementTTL = 30 * time.Second
	// maxPlacements bounds the cache (about 150 bytes an entry).
	maxPlacements = 50_000
)

func newPlaceCache() *placeCache { return &placeCache{entries: map[string]placeEntry{}} }

// invalidate forgets every placement; fills in flight are not kept.
func (pc *placeCache) invalidate() {
	pc.mu.Lock()
	pc.gen++
	clear(pc.entries)
	pc.mu.Unlock()
}

// cached returns the VM's placement when fresh at now.
func (pc *placeCache) cached(vm string, now time.Time) (placeRead, bool) {
	r, _, ok := pc.lookup(vm, now)
	return r, ok
}

// lookup is cached with the generation.
func (pc *placeCache) lookup(vm string, now time.Time) (placeRead, uint64, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.entries[vm]
	if ok && now.Sub(e.at) < placementTTL && !now.Before(e.at) {
		return placeRead{host: e.host, parent: e.parent, power: e.power, tags: e.tags, hasTags: e.hasTags}, pc.gen, true
	}
	return placeRead{}, pc.gen, false
}

// notePower records the power state a VM read has just shown, in the VM's
// entry if there is one; it does not make the entry any fresher.
func (pc *placeCache) notePower(vm string, p PowerState) {
	pc.mu.Lock()
	if e, ok := pc.entries[vm]; ok && e.power != p {
		e.power = p
		pc.entries[vm] = e
	}
	pc.mu.Unlock()
}

// noteTags records the tags just read for vm in its entry, unless the
// cache was emptied since gen (a change may have been made meanwhile); it
// does not make the entry any fresher.
func (pc *placeCache) noteTags(vm string, gen uint64, tags []Tag) {
	pc.mu.Lock()
	if e, ok := pc.entries[vm]; ok && pc.gen == gen {
		e.tags, e.hasTags = slices.Clone(tags), true
		pc.entries[vm] = e
	}
	pc.mu.Unlock()
}

// placement returns the VM's host and folder references, from the cache
// when fresh, else read through VI/JSON (runtime and parent in parallel).
func (c *Client) placement(ctx context.Context, vm string) placeRead {
	pc := c.places
	r, gen, ok := pc.lookup(vm, c.now())
	if ok {
		return r
	}
	// The generation is part of the key: a call that starts after an
	// invalidation never joins a fill that started before it.
	v, _, _ := pc.fill.Do(vm+"@"+strconv.FormatUint(gen, 10), func() (any, error) {
		at := c.now()
		if r, ok := pc.cached(vm, at); ok { // filled since the miss
			return r, nil
		}
		var r placeRead
		var runtime struct {
			Host *moRef `json:"host"`
		}
		var wg sync.WaitGroup
		wg.Go(func() { r.hostErr = c.vim(ctx, http.MethodGet, "VirtualMachine", vm, "runtime", nil, &runtime) })
		r.parentErr = c.vim(ctx, http.MethodGet, "VirtualMachine", vm, "parent", nil, &r.parent)
		wg.Wait()
		r.host = runtime.Host
		if r.hostErr == nil && r.parentErr == nil {
			pc.mu.Lock()
			if pc.gen == gen {
				if len(pc.entries) >= maxPlacements {
					clear(pc.entries)
				}
				pc.entries[vm] = placeEntry{host: r.host, parent: r.parent, at: at}
			}
			pc.mu.Unlock()
		}
		return r, nil
	})
	return v.(placeRead)
}
