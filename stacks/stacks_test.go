package stacks

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// goroutineID is the number runtime.Stack prints for the calling goroutine.
func goroutineID() int {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	id, _ := strconv.Atoi(string(b[:bytes.IndexByte(b, ' ')]))
	return id
}

// A thousand calls one after the other run on at most Workers goroutines,
// none of them the caller's: the point of the package.
func TestWorkersAreReused(t *testing.T) {
	me := goroutineID()
	seen := map[int]bool{}
	for range 1000 {
		var id int
		Run(func() { id = goroutineID() })
		if id == me {
			t.Fatal("Run ran f on the calling goroutine")
		}
		seen[id] = true
	}
	if len(seen) > Workers {
		t.Fatalf("1000 calls in a row ran on %d goroutines, want at most %d", len(seen), Workers)
	}
}

// Run returns once f has returned, and what f wrote is visible to the
// caller (the race detector checks the happens-before).
func TestRunWaitsForF(t *testing.T) {
	for i := range 100 {
		var got []int
		Run(func() {
			for j := range i {
				got = append(got, j)
			}
		})
		if len(got) != i {
			t.Fatalf("after Run: %d values, want %d", len(got), i)
		}
	}
}

// More functions at once than there are workers all run together: none
// waits for a worker to be free (each blocks until all have started, so a
// pool that queued them would never return).
func TestMoreThanWorkersAtOnce(t *testing.T) {
	const n = 3 * Workers
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	var done atomic.Int32
	var g Group
	for range n {
		g.Go(func() {
			started.Done()
			<-release
			done.Add(1)
		})
	}
	started.Wait()
	close(release)
	g.Wait()
	if got := done.Load(); got != n {
		t.Fatalf("after Wait: %d functions returned, want %d", got, n)
	}
	// Wait again, and reuse: nothing is left to wait for, and the group
	// starts afresh.
	g.Wait()
	var again atomic.Bool
	g.Go(func() { again.Store(true) })
	g.Wait()
	if !again.Load() {
		t.Fatal("a reused group did not wait for its function")
	}
}

// A function may start others (a tool call's vCenter reads): with every
// worker busy, they run on fresh goroutines instead of deadlocking.
func TestNestedRuns(t *testing.T) {
	var total atomic.Int32
	var outer Group
	for range Workers + 2 {
		outer.Go(func() {
			var inner Group
			for range 3 {
				inner.Go(func() { total.Add(1) })
			}
			inner.Wait()
		})
	}
	outer.Wait()
	if got, want := total.Load(), int32(3*(Workers+2)); got != want {
		t.Fatalf("%d inner functions ran, want %d", got, want)
	}
}

// BenchmarkRunDeep and BenchmarkGoroutineDeep run a call 200 frames deep
// (~32 KiB of stack) on a worker and on a fresh goroutine: the difference is
// the stack growth a worker saves (3.2 µs against 31 µs on the CI machine).
func BenchmarkRunDeep(b *testing.B) {
	for b.Loop() {
		Run(func() { deep(200) })
	}
}

func BenchmarkGoroutineDeep(b *testing.B) {
	for b.Loop() {
		done := make(chan struct{})
		go func() { deep(200); close(done) }()
		<-done
	}
}

//go:noinline
func deep(n int) int {
	var pad [128]byte
	pad[n%128] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%128])
}
