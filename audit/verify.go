package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Report is the result of [Verify].
type Report struct {
	Lines  int      // lines read, the header included
	Intact bool     // every line parses and chains to the one before it
	First  *Problem // the first problem found; nil when Intact
	// LastHash is the hex SHA-256 of the last line. Recording it elsewhere now and
	// then is the only way to detect lines removed from the end later.
	LastHash string
}

// Problem says which line broke the chain and how.
type Problem struct {
	Line   int         // 1-based line number in the input
	Kind   ProblemKind // what is wrong
	Detail string      // a sentence for the operator
}

// String formats p as "line 7: edited: …".
func (p *Problem) String() string {
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Kind, p.Detail)
}

// ProblemKind classifies a break in the chain.
type ProblemKind string

// Problem kinds.
const (
	Edited    ProblemKind = "edited"     // the line's bytes changed after it was written
	Missing   ProblemKind = "missing"    // lines were deleted before this one
	Reordered ProblemKind = "reordered"  // the line was written after another line than the one before it
	BadJSON   ProblemKind = "bad_json"   // the line is not an audit record
	BadHeader ProblemKind = "bad_header" // the first line is not a header, or a later one is
	Truncated ProblemKind = "truncated"  // the last line is cut short
)

// scanned is what Verify keeps of each line.
type scanned struct {
	hash string
	link link
	err  error // the line does not parse as an audit line
}

// Verify reads an audit log and checks its chain: the first line is a header, every
// later line is a record whose "prev" is the hash of the line before and whose "seq"
// is one more. It reports the first problem, naming the line: an edited line (found
// by the line after it, or by its own seq), missing lines (a gap in seq), a reordered
// line (its prev is the hash of some other line), a line that is not JSON, a bad or
// misplaced header, or a last line cut short. The error is only for reading r.
//
// Verify keeps two hashes per line in memory, a few hundred bytes a line.
func Verify(r io.Reader) (Report, error) {
	var lines []scanned
	var last []byte
	br := bufio.NewReader(r)
	terminated := true
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			terminated = line[len(line)-1] == '\n'
			last = bytes.TrimSuffix(line, []byte("\n"))
			lines = append(lines, scan(last))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Report{}, fmt.Errorf("audit verify: %w", err)
		}
	}
	rep := Report{Lines: len(lines)}
	if len(lines) > 0 {
		rep.LastHash = lineHash(last)
	}
	rep.First = firstProblem(lines, terminated)
	rep.Intact = rep.First == nil
	return rep, nil
}

func scan(line []byte) scanned {
	s := scanned{hash: lineHash(line)}
	if err := json.Unmarshal(line, &s.link); err != nil {
		s.err = errors.New("not a JSON object")
	} else if s.link.Seq == nil || s.link.Prev == nil {
		s.err = errors.New(`no "seq" or "prev"`)
	}
	return s
}

func firstProblem(lines []scanned, terminated bool) *Problem {
	if len(lines) == 0 {
		return nil
	}
	if !terminated && lines[len(lines)-1].err != nil {
		return &Problem{Line: len(lines), Kind: Truncated, Detail: "the last line is cut short"}
	}
	// Which line has which hash, to tell a moved line from an edited one.
	lineOf := make(map[string]int, len(lines))
	for i, l := range lines {
		if _, dup := lineOf[l.hash]; !dup {
			lineOf[l.hash] = i
		}
	}
	for i, l := range lines {
		n := i + 1
		if l.err != nil {
			return &Problem{Line: n, Kind: BadJSON, Detail: l.err.Error()}
		}
		if i == 0 {
			if l.link.AuditHeader != headerVersion || *l.link.Seq != 0 || *l.link.Prev != zeroHash {
				return &Problem{Line: 1, Kind: BadHeader, Detail: fmt.Sprintf(
					`the first line must be {"audit_header":%d,…,"seq":0,"prev":"000…"}`, headerVersion)}
			}
			continue
		}
		if l.link.AuditHeader != 0 {
			return &Problem{Line: n, Kind: BadHeader, Detail: "a header after the first line; a writer starts one only in an empty file"}
		}
		if p := brokenLink(lines, lineOf, i); p != nil {
			return p
		}
	}
	if !terminated {
		return &Problem{Line: len(lines), Kind: Truncated, Detail: "the last line has no final newline"}
	}
	return nil
}

// brokenLink checks the link from line i-1 to line i (0-based) and, when it is
// broken, decides which line to blame.
func brokenLink(lines []scanned, lineOf map[string]int, i int) *Problem {
	prev, cur := lines[i-1], lines[i]
	n := i + 1
	wantSeq := *prev.link.Seq + 1
	if *cur.link.Prev == prev.hash {
		if *cur.link.Seq != wantSeq {
			return &Problem{Line: n, Kind: Edited, Detail: fmt.Sprintf("seq is %d, want %d", *cur.link.Seq, wantSeq)}
		}
		return nil
	}
	if j, ok := lineOf[*cur.link.Prev]; ok {
		return &Problem{Line: n, Kind: Reordered, Detail: fmt.Sprintf(
			"written after line %d, not after line %d", j+1, n-1)}
	}
	if *cur.link.Seq > wantSeq {
		return &Problem{Line: n, Kind: Missing, Detail: fmt.Sprintf(
			"%d line(s) missing before it (seq %d follows %d)", *cur.link.Seq-wantSeq, *cur.link.Seq, *prev.link.Seq)}
	}
	// An edit to a line breaks only the link after it, unless the edit touched its
	// own prev: then the link after it breaks too.
	if i+1 < len(lines) && lines[i+1].err == nil && *lines[i+1].link.Prev != cur.hash {
		return &Problem{Line: n, Kind: Edited, Detail: "its prev and its hash both differ from what was written"}
	}
	return &Problem{Line: n - 1, Kind: Edited, Detail: fmt.Sprintf(
		"its hash differs from the prev recorded by line %d", n)}
}
