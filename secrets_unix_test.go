//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
)

// TestShedSecretsInTheNewImage: the new image reads the secrets from the
// pipe named by the marker, closes it, and refuses a marker that names no
// pipe of its own. (Raw descriptors: an *os.File would close its
// descriptor again when collected, whatever uses the number by then.)
func TestShedSecretsInTheNewImage(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Write(p[1], []byte(`{"VCENTER_PASSWORD":"from-the-pipe","NOT_A_SECRET":"ignored"}`)); err != nil {
		t.Fatal(err)
	}
	syscall.Close(p[1])
	environ, err := config.ShedSecrets([]string{"A=1", fmt.Sprintf("VSPHERE_MCP_SECRETS_FD=%d", p[0])})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(environ, " "); got != "A=1 VCENTER_PASSWORD=from-the-pipe" {
		t.Errorf("environ = %q", got)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(p[0], &st); !errors.Is(err, syscall.EBADF) {
		t.Errorf("the pipe is still open: %v", err)
	}
	file, err := os.CreateTemp(t.TempDir(), "not-a-pipe")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, bad := range []string{"x", "1", "-3", "987654", strconv.Itoa(int(file.Fd()))} {
		if _, err := config.ShedSecrets([]string{"VSPHERE_MCP_SECRETS_FD=" + bad}); err == nil {
			t.Errorf("marker %q accepted", bad)
		}
	}
	if _, err := file.Stat(); err != nil {
		t.Errorf("a file named by the marker was closed: %v", err)
	}
	// Too large to hand over: a warning, and the environment as it was.
	big := []string{"TOKENS_TO_ROLES=" + strings.Repeat("x", 70<<10)}
	if environ, err := config.ShedSecrets(big); !errors.Is(err, config.ErrSecretsVisible) || len(environ) != 1 || environ[0] != big[0] {
		t.Errorf("70 KiB of secrets: %v", err)
	}
	// Without secrets there is nothing to do.
	if environ, err := config.ShedSecrets([]string{"VCENTER_HOST=vc", "VCENTER_PASSWORD="}); err != nil || len(environ) != 2 {
		t.Errorf("no secrets: %v %v", environ, err)
	}
}
