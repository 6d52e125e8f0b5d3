package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// headerVersion is the value of "audit_header" this package writes and verifies.
const headerVersion = 1

// zeroHash is the "prev" of a header: nothing comes before it.
var zeroHash = strings.Repeat("0", 2*sha256.Size)

// maxLastLine bounds how far back the writer looks for the start of the last line.
// Lines this package writes stay far below it (arguments are capped at 64 KiB).
const maxLastLine = 16 << 20

// header is the first line of a file or stream.
type header struct {
	AuditHeader int       `json:"audit_header"`
	Created     time.Time `json:"created"`
	Seq         int64     `json:"seq"`
	Prev        string    `json:"prev"`
}

// link is what chaining needs of any line: its place and its predecessor's hash.
type link struct {
	AuditHeader int     `json:"audit_header"`
	Seq         *int64  `json:"seq"`
	Prev        *string `json:"prev"`
}

// chainState is where the next line attaches: the hash of the last line and the seq
// the next line takes.
type chainState struct {
	prev string
	seq  int64
}

// lineHash returns the hex SHA-256 of a line without its newline.
func lineHash(line []byte) string {
	d := sha256.Sum256(line)
	return hex.EncodeToString(d[:])
}

// next returns the chain state after line. A line that does not parse restarts the
// numbering at 1; Verify reports the damaged line itself.
func next(line []byte) chainState {
	st := chainState{prev: lineHash(line), seq: 1}
	var l link
	if json.Unmarshal(line, &l) == nil && l.Seq != nil {
		st.seq = *l.Seq + 1
	}
	return st
}

// marshalLine encodes v as one line ending in '\n'. json never emits a raw newline
// inside a value, so the result is exactly one line.
func marshalLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func headerLine(created time.Time) []byte {
	line, _ := marshalLine(header{AuditHeader: headerVersion, Created: created.UTC(), Prev: zeroHash})
	return line // a header always encodes
}

// lastLine returns the last line of a file of size bytes, without its newline, and
// whether the file ends with a newline. It reads backwards in growing chunks.
func lastLine(r io.ReaderAt, size int64) (line []byte, terminated bool, err error) {
	if size == 0 {
		return nil, true, nil
	}
	end := size
	var last [1]byte
	if _, err := r.ReadAt(last[:], size-1); err != nil {
		return nil, false, err
	}
	terminated = last[0] == '\n'
	if terminated {
		end--
	}
	for chunk := int64(4096); ; chunk *= 2 {
		start := max(end-chunk, 0)
		buf := make([]byte, end-start)
		if _, err := r.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, terminated, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return buf[i+1:], terminated, nil
		}
		if start == 0 {
			return buf, terminated, nil
		}
		if end-start >= maxLastLine {
			return nil, terminated, fmt.Errorf("last line is longer than %d bytes", maxLastLine)
		}
	}
}
