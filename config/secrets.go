package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// This file hands the secret variables to a fresh image of the process.
//
// A process cannot erase its initial environment: Go's os.Unsetenv (and the
// env tag's unset) change the process's copy, but the kernel keeps the
// block the process was started with, and shows it in /proc/PID/environ
// (and `ps e`) to the same user and root for the life of the process. So on
// Unix the process re-executes itself once, early in main: the same binary,
// arguments, stdin, stdout and stderr (the MCP channel), and PID, with an
// environment without the secrets, which it passes instead through an
// inherited pipe that the new image reads and closes at start. On Linux it
// first tries to overwrite those entries of the block in place, through
// /proc/self/mem (eraseInitialEnviron), and re-executes only if it cannot.

// secretsFDVariable names the pipe in the new image's environment; it also
// marks the new image, so that it never re-executes again.
const secretsFDVariable = "VSPHERE_MCP_SECRETS_FD" //nolint:gosec // G101: the name of a variable holding a file descriptor number, not a credential

// maxSecrets bounds what is passed through the pipe, in bytes; the pipe
// must hold it all before the new image starts reading.
const maxSecrets = 60 << 10

// SecretVariables names the variables that hold secrets: those read once
// and removed from the environment (the env tag's unset option).
func SecretVariables() []string {
	t := reflect.TypeFor[Env]()
	var out []string
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("env"), ",")
		if slices.Contains(strings.Split(opts, ","), "unset") {
			out = append(out, name)
		}
	}
	return out
}

// ShedSecrets makes sure the process's initial environment holds no
// secret, and returns the environment to configure from, secrets included.
//
// In a process started with secrets in its environment it re-executes the
// binary with them removed (see the comment at the top of this file) and
// does not return, unless that is impossible here (Windows, a binary that
// cannot be found, secrets larger than a pipe holds): it then returns
// environ unchanged and an error wrapping [ErrSecretsVisible], for a
// warning. In the re-executed image it reads the secrets from the pipe,
// closes it, and returns environ with them added; an unreadable pipe is
// another error, fatal: the secrets are then missing.
//
// Security: the marker variable is taken from the environment, so any
// launcher could set it; it only names a file descriptor to read secrets
// from, which that launcher could as well have put in the environment.
func ShedSecrets(environ []string) ([]string, error) {
	if fdText, ok := lookup(environ, secretsFDVariable); ok {
		environ = without(environ, secretsFDVariable)
		_ = os.Unsetenv(secretsFDVariable)
		secrets, err := receiveSecrets(fdText)
		if err != nil {
			return environ, err
		}
		for _, name := range SecretVariables() {
			if v, ok := secrets[name]; ok {
				environ = append(without(environ, name), name+"="+v)
			}
		}
		return environ, nil
	}
	secrets := map[string]string{}
	for _, name := range SecretVariables() {
		if v, ok := lookup(environ, name); ok && v != "" {
			secrets[name] = v
		}
	}
	if len(secrets) == 0 {
		return environ, nil
	}
	payload, _ := json.Marshal(secrets)
	if len(payload) > maxSecrets {
		return environ, fmt.Errorf("%w: they hold more than %d bytes, too many to hand over", ErrSecretsVisible, maxSecrets)
	}
	// On Linux the block can usually be overwritten in place, which spares
	// starting a second image; elsewhere, or if that fails, re-execute.
	if eraseInitialEnviron(SecretVariables()) == nil {
		for name := range secrets {
			_ = os.Unsetenv(name) // nor do child processes inherit them
		}
		return environ, nil
	}
	rest := environ
	for name := range secrets {
		rest = without(rest, name)
	}
	err := reexec(payload, rest)
	return environ, fmt.Errorf("%w: %w", ErrSecretsVisible, err)
}

// ErrSecretsVisible is wrapped by the error of [ShedSecrets] when the
// secrets could not be removed from the process's initial environment:
// the server works, but they stay readable in /proc/PID/environ (a
// warning, not a failure).
var ErrSecretsVisible = errors.New("the secret variables stay visible in this process's initial environment (prefer VCENTER_PASSWORD_FILE and POLICY_FILE)")

// receiveSecrets reads the pipe named by fdText and closes it.
func receiveSecrets(fdText string) (map[string]string, error) {
	fd, err := strconv.Atoi(fdText)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q: not a file descriptor this server opened", secretsFDVariable, fdText)
	}
	// Security: only a pipe is read (and closed): never a descriptor the
	// runtime opened for itself, should the marker name one.
	if err := checkPipe(fd); err != nil {
		return nil, fmt.Errorf("%s=%d: %w", secretsFDVariable, fd, err)
	}
	f := os.NewFile(uintptr(fd), "secrets")
	if f == nil {
		return nil, fmt.Errorf("%s=%d: not an open file", secretsFDVariable, fd)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecrets+1))
	if err != nil {
		return nil, fmt.Errorf("%s=%d: %w", secretsFDVariable, fd, err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil || len(b) > maxSecrets {
		return nil, fmt.Errorf("%s=%d: not the secrets this server passed", secretsFDVariable, fd)
	}
	return secrets, nil
}

func lookup(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func without(environ []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(environ), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}

// ShedSecretsOrWarn is [ShedSecrets] for main: where the secrets cannot leave
// the initial environment it warns on stderr (except on Windows, where that
// is the documented normal case) and goes on; any other error is fatal.
func ShedSecretsOrWarn(environ []string, stderr io.Writer) ([]string, error) {
	environ, err := ShedSecrets(environ)
	if errors.Is(err, ErrSecretsVisible) {
		if runtime.GOOS != "windows" {
			fmt.Fprintf(stderr, "vsphere-mcp-pro: WARNING: %v\n", err)
		}
		return environ, nil
	}
	return environ, err
}
