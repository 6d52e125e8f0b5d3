//go:build windows

package audit

import (
	"os"

	"golang.org/x/sys/windows"
)

// crossProcessLock reports whether lockFile excludes other processes.
const crossProcessLock = true

// lockFile takes an exclusive LockFileEx lock over the whole of f, waiting for it,
// and returns its release.
func lockFile(f *os.File) (unlock func(), err error) {
	if err := lockRange(f, true); err != nil {
		return nil, err
	}
	return func() { _ = lockRange(f, false) }, nil
}

func lockRange(f *os.File, lock bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	const all = ^uint32(0)
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		h := windows.Handle(fd)
		if lock {
			lerr = windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK, 0, all, all, new(windows.Overlapped))
		} else {
			lerr = windows.UnlockFileEx(h, 0, all, all, new(windows.Overlapped))
		}
	}); err != nil {
		return err
	}
	return lerr
}
