package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"
)

// headerVersion is the value of "audit_header" this package writes. Verify
// also reads version 1 (the first release: no pending records, no key, a
// record after a torn line chained to the torn line).
const headerVersion = 2

// zeroHash is the "prev" of a header that starts a chain: nothing comes
// before it.
var zeroHash = strings.Repeat("0", 2*sha256.Size)

// Reasons a header gives for being where it is, besides starting a new file.
const (
	// reasonRotated: the header starts the file now at the path after the
	// file this writer had open was renamed away, removed or replaced; its
	// seq and prev continue that file's last record.
	reasonRotated = "rotated"
	// reasonKeyChanged: the header starts a keyed (or unkeyed) run of lines
	// after lines written with another key (or none); it continues them.
	reasonKeyChanged = "key_changed"
	// reasonUnreadableTail: the writer found no record in the last
	// tailScan bytes of the file (damaged or foreign data), so it starts a
	// new chain: nothing ties the lines after it to those before.
	reasonUnreadableTail = "unreadable_tail"
)

// header is the first line of a file or stream, and of each run of lines
// with one key (or none).
type header struct {
	AuditHeader int       `json:"audit_header"`
	Created     time.Time `json:"created"`
	Reason      string    `json:"reason,omitempty"`
	KeyID       string    `json:"key_id,omitempty"` // [KeyID] of the key of the lines that follow; none: unkeyed
	Seq         int64     `json:"seq"`
	Prev        string    `json:"prev"`
}

// link is what chaining needs of any line.
type link struct {
	AuditHeader int     `json:"audit_header"`
	Reason      string  `json:"reason"`
	KeyID       string  `json:"key_id"`
	Seq         *int64  `json:"seq"`
	Prev        *string `json:"prev"`
	Phase       Phase   `json:"phase"`
	BeginSeq    int64   `json:"begin_seq"`
	Tool        string  `json:"tool"`
	RequestID   string  `json:"request_id"`
	TS          string  `json:"ts"`
}

// chainState is where the next line attaches: the hash of the last record
// and the seq the next line takes, and whether that record was written
// under this writer's key (or, for a writer without key, without one).
type chainState struct {
	prev string
	seq  int64
	// sameKey is false when the next line must start a run of its own with
	// a header: the last record has a MAC and this writer has no key, or it
	// has no valid MAC under this writer's key.
	sameKey bool
}

// lineHash returns the hex SHA-256 of a line without its newline.
func lineHash(line []byte) string {
	d := sha256.Sum256(line)
	return hex.EncodeToString(d[:])
}

// macSuffix is what a keyed line ends with: `,"mac":"` + 64 hex digits + `"}`.
const (
	macPrefix = `,"mac":"`
	macLen    = len(macPrefix) + 2*sha256.Size + len(`"}`)
)

// lineMAC returns the HMAC-SHA256 under key of body, the bytes of a line
// before its mac member.
func lineMAC(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

// splitMAC returns the body of a keyed line and its MAC, or ok false when
// the line does not end with a well-formed mac member.
func splitMAC(line []byte) (body, mac []byte, ok bool) {
	if len(line) < macLen+1 || !bytes.HasSuffix(line, []byte(`"}`)) {
		return nil, nil, false
	}
	body = line[:len(line)-macLen]
	if !bytes.HasPrefix(line[len(body):], []byte(macPrefix)) {
		return nil, nil, false
	}
	mac, err := hex.DecodeString(string(line[len(body)+len(macPrefix) : len(line)-2]))
	if err != nil {
		return nil, nil, false
	}
	return body, mac, true
}

// authentic reports whether line carries a valid MAC under key.
func authentic(key, line []byte) bool {
	body, mac, ok := splitMAC(line)
	return ok && hmac.Equal(mac, lineMAC(key, body))
}

// encodeLine encodes v (a struct whose last members are seq and prev) as one
// line ending in '\n', with a mac member appended when key is set. json never
// emits a raw newline inside a value, so the result is exactly one line.
func encodeLine(v any, key []byte) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	line := buf.Bytes()
	if key == nil {
		return line, nil
	}
	body := line[:len(line)-2] // without "}\n"
	mac := lineMAC(key, body)
	out := make([]byte, 0, len(body)+macLen+1)
	out = append(out, body...)
	out = append(out, macPrefix...)
	out = hex.AppendEncode(out, mac)
	return append(out, "\"}\n"...), nil
}

// after returns the chain state after line (without its newline), a line
// this package wrote, as seen by a writer with key.
func after(line []byte, seq int64, key []byte) chainState {
	st := chainState{prev: lineHash(line), seq: seq + 1}
	if key != nil {
		st.sameKey = authentic(key, line)
	} else {
		_, _, keyed := splitMAC(line)
		st.sameKey = !keyed
	}
	return st
}

// parseLink parses line as an audit line; ok is false for anything else
// (not JSON, no seq, no prev).
func parseLink(line []byte) (l link, ok bool) {
	if len(line) == 0 || line[0] != '{' {
		return l, false
	}
	if json.Unmarshal(line, &l) != nil || l.Seq == nil || l.Prev == nil {
		return l, false
	}
	return l, true
}

// tailScan bounds how far back from the end of the file the writer looks for
// the last record. Lines this version writes are at most MaxLine long, but a
// file may end with longer ones: version 1 wrote lines of any length (one
// 6 MB tool name made an 18 MB line), and anyone with access to the file can
// append anything. The writer steps over such lines, 64 KiB at a time, and
// only beyond tailScan bytes of them starts a new chain.
var tailScan int64 = 256 << 20 // a variable so that tests can lower it

// tail is what the writer needs to know of the end of a file.
type tail struct {
	at         chainState // where the next line attaches, when found
	found      bool       // a record was found within tailScan bytes of the end
	terminated bool       // the file ends with '\n'
}

// readTail finds the last record of a file of size bytes: the last line of
// less than MaxLine bytes that parses as an audit line, skipping the torn,
// oversized and foreign lines after it. It reads backwards in blocks of at
// most 64 KiB, so memory stays bounded whatever the file holds, and stops
// tailScan bytes from the end.
func readTail(r io.ReaderAt, size int64, key []byte) (tail, error) {
	t := tail{terminated: true}
	if size == 0 {
		return t, nil
	}
	w := window{r: r}
	if err := w.load(size); err != nil {
		return t, err
	}
	t.terminated = w.buf[len(w.buf)-1] == '\n'
	end := size // the end of the line looked at, without its newline
	if t.terminated {
		end--
	}
	for {
		nl, err := w.lastNewline(end)
		if err != nil {
			return t, err
		}
		if end-(nl+1) < MaxLine {
			line, err := w.bytes(nl+1, end)
			if err != nil {
				return t, err
			}
			if l, ok := parseLink(line); ok {
				t.at, t.found = after(line, *l.Seq, key), true
				return t, nil
			}
		}
		if nl < 0 || size-nl > tailScan {
			return t, nil
		}
		end = nl
	}
}

// window reads a file backwards: buf holds the bytes at offset off.
type window struct {
	r    io.ReaderAt
	buf  []byte
	off  int64
	step int
	line []byte // for a line that is not wholly in buf
}

const maxBlock = 64 << 10

// lastNewline returns the offset of the last '\n' before offset end, or -1.
func (w *window) lastNewline(end int64) (int64, error) {
	for end > 0 {
		if end > w.off && end <= w.off+int64(len(w.buf)) {
			if i := bytes.LastIndexByte(w.buf[:end-w.off], '\n'); i >= 0 {
				return w.off + int64(i), nil
			}
			end = w.off
			continue
		}
		if err := w.load(end); err != nil {
			return 0, err
		}
	}
	return -1, nil
}

// load reads the block that ends at offset end. Blocks grow from 4 KiB: the
// last line is usually short.
func (w *window) load(end int64) error {
	w.step = min(max(2*w.step, 4096), maxBlock)
	start := max(end-int64(w.step), 0)
	if cap(w.buf) < int(end-start) {
		w.buf = make([]byte, end-start, w.step)
	}
	w.buf = w.buf[:end-start]
	if _, err := w.r.ReadAt(w.buf, start); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	w.off = start
	return nil
}

// bytes returns the bytes from start to end (less than MaxLine of them), valid
// until the next call.
func (w *window) bytes(start, end int64) ([]byte, error) {
	if start >= w.off && end <= w.off+int64(len(w.buf)) {
		return w.buf[start-w.off : end-w.off], nil
	}
	if cap(w.line) < int(end-start) {
		w.line = make([]byte, end-start)
	}
	w.line = w.line[:end-start]
	if _, err := w.r.ReadAt(w.line, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return w.line, nil
}
