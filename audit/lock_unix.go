//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package audit

import (
	"errors"
	"os"
	"syscall"
)

// crossProcessLock reports whether lockFile excludes other processes.
const crossProcessLock = true

// lockFile takes an exclusive flock on f, waiting for it, and returns its release.
// flock locks belong to the open file description, so within one process the Log's
// mutex does the serialising and the lock keeps other processes (and other Logs on
// the same path) out.
func lockFile(f *os.File) (unlock func(), err error) {
	if err := flock(f, syscall.LOCK_EX); err != nil {
		return nil, err
	}
	return func() { _ = flock(f, syscall.LOCK_UN) }, nil
}

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
