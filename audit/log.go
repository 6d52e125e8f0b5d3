package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
)

// ErrClosed is returned by [Log.Append], [Log.Begin] and [Pending.Finish]
// after [Log.Close].
var ErrClosed = errors.New("audit log is closed")

// Log writes audit records, one JSON line each. It is safe for concurrent use.
//
// Security: every record passes through [MaskArgs], the log's scrubber and
// the field caps before it is written, so no caller can put a secret or an
// unbounded string into the log by forgetting to mask or cut. A Log never
// writes to standard output, which carries only MCP messages: [Open] refuses
// a path that is standard output and [New] panics when given os.Stdout.
type Log struct {
	mu    sync.Mutex // serialises writes in this process; guards the fields below
	path  string     // the audit file; "" for a stream
	f     *os.File   // the file open at path; nil once lost and until reopened
	fresh bool       // this Log created f: its directory entry is not yet synced
	// cont is where the chain of the file this Log last had open ended, once
	// that file no longer stands at path, until a file at path is written
	// or found not empty: the header of a new file at path continues it
	// when the chain head cannot be used (see startChain).
	cont *chainState
	// headPath is the chain head beside the audit file (see head.go); hf
	// is that file, open; nil until opened or once lost.
	headPath string
	hf       *os.File
	noHead   bool // tests: write as the previous version did, without a chain head
	// mine is this Log's last write to f, while it may be the last line of
	// f; nil otherwise.
	mine *ownWrite

	w     io.Writer // the stream of a Log from New
	scrub *redact.Scrubber
	key   []byte
	now   func() time.Time     // the clock for missing timestamps and headers; tests replace it
	sync  func(*os.File) error // makes the file durable; tests replace it
	// chain, begun and torn are the in-memory chain of a stream.
	chain  chainState
	begun  bool
	torn   bool // the last write to the stream stopped part way through a line
	closed bool

	errMu sync.Mutex
	err   error // the result of the last write
}

// Option configures a [Log].
type Option func(*Log)

// WithScrubber makes the log replace the secrets s knows in every string it
// writes. Give it the process's one scrubber ([redact.New]).
func WithScrubber(s *redact.Scrubber) Option {
	return func(l *Log) { l.scrub = s }
}

// WithKey makes the log key its chain with key (at least [MinKeyLen] bytes;
// see [LoadKey]): every line ends with an HMAC-SHA256 of its bytes under the
// key, and headers carry the key's [KeyID]. [Open] refuses a shorter key and
// [New] panics on one. The key is copied.
func WithKey(key []byte) Option {
	k := append([]byte(nil), key...)
	return func(l *Log) { l.key = k }
}

// Scrubber is the process's secret scrubber, [redact.Scrubber]; the alias
// keeps callers of the first release compiling. New code names
// redact.Scrubber.
type Scrubber = redact.Scrubber

// NewScrubber returns [redact.New](secrets...); new code calls that.
func NewScrubber(secrets ...string) *Scrubber { return redact.New(secrets...) }

func newLog(opts []Option) *Log {
	l := &Log{now: time.Now, sync: (*os.File).Sync}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *Log) checkKey() error {
	if l.key != nil && len(l.key) < MinKeyLen {
		return fmt.Errorf("audit key of %d bytes, want at least %d", len(l.key), MinKeyLen)
	}
	return nil
}

// New returns a Log writing to w, typically os.Stderr or a buffer in tests.
// The chain is kept in memory: the first line written is a header. Close does
// not close w.
//
// A stream cannot be made durable: [Log.Begin] on it checks only that the
// write succeeded.
func New(w io.Writer, opts ...Option) *Log {
	if w == os.Stdout {
		panic("audit: New(os.Stdout): standard output carries only MCP messages")
	}
	l := newLog(opts)
	if err := l.checkKey(); err != nil {
		panic("audit: New: " + err.Error())
	}
	l.w = w
	return l
}

// Open opens the audit file at path for appending (O_APPEND|O_CREATE, mode
// 0600; it is opened for reading too, because each line chains to the one
// before, which may come from another process). Several processes may append
// to one file: each write holds an exclusive advisory lock on it (flock on
// Unix, LockFileEx on Windows; other systems serialise only within the
// process).
//
// Before each write the Log checks, under the lock, that path still names the
// file it has open. When the file was renamed away (rotation), removed or
// replaced, it opens (or creates) the file now at path, whose first line then
// continues the chain of the old one; see the package comment on rotation.
//
// Security: Open refuses, rather than fixes, a path that is not a regular file
// (such as /dev/stdout), that is this process's standard output, or, except on
// Windows, whose mode grants group or others any access: the log records who
// did what, and the operator should decide who may read it. The same checks
// apply to a file reopened after rotation.
func Open(path string, opts ...Option) (*Log, error) {
	l := newLog(opts)
	if err := l.checkKey(); err != nil {
		return nil, err
	}
	f, created, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	l.path, l.f, l.fresh, l.headPath = path, f, created, headPath(path)
	return l, nil
}

// openFile opens or creates the audit file at path and checks it; created
// says whether this call created it.
func openFile(path string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	created = err == nil
	if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, false, err
	}
	if err := checkFile(path, f); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return f, created, nil
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
		return fmt.Errorf("mode %04o lets group or others access it; run: chmod 600 %s (a log rotator must create it with mode 0600)", perm, path)
	}
	return nil
}

// writeMode is the kind of line a write produces.
type writeMode int

const (
	modeOne   writeMode = iota // a whole call in one line
	modeBegin                  // the begin line of a call; synced
	modeEnd                    // the outcome of a begun call
)

// Append writes r as one line with a single write, after masking its
// arguments, scrubbing and capping its strings; r itself is not changed. A
// zero r.TS becomes the current time. Append sets Seq and Prev (and clears
// Phase and BeginSeq), and writes a header line first when the file (or, for
// [New], the stream) is empty. It does not sync: a line that describes a
// call that changed nothing need not survive a crash of the host.
//
// The error is also kept for [Log.Err] until a later write succeeds.
func (l *Log) Append(r *Record) error {
	_, err := l.write(r, modeOne, 0)
	return err
}

// Begin records that the call r describes is about to act, before it does:
// it writes a begin line (ts, tool, decision, args, role, token_fp, vcenter,
// target, client, request_id; no outcome) and, for a file, syncs it to disk
// (and the file's directory entry when this Log created the file). The
// caller must not let the call act when Begin fails: the call could then
// change vCenter without a durable record of it. On success, the caller
// writes the outcome with [Pending.Finish], whatever it is.
//
// A begin line without an outcome is reported by [Verify]: the process died
// (or the outcome's write failed) while the call was acting.
func (l *Log) Begin(r *Record) (*Pending, error) {
	seq, err := l.write(r, modeBegin, 0)
	if err != nil {
		return nil, err
	}
	return &Pending{log: l, seq: seq}, nil
}

// Pending is a call begun with [Log.Begin] whose outcome is not yet written.
type Pending struct {
	log  *Log
	seq  int64
	mu   sync.Mutex
	done bool
}

// Seq returns the seq of the begin line; the outcome line's begin_seq.
func (p *Pending) Seq() int64 { return p.seq }

// Finish writes final as the outcome of the begun call: a record like
// [Log.Append]'s with "phase":"end" and "begin_seq". It does not sync: the
// begin line is what had to be durable before the call acted. Once Finish
// has succeeded, later calls fail; after a failure, it may be called again.
func (p *Pending) Finish(final *Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return fmt.Errorf("audit: the outcome of the call begun at seq %d is already written", p.seq)
	}
	if _, err := p.log.write(final, modeEnd, p.seq); err != nil {
		return err
	}
	p.done = true
	return nil
}

// write writes one line and keeps its error for Err; it returns the seq the
// line took.
func (l *Log) write(r *Record, mode writeMode, beginSeq int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, err := l.writeLocked(r, mode, beginSeq)
	l.errMu.Lock()
	l.err = err
	l.errMu.Unlock()
	return seq, err
}

func (l *Log) writeLocked(r *Record, mode writeMode, beginSeq int64) (int64, error) {
	if l.closed {
		return 0, ErrClosed
	}
	if r == nil {
		return 0, errors.New("audit: nil record")
	}
	rec := prepare(r, l.scrub, l.now)
	build := func(at chainState) ([]byte, error) {
		switch mode {
		case modeBegin:
			b := beginOf(&rec)
			b.Seq, b.Prev = at.seq, at.prev
			return l.encodeBounded(b, &b.Args)
		case modeEnd:
			rec.Phase, rec.BeginSeq = PhaseEnd, beginSeq
		}
		rec.Seq, rec.Prev = at.seq, at.prev
		return l.encodeBounded(&rec, &rec.Args)
	}
	if l.path != "" {
		return l.appendFile(build, mode == modeBegin)
	}
	return l.appendStream(build)
}

// encodeBounded encodes v as a line of at most MaxLine bytes: when the line
// is longer, the arguments *args (the only member without a cap of its own)
// become {"_too_large_bytes":N}.
func (l *Log) encodeBounded(v any, args *json.RawMessage) ([]byte, error) {
	line, err := encodeLine(v, l.key)
	if err != nil {
		return nil, fmt.Errorf("audit log: encode: %w", err)
	}
	if len(line) > MaxLine {
		*args = fmt.Appendf(nil, `{"_too_large_bytes":%d}`, len(*args))
		if line, err = encodeLine(v, l.key); err != nil {
			return nil, fmt.Errorf("audit log: encode: %w", err)
		}
	}
	if len(line) > MaxLine { // cannot happen: the other members are capped far below MaxLine
		return nil, fmt.Errorf("audit log: a line of %d bytes is longer than %d", len(line), MaxLine)
	}
	return line, nil
}

// headerLine returns a header continuing (seq, prev) and the chain state
// after it.
func (l *Log) headerLine(seq int64, prev, reason string) ([]byte, chainState) {
	h := header{AuditHeader: headerVersion, Created: l.now().UTC(), Reason: reason, Seq: seq, Prev: prev}
	if l.key != nil {
		h.KeyID = KeyID(l.key)
	}
	line, _ := encodeLine(h, l.key) // a header always encodes
	return line, chainState{prev: lineHash(line[:len(line)-1]), seq: seq + 1, sameKey: true}
}

// appendFile chains the line build makes to the last record of the file,
// under the chain head's lock and the file lock, since other processes may
// have appended since this one last did; with durable, it syncs before
// returning.
func (l *Log) appendFile(build func(chainState) ([]byte, error), durable bool) (int64, error) {
	head := l.lockHead()
	defer head.unlock()
	f, fi, unlock, err := l.current()
	if err != nil {
		return 0, err
	}
	defer unlock()
	var out []byte
	var at chainState
	if fi.Size() == 0 {
		// A new file (this writer's or another's), or one emptied by
		// copytruncate: it continues the last line written, which the chain
		// head names (see startChain).
		hat, status := head.read(l.key)
		start, reason, fresh := startChain(hat, status, l.cont)
		if fresh {
			out, at = l.headerLine(0, zeroHash, reason)
		} else {
			out, at = l.headerLine(start.seq, start.prev, reason)
		}
	} else if own, ok := l.lastLineIsMine(&head, fi.Size()); ok {
		at = own
	} else {
		l.cont = nil // the old file's end is no continuation for this file
		t, err := readTail(f, fi.Size(), l.key)
		if err != nil {
			return 0, fmt.Errorf("audit log %s: read the last record: %w", l.path, err)
		}
		if !t.terminated { // a torn line: end it, so that this line stays whole
			out = append(out, '\n')
		}
		var h []byte
		switch {
		case !t.found:
			h, at = l.headerLine(0, zeroHash, reasonUnreadableTail)
		case !t.at.sameKey:
			h, at = l.headerLine(t.at.seq, t.at.prev, reasonKeyChanged)
		default:
			at = t.at
		}
		out = append(out, h...)
	}
	line, err := build(at)
	if err != nil {
		return 0, err
	}
	l.mine = nil
	out = append(out, line...)
	if _, err := f.Write(out); err != nil {
		return 0, fmt.Errorf("audit log: %w", err)
	}
	l.cont = nil
	// Before the sync: the line is in the file, whether or not the sync
	// succeeds, and the next new file must follow it.
	hash := lineHash(line[:len(line)-1])
	if stored := head.store(at.seq, hash, l.key); stored != nil {
		l.mine = &ownWrite{size: fi.Size() + int64(len(out)), at: chainState{prev: hash, seq: at.seq + 1, sameKey: true}, head: stored}
	}
	if durable {
		if err := l.sync(f); err != nil {
			return 0, fmt.Errorf("audit log: %w", err)
		}
		if l.fresh {
			if err := syncDir(l.path); err != nil {
				return 0, fmt.Errorf("audit log: sync the directory of %s: %w", l.path, err)
			}
			l.fresh = false
		}
	}
	return at.seq, nil
}

// ownWrite is what a Log knows of its last write to its file.
type ownWrite struct {
	size int64      // the size of the file after it
	at   chainState // where the next line attaches
	head []byte     // the chain head it stored
}

// lastLineIsMine returns where the next line attaches when the last line of
// the file (of size bytes, under the lock) is still the one this Log wrote
// last, which saves reading and parsing the file's tail on every write. That
// is so when the file has the size it had after that write (lines are only
// appended) and the chain head still holds the bytes this Log stored then
// (every writer of this version stores its own; a file emptied and refilled
// to that very size must have been refilled by a writer of the previous
// version, or by hand).
func (l *Log) lastLineIsMine(head *headLock, size int64) (chainState, bool) {
	m := l.mine
	if m == nil || m.size != size || !head.holds(m.head) {
		return chainState{}, false
	}
	return m.at, true
}

// current returns the file at l.path, locked, with its unlock, after checking
// under the lock that the path still names it. When it does not (the file was
// renamed away by a log rotator, removed, or replaced by another file), the
// lines written to it would be lost to whoever reads the path, and its lock
// would no longer exclude the processes writing there: current closes it and
// opens the file now at the path, creating it if need be, and keeps in l.cont
// where the old file's chain ended, for the header of a new file when the
// chain head cannot be used. The caller holds the chain head's lock.
func (l *Log) current() (f *os.File, fi fs.FileInfo, unlock func(), err error) {
	for range 3 {
		if l.f == nil {
			f, created, err := openFile(l.path)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("audit log: reopen: %w", err)
			}
			l.f, l.fresh = f, created
		}
		unlock, err := lockFile(l.f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("audit log %s: lock: %w", l.path, err)
		}
		fi, same, err := namesFile(l.path, l.f)
		if err != nil {
			unlock()
			return nil, nil, nil, fmt.Errorf("audit log: %w", err)
		}
		if same {
			return l.f, fi, unlock, nil
		}
		// Read under the old file's lock: every write to it after the rename
		// has finished, and none can start, since every writer checks the
		// path under this lock first.
		if t, err := readTail(l.f, fi.Size(), l.key); err == nil && t.found {
			l.cont = &t.at
		}
		unlock()
		l.f.Close()
		l.f, l.mine = nil, nil
	}
	return nil, nil, nil, fmt.Errorf("audit log %s: the path named another file each time it was opened", l.path)
}

// namesFile returns what f is and reports whether path names it.
func namesFile(path string, f *os.File) (fs.FileInfo, bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fi, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return fi, os.SameFile(fi, pi), nil
}

// syncDir makes a new file's directory entry durable. Windows cannot sync a
// directory; some file systems refuse to, and cannot lose the entry either.
func syncDir(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// appendStream chains the line in memory; nobody else writes to the stream's
// chain.
func (l *Log) appendStream(build func(chainState) ([]byte, error)) (int64, error) {
	var out []byte
	if l.torn {
		out = append(out, '\n')
	}
	at := l.chain
	var afterHeader chainState
	headerEnd := -1
	if !l.begun {
		var h []byte
		h, afterHeader = l.headerLine(0, zeroHash, "")
		out = append(out, h...)
		headerEnd, at = len(out), afterHeader
	}
	line, err := build(at)
	if err != nil {
		return 0, err
	}
	out = append(out, line...)
	n, err := l.w.Write(out)
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	if n > 0 {
		l.torn = out[n-1] != '\n'
	}
	if headerEnd >= 0 && n >= headerEnd {
		l.begun, l.chain = true, afterHeader
	}
	if err != nil {
		return 0, fmt.Errorf("audit log: write: %w", err)
	}
	l.begun = true
	l.chain = chainState{prev: lineHash(line[:len(line)-1]), seq: at.seq + 1, sameKey: true}
	return at.seq, nil
}

// Err returns the error of the last write, or nil if it succeeded (or none
// was made).
//
// It tells whether the previous write failed, not whether the next one will:
// the first state-changing call after the disk filled up would still act. A
// caller about to change state uses [Log.Begin], which fails when the call
// cannot be recorded durably.
func (l *Log) Err() error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

// Close closes the file opened by [Open]; a Log from [New] leaves its writer
// open. Later writes fail with [ErrClosed]. Calling Close twice is safe.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.closeHead()
	if l.f != nil {
		return l.f.Close()
	}
	return nil
}
