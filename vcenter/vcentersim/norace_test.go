//go:build !race

package vcentersim

const raceEnabled = false
