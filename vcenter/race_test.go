//go:build race

package vcenter

// raceEnabled skips memory measurements: the race detector instruments
// allocations and makes sync.Pool drop items at random.
const raceEnabled = true
