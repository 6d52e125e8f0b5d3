//go:build race

package vcenter

// pagedEvents is smaller under the race detector, which slows the JSON of
// 100,000 events tenfold; the paging logic is the same.
const pagedEvents = 20_000
