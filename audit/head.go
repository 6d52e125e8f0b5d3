package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// The chain head: a small file beside the audit file that names the last
// line written to the log, in whichever file, and whose lock orders every
// write across rotations. The package comment (# Rotation) says what it is
// for and what a writer trusts of it; this file reads, checks and writes it.
// Every write takes the head's lock, then the audit file's (which excludes
// writers of the previous version, which know no head), appends, stores the
// head, and lets go of both, in that order: no deadlock with either version.

// headVersion is the value of "audit_head" this package writes.
const headVersion = 1

// headMax bounds the head file: a valid one is about 200 bytes.
const headMax = 512

// headMACLabel separates the MAC of a head from the MACs of lines, so that
// neither can be passed off as the other.
const headMACLabel = "vsphere-mcp-pro audit head\n"

// headPath returns the path of the chain head of the audit file at path.
func headPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".head")
}

// headStatus is what a writer found in the head file.
type headStatus int

const (
	headAbsent   headStatus = iota // no head yet: a new log, or one written by the previous version
	headOK                         // a valid head
	headUnusable                   // a head that cannot be used: damaged, forged, not keyed, or the file cannot be opened or is not safe to write
)

// headLock is the chain head as one write sees it, under its lock.
type headLock struct {
	f      *os.File // the head file, locked; nil when it cannot be used for this write
	size   int64    // its size when locked
	status headStatus
	unlock func()
}

// lockHead takes the lock of the chain head, opening (or creating) the file
// when needed, after checking under the lock that its path still names the
// open file, as [Log.current] does for the audit file. It never fails: a head
// that cannot be used leaves the write to the audit file's lock alone, as in
// the previous version, and the header of a file started then says so.
func (l *Log) lockHead() headLock {
	none := headLock{status: headUnusable, unlock: func() {}}
	if l.noHead {
		none.status = headAbsent
		return none
	}
	for range 3 {
		if l.hf == nil {
			f, err := openHead(l.headPath)
			if err != nil {
				return none
			}
			l.hf = f
		}
		unlock, err := lockFile(l.hf)
		if err != nil {
			l.closeHead()
			return none
		}
		fi, err := l.hf.Stat()
		if err != nil {
			unlock()
			l.closeHead()
			return none
		}
		// Lstat: a symbolic link put at the path is not followed.
		if pi, err := os.Lstat(l.headPath); err == nil && os.SameFile(fi, pi) {
			h := headLock{f: l.hf, size: fi.Size(), status: headOK, unlock: unlock}
			if fi.Size() == 0 {
				h.status = headAbsent
			}
			return h
		}
		// Removed or replaced: a lock on the old file excludes nobody who
		// opens the path now.
		unlock()
		l.closeHead()
	}
	return none
}

func (l *Log) closeHead() {
	if l.hf != nil {
		l.hf.Close()
		l.hf = nil
	}
}

// openHead opens or creates the head file at path, mode 0600, refusing what
// it must not overwrite: a symbolic link (not followed, where the system
// allows), anything but a regular file, a file with other links, and, except
// on Windows, one that group or others may access (whoever could write it
// could steer where new files link).
func openHead(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|openNoFollow, 0o600) //nolint:gosec // G304: beside the audit file the operator names
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = errors.New("not a regular file")
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		err = fmt.Errorf("mode %04o lets group or others access it", fi.Mode().Perm())
	case linkCount(fi) > 1:
		err = errors.New("the file has other links")
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit head %s: %w", path, err)
	}
	return f, nil
}

// read returns where the chain head says the log's last line is: the chain
// state after it. Its status is headOK only for a head this package wrote:
// the exact bytes of encodeHead and, when key is set, a MAC under key.
func (h *headLock) read(key []byte) (chainState, headStatus) {
	if h.status != headOK {
		return chainState{}, h.status
	}
	if h.size > headMax {
		return chainState{}, headUnusable
	}
	buf := make([]byte, h.size)
	if _, err := h.f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return chainState{}, headUnusable
	}
	at, ok := parseHead(buf, key)
	if !ok {
		return chainState{}, headUnusable
	}
	return at, headOK
}

// store records that the log's last line is the one of seq and hash (hex),
// and returns the bytes it wrote, or nil when it wrote none. It does not
// sync: the head is a pointer for the next new file, not a record. When it
// cannot be written, it is emptied if possible, so that nobody follows a
// stale one; the next write tries again.
func (h *headLock) store(seq int64, hash string, key []byte) []byte {
	if h.f == nil {
		return nil
	}
	b := encodeHead(seq, hash, key)
	_, err := h.f.WriteAt(b, 0)
	if err == nil && h.size > int64(len(b)) {
		err = h.f.Truncate(int64(len(b)))
	}
	if err != nil {
		_ = h.f.Truncate(0)
		return nil
	}
	return b
}

// holds reports whether the head file holds exactly b.
func (h *headLock) holds(b []byte) bool {
	if h.f == nil || h.size != int64(len(b)) {
		return false
	}
	var buf [headMax]byte
	n, err := h.f.ReadAt(buf[:len(b)], 0)
	return (err == nil || errors.Is(err, io.EOF)) && bytes.Equal(buf[:n], b)
}

// headBody is the head without its MAC and closing brace.
func headBody(seq int64, hash string) []byte {
	return fmt.Appendf(nil, `{"audit_head":%d,"last_seq":%d,"last_hash":"%s"`, headVersion, seq, hash)
}

func headMAC(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(headMACLabel))
	m.Write(body)
	return m.Sum(nil)
}

// encodeHead returns the head naming the line of seq and hash: one JSON line
// such as {"audit_head":1,"last_seq":41,"last_hash":"…"}, with a "mac" member
// when key is set. It has no "seq" or "prev" member: it is not an audit line.
func encodeHead(seq int64, hash string, key []byte) []byte {
	b := headBody(seq, hash)
	if key != nil {
		mac := headMAC(key, b)
		b = append(b, `,"mac":"`...)
		b = hex.AppendEncode(b, mac)
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

// parseHead parses a head: ok only for the exact bytes encodeHead writes.
// A writer with a key requires the MAC under its key; one without a key
// cannot check a MAC, and takes a keyed head as it is.
func parseHead(b, key []byte) (chainState, bool) {
	var v struct {
		Version  int    `json:"audit_head"`
		LastSeq  int64  `json:"last_seq"`
		LastHash string `json:"last_hash"`
		MAC      string `json:"mac"`
	}
	if len(b) > headMax || json.Unmarshal(b, &v) != nil || v.Version != headVersion || v.LastSeq < 0 || v.LastSeq == 1<<63-1 {
		return chainState{}, false
	}
	if d, err := hex.DecodeString(v.LastHash); err != nil || len(d) != 32 || hex.EncodeToString(d) != v.LastHash {
		return chainState{}, false
	}
	want := append(headBody(v.LastSeq, v.LastHash), "}\n"...)
	if v.MAC != "" {
		mac, err := hex.DecodeString(v.MAC)
		if err != nil || len(mac) != 32 || hex.EncodeToString(mac) != v.MAC {
			return chainState{}, false
		}
		want = append(headBody(v.LastSeq, v.LastHash), `,"mac":"`+v.MAC+"\"}\n"...)
		if key != nil && !bytes.Equal(mac, headMAC(key, headBody(v.LastSeq, v.LastHash))) {
			return chainState{}, false
		}
	} else if key != nil {
		return chainState{}, false // an unkeyed head could be anyone's
	}
	if !bytes.Equal(b, want) {
		return chainState{}, false
	}
	return chainState{prev: v.LastHash, seq: v.LastSeq + 1, sameKey: true}, true
}

// startChain returns where the first line of an empty file at the path
// attaches, and the reason its header gives, or fresh when it starts a new
// chain. old is where the file this writer had open before ended, when it
// found that file renamed away (nil otherwise).
//
// The head wins when it is valid and not behind old: it names the last line
// written, in whichever file. A head behind old (old has lines it does not
// know: written by the previous version, or after a failed write of the
// head) or unusable yields to old, and the header says so.
func startChain(head chainState, status headStatus, old *chainState) (at chainState, reason string, fresh bool) {
	switch {
	case status == headOK && (old == nil || head.seq > old.seq || head.prev == old.prev):
		return head, reasonRotated, false
	case old != nil:
		return *old, reasonRotatedFromTail, false
	case status == headUnusable:
		return chainState{}, reasonHeadUnusable, true
	}
	return chainState{}, "", true
}
