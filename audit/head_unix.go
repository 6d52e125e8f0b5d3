//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package audit

import (
	"io/fs"
	"syscall"
)

// openNoFollow makes opening the chain head fail on a symbolic link.
const openNoFollow = syscall.O_NOFOLLOW

// linkCount returns the number of hard links to the file fi describes.
func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink) //nolint:unconvert // Nlink is uint16 or uint32 on some systems
	}
	return 1
}
