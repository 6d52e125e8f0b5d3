//go:build unix && !linux

package config

import "errors"

// growPipe is a no-op where pipes cannot be resized; maxSecrets fits the
// smallest pipe buffer of the BSDs and macOS (16 KiB grows on demand to 64 KiB).
func growPipe(int, int) {}

// eraseInitialEnviron is not possible here: only Linux lets a process
// overwrite the block its initial environment is shown from; the caller
// re-executes instead.
func eraseInitialEnviron([]string) error { return errNoErase }

// errNoErase is why the initial environment cannot be overwritten in place.
var errNoErase = errors.New("the initial environment cannot be overwritten on this system")
