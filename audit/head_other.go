//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package audit

import "io/fs"

// openNoFollow is 0 here: os has no O_NOFOLLOW. lockHead still refuses a
// symbolic link at the head's path, by comparing the open file with Lstat
// before writing.
const openNoFollow = 0

// linkCount returns 1: os.FileInfo does not give the link count here.
func linkCount(fs.FileInfo) uint64 { return 1 }
