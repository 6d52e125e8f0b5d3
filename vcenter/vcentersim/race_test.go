//go:build race

package vcentersim

// raceEnabled relaxes wall-clock bounds: the race detector slows code
// several times over.
const raceEnabled = true
