package audit

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
)

const fullChildEnv = "AUDIT_TEST_FULL_DISK_PATH"

// TestBeginRefusesOnAFullDisk writes through a real file-size limit
// (RLIMIT_FSIZE, in a child process): the kernel accepts part of the begin
// line, then refuses the rest, as a full file system does. In the first
// release the health check was "did the previous append fail" (Log.Err), so
// the first state-changing call of a process acted on a full disk and only
// the second was refused. Begin now fails for the first one; the torn line
// it leaves is named by Verify and chained over once space is back.
func TestBeginRefusesOnAFullDisk(t *testing.T) {
	if path := os.Getenv(fullChildEnv); path != "" {
		fullDiskChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestBeginRefusesOnAFullDisk$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fullChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("--- SKIP")) {
		t.Skipf("child: %s", out)
	}
	rep := verifyPath(t, path, nil)
	if !rep.OK() || rep.Torn != 1 || rep.Unfinished != 0 || rep.Records != 3 || rep.Problems[0].Line != 3 {
		t.Errorf("Verify: intact %v, %d torn, %d unfinished, %d records, problems %v; want the torn begin line 3 and 3 whole records",
			rep.Intact, rep.Torn, rep.Unfinished, rep.Records, rep.Problems)
	}
}

func fullDiskChild(t *testing.T, path string) {
	signal.Ignore(syscall.SIGXFSZ) // the write then fails with EFBIG instead of killing the process
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	read := sampleRecord()
	read.Tool = "list_vms"
	if err := l.Append(read); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
		t.Fatal(err)
	}
	full := syscall.Rlimit{Cur: uint64(fi.Size()) + 40, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Skipf("cannot limit the file size: %v", err)
	}
	if err := l.Err(); err != nil {
		t.Fatalf("Err = %v before the disk is full", err)
	} // the old check would have let the call act here
	act := sampleRecord()
	act.Tool = "power_on_vm"
	if _, err := l.Begin(act); !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("Begin on a full disk = %v, want EFBIG", err)
	}
	if err := l.Append(read); err == nil {
		t.Fatal("Append on a full disk succeeded")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
		t.Fatal(err)
	}
	p, err := l.Begin(act)
	if err != nil {
		t.Fatalf("Begin once space is back: %v", err)
	}
	if err := p.Finish(act); err != nil {
		t.Fatal(err)
	}
}
