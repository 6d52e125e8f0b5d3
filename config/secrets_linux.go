package config

import "syscall"

// fSetPipeSize is Linux's F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which
// package syscall does not name.
const fSetPipeSize = 1024 + 7

// growPipe makes the pipe hold at least n bytes (Linux: 64 KiB by default,
// up to /proc/sys/fs/pipe-max-size); a failure leaves it as it is, and the
// hand-over then fails if the pipe is too small.
func growPipe(fd, n int) {
	_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), fSetPipeSize, uintptr(n+4096))
}
