//go:build !unix

package config

import "errors"

// errNoReexec is why the secrets cannot be handed over on this system.
var errNoReexec = errors.New("re-executing without the secrets is not supported here")

// reexec is not possible on Windows: a process cannot replace its image
// there, and a child process would have another PID than the one the MCP
// client launched. The secrets stay in the process's environment block.
func reexec([]byte, []string) error { return errNoReexec }

// checkPipe refuses every descriptor: nothing hands secrets over here.
func checkPipe(int) error { return errNoReexec }

// eraseInitialEnviron is not possible on Windows either.
func eraseInitialEnviron([]string) error { return errNoErase }

// errNoErase is why the initial environment cannot be overwritten in place.
var errNoErase = errors.New("the initial environment cannot be overwritten on Windows")
