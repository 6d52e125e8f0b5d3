package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// fSetPipeSize is Linux's F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which
// package syscall does not name.
const fSetPipeSize = 1024 + 7

// growPipe makes the pipe hold at least n bytes (Linux: 64 KiB by default,
// up to /proc/sys/fs/pipe-max-size); a failure leaves it as it is, and the
// hand-over then fails if the pipe is too small.
func growPipe(fd, n int) {
	_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), fSetPipeSize, uintptr(n+4096))
}

// eraseInitialEnviron overwrites with NUL bytes, in the block the process
// was started with (what /proc/PID/environ and `ps e` show), every entry
// "NAME=value" whose NAME is in names, and checks through
// /proc/self/environ that none is left. It spares the re-execution (the
// start of a second process image, ~8 ms) where the kernel lets a process
// write its own memory through /proc/self/mem; any failure returns an error
// and the caller re-executes instead.
//
// Security: the Go runtime copied the environment at start, so nothing in
// the process refers to the block; what it still shows is the length of
// each erased entry (as a run of NULs), not its name or value.
func eraseInitialEnviron(names []string) error {
	start, end, err := environBounds()
	if err != nil {
		return err
	}
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer mem.Close()
	block := make([]byte, end-start)
	if _, err := mem.ReadAt(block, start); err != nil {
		return fmt.Errorf("read the initial environment: %w", err)
	}
	erased := eraseEntries(block, names)
	if erased == 0 {
		return nil
	}
	if _, err := mem.WriteAt(block, start); err != nil {
		return fmt.Errorf("overwrite the initial environment: %w", err)
	}
	shown, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		return fmt.Errorf("check the initial environment: %w", err)
	}
	if eraseEntries(shown, names) != 0 {
		return errors.New("the initial environment still shows the secret variables")
	}
	return nil
}

// eraseEntries overwrites with NULs the NUL-separated entries of block
// named by names and returns how many it erased.
func eraseEntries(block []byte, names []string) int {
	n := 0
	for i := 0; i < len(block); {
		j := bytes.IndexByte(block[i:], 0)
		if j < 0 {
			j = len(block) - i
		}
		entry := block[i : i+j]
		for _, name := range names {
			if len(entry) > len(name) && entry[len(name)] == '=' && string(entry[:len(name)]) == name {
				clear(entry)
				n++
				break
			}
		}
		i += j + 1
	}
	return n
}

// environBounds reads env_start and env_end, fields 50 and 51 of
// /proc/self/stat (proc(5)); the fields after the command name, which may
// hold spaces and parentheses, are counted from its last ')'.
func environBounds() (start, end int64, err error) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, errors.New("/proc/self/stat: no command name")
	}
	fields := strings.Fields(string(stat[i+1:])) // fields[0] is field 3
	if len(fields) < 49 {
		return 0, 0, errors.New("/proc/self/stat: no env_start and env_end (kernel before 3.5)")
	}
	start, err1 := strconv.ParseInt(fields[47], 10, 64)
	end, err2 := strconv.ParseInt(fields[48], 10, 64)
	if err1 != nil || err2 != nil || start <= 0 || end <= start || end-start > 64<<20 {
		return 0, 0, fmt.Errorf("/proc/self/stat: env_start %q, env_end %q", fields[47], fields[48])
	}
	return start, end, nil
}
