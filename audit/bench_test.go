package audit

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
)

// benchLog opens an audit file for a benchmark, in AUDIT_BENCH_DIR when set
// (to measure another disk), else in the test's temporary directory.
func benchLog(b *testing.B, opts ...Option) *Log {
	dir := os.Getenv("AUDIT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		var err error
		if dir, err = os.MkdirTemp(dir, "audit-bench"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	opts = append(opts, WithScrubber(redact.New("S3cret-Passw0rd", "launch-token-Qm7Zx")))
	l, err := Open(filepath.Join(dir, "audit.jsonl"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkAppend is the cost of a read-only call's line: no sync.
func BenchmarkAppend(b *testing.B) {
	l := benchLog(b)
	r := sampleRecord()
	for b.Loop() {
		if err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendKeyed is BenchmarkAppend with a chain key.
func BenchmarkAppendKeyed(b *testing.B) {
	l := benchLog(b, WithKey(testKey))
	r := sampleRecord()
	for b.Loop() {
		if err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeginFinish is the audit cost of a state-changing call: the begin
// line written and synced to disk, then the outcome line.
func BenchmarkBeginFinish(b *testing.B) {
	l := benchLog(b)
	r := sampleRecord()
	for b.Loop() {
		p, err := l.Begin(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Finish(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendStream is the cost of a line on a stream (stderr).
func BenchmarkAppendStream(b *testing.B) {
	l := New(io.Discard)
	r := sampleRecord()
	for b.Loop() {
		if err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}
