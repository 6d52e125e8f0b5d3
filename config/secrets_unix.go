//go:build unix

package config

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// reexec replaces the process image by the same binary with environ, plus
// the pipe holding payload. It returns only on failure.
func reexec(payload []byte, environ []string) error {
	exe := "/proc/self/exe" // the running binary, even if its file was replaced
	if runtime.GOOS != "linux" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find this binary: %w", err)
		}
	}
	var p [2]int
	// Not close-on-exec: the read end must survive the exec.
	if err := syscall.Pipe(p[:]); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	growPipe(p[1], len(payload))
	// The pipe must hold the whole payload until the new image reads it:
	// a non-blocking write that does not take it all gives up instead of
	// waiting for a reader that cannot come.
	n, err := -1, syscall.SetNonblock(p[1], true)
	if err == nil {
		n, err = syscall.Write(p[1], payload)
	}
	syscall.Close(p[1])
	if err != nil || n != len(payload) {
		syscall.Close(p[0])
		return fmt.Errorf("hand the secrets over through a pipe (%d of %d bytes taken): %w", max(n, 0), len(payload), err)
	}
	environ = append(environ, secretsFDVariable+"="+strconv.Itoa(p[0]))
	err = syscall.Exec(exe, os.Args, environ) //nolint:gosec // G204: this binary itself (os.Executable), with its own arguments
	syscall.Close(p[0])
	return fmt.Errorf("re-execute %s: %w", exe, err)
}

// checkPipe refuses a descriptor that is not an open pipe.
func checkPipe(fd int) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fmt.Errorf("not an open file: %w", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return fmt.Errorf("not a pipe")
	}
	return nil
}
