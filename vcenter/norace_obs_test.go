//go:build !race

package vcenter

// pagedEvents is how many events the paging test reads through.
const pagedEvents = 100_000
