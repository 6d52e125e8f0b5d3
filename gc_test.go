package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestGCHold: start-up runs without collection under startHeapLimit; the
// release restores GOGC, or sets defaultGCPercent when the environment has
// no GOGC, and puts the server under defaultMemoryLimit, or under
// GOMEMLIMIT when the operator set one; a second release changes nothing.
func TestGCHold(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })

	for _, tc := range []struct {
		name, env, gogc string
		set             int64 // the limit in force before hold, as GOMEMLIMIT would set it
		want            int64
		before, after   int // GOGC as the runtime set it from the environment, and after the release
	}{
		{"neither", "", "", math.MaxInt64, defaultMemoryLimit, 100, defaultGCPercent},
		{"GOMEMLIMIT", "100MiB", "", 100 << 20, 100 << 20, 100, defaultGCPercent},
		{"GOGC", "", "120", math.MaxInt64, defaultMemoryLimit, 120, 120},
		{"GOGC=100", "", "100", math.MaxInt64, defaultMemoryLimit, 100, 100},
		{"GOGC=off", "", "off", math.MaxInt64, defaultMemoryLimit, -1, -1},
		{"both", "100MiB", "120", 100 << 20, 100 << 20, 120, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.env)
			t.Setenv("GOGC", tc.gogc)
			debug.SetGCPercent(tc.before)
			debug.SetMemoryLimit(tc.set)
			var g gcHold
			g.hold()
			if p := debug.SetGCPercent(-1); p != -1 {
				t.Errorf("held: GOGC %d, want off", p)
			}
			if l := debug.SetMemoryLimit(-1); l != min(tc.set, startHeapLimit) {
				t.Errorf("held: limit %d, want %d", l, min(tc.set, startHeapLimit))
			}
			g.release()
			if p := debug.SetGCPercent(100); p != tc.after {
				t.Errorf("released: GOGC %d, want %d", p, tc.after)
			}
			if l := debug.SetMemoryLimit(-1); l != tc.want {
				t.Errorf("released: limit %d, want %d", l, tc.want)
			}
			debug.SetMemoryLimit(1 << 40)
			g.release()
			if l := debug.SetMemoryLimit(-1); l != 1<<40 {
				t.Errorf("a second release set the limit again (%d)", l)
			}
		})
	}
}
