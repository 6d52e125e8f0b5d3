//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package audit

import "os"

// crossProcessLock reports whether lockFile excludes other processes. Here it does
// not: on these systems only the Log's mutex serialises appends, so one file must
// not be shared by several processes (or several Logs).
const crossProcessLock = false

func lockFile(*os.File) (unlock func(), err error) {
	return func() {}, nil
}
