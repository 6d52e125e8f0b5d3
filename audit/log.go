package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"
)

// ErrClosed is returned by [Log.Append] after [Log.Close].
var ErrClosed = errors.New("audit log is closed")

// Log writes audit records, one JSON line each. It is safe for concurrent use.
//
// Security: every record passes through [MaskArgs] and the log's [Scrubber] before
// it is written, so no caller can put a secret into the log by forgetting to mask.
// A Log never writes to standard output, which carries only MCP messages: [Open]
// refuses a path that is standard output and [New] panics when given os.Stdout.
type Log struct {
	mu     sync.Mutex // serialises appends in this process; guards the fields below
	w      io.Writer
	f      *os.File // set by Open: the chain is read back from the file itself
	scrub  *Scrubber
	now    func() time.Time // the clock for missing timestamps and headers; tests replace it
	chain  chainState       // the in-memory chain of a writer that is not a file
	begun  bool             // the in-memory chain has its header
	closed bool

	errMu sync.Mutex
	err   error // the result of the last append
}

// Option configures a [Log].
type Option func(*Log)

// WithScrubber makes the log replace the secrets s knows in every string it writes.
func WithScrubber(s *Scrubber) Option {
	return func(l *Log) { l.scrub = s }
}

// New returns a Log writing to w, typically os.Stderr or a buffer in tests. The chain
// is kept in memory: the first append writes a header. Close does not close w.
func New(w io.Writer, opts ...Option) *Log {
	if w == os.Stdout {
		panic("audit: New(os.Stdout): standard output carries only MCP messages")
	}
	l := &Log{w: w, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Open opens the audit file at path for appending (O_APPEND|O_CREATE, mode 0600; it
// is opened for reading too, because each line chains to the one before, which may
// come from another process). Several processes may append to one file: each append
// holds an exclusive advisory lock on it (flock on Unix, LockFileEx on Windows;
// other systems serialise only within the process).
//
// Security: Open refuses, rather than fixes, a path that is not a regular file (such
// as /dev/stdout), that is this process's standard output, or, except on Windows,
// whose mode grants group or others any access: the log records who did what, and
// the operator should decide who may read it.
func Open(path string, opts ...Option) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if err := checkFile(path, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	l := New(f, opts...)
	l.f = f
	return l, nil
}

func checkFile(path string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if out, err := os.Stdout.Stat(); err == nil && os.SameFile(fi, out) {
		return errors.New("is standard output, which carries only MCP messages")
	}
	// Windows has no group or other bits (os.Stat derives them from the read-only
	// attribute); access there is governed by the file's ACL.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return fmt.Errorf("mode %04o lets group or others access it; run: chmod 600 %s", perm, path)
	}
	return nil
}

// Append writes r as one line with a single Write call, after masking its arguments
// and scrubbing its strings; r itself is not changed. A zero r.TS becomes the current
// time. Append sets Seq and Prev, and writes a header line first when the file (or,
// for [New], the stream) is empty.
//
// The error is also kept for [Log.Err] until a later append succeeds.
func (l *Log) Append(r *Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.append(r)
	l.errMu.Lock()
	l.err = err
	l.errMu.Unlock()
	return err
}

func (l *Log) append(r *Record) error {
	if l.closed {
		return ErrClosed
	}
	if r == nil {
		return errors.New("audit: nil record")
	}
	rec := l.scrub.scrubRecord(r)
	if rec.TS.IsZero() {
		rec.TS = l.now()
	}
	rec.TS = rec.TS.UTC()
	if l.f != nil {
		return l.appendFile(&rec)
	}
	return l.appendStream(&rec)
}

// appendFile chains rec to the last line of the file, under the file lock, since
// other processes may have appended since this one last did.
func (l *Log) appendFile(rec *Record) error {
	unlock, err := lockFile(l.f)
	if err != nil {
		return fmt.Errorf("audit log: lock: %w", err)
	}
	defer unlock()
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	var out []byte
	var at chainState
	if fi.Size() == 0 {
		h := headerLine(l.now())
		if _, err := l.f.Write(h); err != nil {
			return fmt.Errorf("audit log: write header: %w", err)
		}
		at = next(h[:len(h)-1])
	} else {
		last, terminated, err := lastLine(l.f, fi.Size())
		if err != nil {
			return fmt.Errorf("audit log: read last line: %w", err)
		}
		at = next(last)
		if !terminated { // a torn line: end it, so that this record stays whole
			out = append(out, '\n')
		}
	}
	rec.Seq, rec.Prev = at.seq, at.prev
	line, err := marshalLine(rec)
	if err != nil {
		return fmt.Errorf("audit log: encode: %w", err)
	}
	if _, err := l.f.Write(append(out, line...)); err != nil {
		return fmt.Errorf("audit log: write: %w", err)
	}
	return nil
}

// appendStream chains rec in memory; nobody else writes to the stream's chain.
func (l *Log) appendStream(rec *Record) error {
	if !l.begun {
		h := headerLine(l.now())
		if _, err := l.w.Write(h); err != nil {
			return fmt.Errorf("audit log: write header: %w", err)
		}
		l.chain, l.begun = next(h[:len(h)-1]), true
	}
	rec.Seq, rec.Prev = l.chain.seq, l.chain.prev
	line, err := marshalLine(rec)
	if err != nil {
		return fmt.Errorf("audit log: encode: %w", err)
	}
	if _, err := l.w.Write(line); err != nil {
		return fmt.Errorf("audit log: write: %w", err)
	}
	l.chain = chainState{prev: lineHash(line[:len(line)-1]), seq: rec.Seq + 1}
	return nil
}

// Err returns the error of the last append, or nil if it succeeded (or none was
// made). Callers refuse state-changing calls while it is not nil: a call that cannot
// be audited must not run.
func (l *Log) Err() error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

// Close closes the file opened by [Open]; a Log from [New] leaves its writer open.
// Later appends fail with [ErrClosed]. Calling Close twice is safe.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.f != nil {
		return l.f.Close()
	}
	return nil
}
