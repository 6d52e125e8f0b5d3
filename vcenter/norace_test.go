//go:build !race

package vcenter

const raceEnabled = false
