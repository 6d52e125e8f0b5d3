package main

import (
	"context"
	"os"
	"runtime/debug"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Start-up allocates a few megabytes that stay live (catalogue, schemas,
// policy), which the default GOGC collected two or three times before the
// first answer. So main turns the collector off until the server is in use,
// under a memory limit that makes the runtime collect anyway should
// start-up ever need more; then GOGC and GOMEMLIMIT are as configured.
//
// Without GOMEMLIMIT the server then runs under a soft limit of its own,
// defaultMemoryLimit: the live heap of an idle server is a few megabytes,
// but a listing of 50,000 VMs holds ~8 MB for a moment, which the default
// GOGC lets grow to twice that before collecting. The limit makes the
// runtime collect sooner instead (it is soft: the heap may pass it, and
// the runtime bounds the CPU it spends on collection near it).
//
// Without GOGC it is defaultGCPercent, not the runtime's 100.

// startHeapLimit bounds the heap while collection is held.
const startHeapLimit = 64 << 20

// defaultMemoryLimit is the soft limit on the memory the Go runtime
// manages (heap, stacks, metadata; not the binary) when GOMEMLIMIT is
// not set.
const defaultMemoryLimit = 24 << 20

// defaultGCPercent is GOGC when the environment sets none. What paces
// collection while the server answers tool calls is not its live heap,
// under 1 MB, but the heap's minimum goal, 4 MB × GOGC/100: the go-sdk
// allocates a 32 KB read buffer for each JSON value it decodes (on MCP
// 2026-07-28 four per tools/call: the _meta, its client info and
// capabilities decoded again, the parameters), ~130 KB of the server's
// ~165 KB per call, so at 100 the runtime collected every
// ~13 calls (75 collections per 1000 get_vm_details). At 150 it is ~40 per
// 1000, ~5% of a call's CPU less, for ~2 MiB more resident memory: 23.1
// MiB after 1000 calls, within the 25 MB target (at 200, 25.3 MiB was
// not). A large listing is paced by defaultMemoryLimit, not by this: peak
// RSS over 50,000 VMs stays 34 MiB (BENCHMARKS.md, "Collection paced for
// small heaps").
const defaultGCPercent = 150

// gcHold restores the collector's settings once.
type gcHold struct {
	once        sync.Once
	held        bool
	percent     int
	memoryLimit int64
}

// startGC is held by main; run releases it (tests call run: nothing held).
var startGC gcHold

// hold turns collection off, remembering GOGC and GOMEMLIMIT.
func (g *gcHold) hold() {
	g.held = true
	g.percent = debug.SetGCPercent(-1)
	g.memoryLimit = debug.SetMemoryLimit(-1)
	debug.SetMemoryLimit(min(g.memoryLimit, startHeapLimit))
}

// release restores GOGC and GOMEMLIMIT as the environment sets them, or
// defaultGCPercent and defaultMemoryLimit where it sets none; later calls
// do nothing.
func (g *gcHold) release() {
	g.once.Do(func() {
		if g.held {
			limit, percent := g.memoryLimit, g.percent
			if os.Getenv("GOMEMLIMIT") == "" {
				limit = defaultMemoryLimit
			}
			if os.Getenv("GOGC") == "" {
				percent = defaultGCPercent
			}
			debug.SetMemoryLimit(limit)
			debug.SetGCPercent(percent)
		}
	})
}

// releaseOnUse releases the collector at the server's first request that is
// not part of a client's start (initialize, tools/list, the notification):
// a tool call, usually.
func (g *gcHold) releaseOnUse(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize", "notifications/initialized", "tools/list":
		default:
			g.release()
		}
		return next(ctx, method, req)
	}
}
