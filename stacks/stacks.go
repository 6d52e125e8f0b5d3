// Package stacks runs a tool call's work on a few long-lived goroutines
// whose stacks have already grown to what the work needs.
//
// A new goroutine starts with a small stack. A tool call goes deep (the
// middleware, the vCenter client, net/http and TLS, encoding/json's
// recursion), and the runtime copies the stack each time it doubles,
// walking every frame: 9 % of the server's CPU per get_vm_details in
// BENCHMARKS.md's profile, when each call ran on the goroutine the SDK
// starts for it and each concurrent vCenter read on one of its own. A
// worker here grows once; the garbage collector halves the stack of an idle
// one at most once per cycle, so it regrows one step at most once per cycle.
//
// The package imports only the standard library; tools and vcenter use it.
package stacks

import "sync/atomic"

// Workers is how many workers wait at most; beyond them, work runs on fresh
// goroutines, as it did before this package.
const Workers = 8

var (
	work    = make(chan func()) // unbuffered: a send succeeds only if a worker waits
	started atomic.Int32
)

// Run calls f on a waiting worker (or a new one, or a fresh goroutine) and
// returns when f has returned. A panic in f ends the process, as it would
// on any goroutine: recover inside f.
func Run(f func()) { Go(f)() }

// Go starts f as [Run] does and returns a function that waits for it to
// return.
func Go(f func()) (wait func()) {
	done := make(chan struct{})
	g := func() {
		defer close(done)
		f()
	}
	select {
	case work <- g:
	default:
		if started.Add(1) <= Workers {
			go worker(g)
		} else {
			started.Add(-1)
			go g()
		}
	}
	return func() { <-done }
}

func worker(first func()) {
	first()
	for f := range work {
		f()
	}
}

// Group is a set of functions started with [Go], like a sync.WaitGroup's
// Go and Wait. Its Go is for one goroutine: the one that waits.
type Group struct{ waits []func() }

// Go starts f with [Go].
func (g *Group) Go(f func()) { g.waits = append(g.waits, Go(f)) }

// Wait returns when every function started has returned.
func (g *Group) Wait() {
	for _, w := range g.waits {
		w()
	}
	g.waits = g.waits[:0]
}
