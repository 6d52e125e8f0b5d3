package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// VerifyOptions configures [VerifyWith] and [VerifyFiles].
type VerifyOptions struct {
	// Key is the chain key the file was written with ([LoadKey]). With it,
	// every line of a keyed file is authenticated; without it, only the
	// structure of a keyed file is checked.
	Key []byte
}

// Report is the result of a verification.
type Report struct {
	Lines   int // lines read (headers, records and torn lines), in all files
	Records int // lines that are records (not headers, not torn)
	// Intact is true when nothing breaks the chain: every record links to
	// the record before it, headers stand where a writer puts them and,
	// with a key, every keyed line's MAC holds. Torn lines, unfinished calls
	// and lines a key cannot authenticate do not make a chain broken (see
	// [ProblemKind.Breaks]); they are listed in Problems.
	Intact bool
	// First is the first problem that breaks the chain; nil when Intact.
	First *Problem
	// Problems lists every problem and note, in the order of the input, up
	// to 1000; MoreProblems counts those left out.
	Problems     []Problem
	MoreProblems int
	Torn         int // torn, foreign and oversized lines (each is in Problems)
	Unfinished   int // calls begun without an outcome (each is in Problems)
	// KeyID is the key id of the last run of lines; "" when unkeyed.
	KeyID string
	// Authenticated is true when a key was given, the chain is intact and
	// every header and record was written under that key: whoever wrote
	// them held the key.
	Authenticated bool
	// Continues is set when the first header continues another file (one
	// rotated away): the seq and hash of that file's last record. Verify
	// the files together ([VerifyFiles]) to check the link.
	Continues *Link
	// LastHash is the hex SHA-256 of the last record (or header), the line
	// the next record will link to; LastSeq is its seq. Recording them
	// elsewhere now and then is the only way to detect lines removed from
	// the end later.
	LastHash string
	LastSeq  int64

	keyGiven bool
}

// OK reports whether the input passes: the chain is intact and, when a key
// was given, authenticated. Torn lines and unfinished calls do not fail it;
// they are evidence of a failed write or of a process that died, to be read
// in Problems, not of an edit.
func (r *Report) OK() bool {
	return r.Intact && (!r.keyGiven || r.Authenticated)
}

// Link names a line of a chain by its seq and hash.
type Link struct {
	Seq  int64
	Hash string
}

// Problem says what is wrong where.
type Problem struct {
	File   string      // the file, as given to VerifyFiles; "" for VerifyWith
	Line   int         // 1-based line number in File
	Kind   ProblemKind // what is wrong
	Detail string      // a sentence for the operator
}

// String formats p as "line 7: edited: …", with "FILE: " first when File is
// set.
func (p *Problem) String() string {
	s := fmt.Sprintf("line %d: %s: %s", p.Line, p.Kind, p.Detail)
	if p.File != "" {
		s = p.File + ": " + s
	}
	return s
}

// ProblemKind classifies a problem.
type ProblemKind string

// Problem kinds that break the chain ([ProblemKind.Breaks]).
const (
	Edited    ProblemKind = "edited"     // the line's bytes changed after it was written
	Missing   ProblemKind = "missing"    // lines were deleted before this one
	Reordered ProblemKind = "reordered"  // the line was written after another line than the one before it
	BadHeader ProblemKind = "bad_header" // the first line is not a header, or a header is malformed
	Restarted ProblemKind = "restarted"  // a new chain starts after the first line: nothing ties it to the lines before
	Forged    ProblemKind = "forged"     // a keyed line whose MAC is missing or wrong: changed or written without the key
)

// Problem kinds that do not break the chain.
const (
	// Torn: a line that is not an audit line (cut short, not JSON, no seq or
	// prev). A failed write leaves one (disk full, a crash mid-write); the
	// writer chains the next record over it to the record before, so it
	// cannot hide one: replacing a record by it breaks the link after it.
	Torn ProblemKind = "torn"
	// Oversized: a line longer than [MaxLine], which this version never
	// writes (version 1 did, for huge arguments); skipped like a torn line.
	Oversized ProblemKind = "oversized"
	// Unfinished: a call began (its begin line is durable) and no outcome
	// follows: the process died while it acted, or the outcome's write failed.
	Unfinished ProblemKind = "unfinished"
	// Unmatched: an outcome whose begin line should be in the input and is not.
	Unmatched ProblemKind = "unmatched"
	// Unkeyed: a key was given, but these lines are not keyed.
	Unkeyed ProblemKind = "unkeyed"
	// OtherKey: these lines are keyed with another key than the one given.
	OtherKey ProblemKind = "other_key"
	// NotAuthenticated: the lines are keyed, but no key was given: only
	// their structure was checked.
	NotAuthenticated ProblemKind = "not_authenticated"
)

// Breaks reports whether a problem of kind k breaks the chain (the input is
// then not [Report.Intact]).
func (k ProblemKind) Breaks() bool {
	switch k {
	case Edited, Missing, Reordered, BadHeader, Restarted, Forged:
		return true
	}
	return false
}

const maxProblems = 1000

// Verify is [VerifyWith] without a key.
func Verify(r io.Reader) (Report, error) {
	return VerifyWith(r, VerifyOptions{})
}

// VerifyWith reads an audit log and checks its chain: the first line is a
// header; every record's "prev" is the hash of the record (or header) before
// it and its "seq" one more; with a key, every line of a keyed run carries a
// valid MAC. It lists every problem, naming the line: an edited line, missing
// lines (a gap in seq), a reordered line, a misplaced header, a chain that
// restarts, a forged line; and, without breaking the chain, torn lines, calls
// begun without an outcome, lines a key cannot authenticate. After a problem
// it goes on from the line that showed it. The error is only for reading r.
//
// Memory stays bounded per line (a longer line than [MaxLine] is hashed as
// it streams by); Verify keeps a few hundred bytes per line of the input.
func VerifyWith(r io.Reader, o VerifyOptions) (Report, error) {
	v := newVerifier(o)
	if err := v.scan("", r); err != nil {
		return Report{}, fmt.Errorf("audit verify: %w", err)
	}
	return v.report(), nil
}

// VerifyFiles verifies files that follow each other, oldest first (a log and
// its rotated predecessors: audit.jsonl.2 audit.jsonl.1 audit.jsonl), as one
// chain: the first line of each file after the first must continue the last
// record of the file before it, as the header a writer starts after a
// rotation does. A call begun in one file may end in the next.
func VerifyFiles(paths []string, o VerifyOptions) (Report, error) {
	v := newVerifier(o)
	for _, p := range paths {
		f, err := os.Open(p) //nolint:gosec // G304: the operator names the files to verify
		if err != nil {
			return Report{}, fmt.Errorf("audit verify: %w", err)
		}
		err = v.scan(p, f)
		f.Close()
		if err != nil {
			return Report{}, fmt.Errorf("audit verify %s: %w", p, err)
		}
	}
	return v.report(), nil
}

// lineKind is what a line is.
type lineKind uint8

const (
	kindRecord lineKind = iota
	kindHeader
	kindTorn
	kindOversized
)

// scanned is what the verifier keeps of each line.
type scanned struct {
	file      int // index into verifier.files
	no        int // 1-based line number in its file
	kind      lineKind
	hash      [sha256.Size]byte
	prev      [sha256.Size]byte
	prevOK    bool // "prev" is 64 hex digits
	seq       int64
	version   int    // headers: audit_header
	keyID     string // headers
	reason    string // headers
	keyed     bool   // ends with a well-formed mac member
	macOK     bool   // that MAC is valid under the given key
	phase     Phase
	beginSeq  int64
	tool      string // begin and end lines
	requestID string // begin and end lines
	ts        string // begin lines
	size      int    // bytes, without the newline
	why       string // torn lines: what is wrong
}

type verifier struct {
	key   []byte
	keyID string
	files []string
	lines []scanned
}

func newVerifier(o VerifyOptions) *verifier {
	v := &verifier{key: o.Key}
	if o.Key != nil {
		v.keyID = KeyID(o.Key)
	}
	return v
}

// scan reads the lines of one input.
func (v *verifier) scan(name string, r io.Reader) error {
	file := len(v.files)
	v.files = append(v.files, name)
	br := bufio.NewReaderSize(r, MaxLine)
	for no := 1; ; no++ {
		line, size, sum, terminated, err := readLine(br)
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return err
		}
		if size > 0 || terminated {
			v.lines = append(v.lines, v.scanLine(file, no, line, size, sum, terminated))
		}
		if eof {
			return nil
		}
	}
}

// readLine reads one line. A line of at most MaxLine bytes (newline included)
// comes back whole, without its newline; a longer one is hashed as it streams
// by and comes back nil, with its size.
func readLine(br *bufio.Reader) (line []byte, size int, sum [sha256.Size]byte, terminated bool, err error) {
	chunk, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		terminated = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		line = bytes.TrimSuffix(chunk, []byte("\n"))
		return line, len(line), sha256.Sum256(line), terminated, err
	}
	h := sha256.New()
	for errors.Is(err, bufio.ErrBufferFull) {
		h.Write(chunk)
		size += len(chunk)
		chunk, err = br.ReadSlice('\n')
	}
	terminated = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
	chunk = bytes.TrimSuffix(chunk, []byte("\n"))
	h.Write(chunk)
	size += len(chunk)
	copy(sum[:], h.Sum(nil))
	return nil, size, sum, terminated, err
}

func (v *verifier) scanLine(file, no int, line []byte, size int, sum [sha256.Size]byte, terminated bool) scanned {
	s := scanned{file: file, no: no, hash: sum, size: size}
	if line == nil && size > 0 || size >= MaxLine {
		s.kind = kindOversized
		return s
	}
	l, ok := parseLink(line)
	if !ok {
		s.kind = kindTorn
		switch {
		case !terminated:
			s.why = "the last line is cut short: a write that did not finish (disk full, a crash)"
		case len(line) == 0:
			s.why = "an empty line"
		case line[0] != '{' || !json.Valid(line):
			s.why = "not a JSON object: a write that did not finish (disk full, a crash), or data from elsewhere"
		default:
			s.why = `JSON without "seq" and "prev": not an audit line`
		}
		return s
	}
	s.seq = *l.Seq
	if p, err := hex.DecodeString(*l.Prev); err == nil && len(p) == sha256.Size {
		copy(s.prev[:], p)
		s.prevOK = true
	}
	if l.AuditHeader != 0 {
		s.kind, s.version, s.keyID, s.reason = kindHeader, l.AuditHeader, l.KeyID, l.Reason
	}
	if body, mac, ok := splitMAC(line); ok {
		s.keyed = true
		s.macOK = v.key != nil && hmac.Equal(mac, lineMAC(v.key, body))
	}
	s.phase, s.beginSeq = l.Phase, l.BeginSeq
	if l.Phase == PhaseBegin || l.Phase == PhaseEnd {
		s.tool, s.requestID, s.ts = l.Tool, l.RequestID, l.TS
	}
	return s
}

// entry is a problem and the index of its line in verifier.lines, for
// ordering.
type entry struct {
	at int
	p  Problem
}

// run is a run of lines under one header (one key, or none).
type run struct {
	keyID string
	start int // index of its header (or first line)
	lines int // headers and records in it
}

// beginKey names a begun call: the seq of its begin line and its request.
type beginKey struct {
	seq int64
	id  string
}

// analysis walks the scanned lines once, in order.
type analysis struct {
	v       *verifier
	rep     Report
	lineOf  map[[sha256.Size]byte]int // the first line with each hash
	last    int                       // index of the last record or header; -1 before the first
	skipped []int                     // torn and oversized lines since last
	excused bool                      // the break into the next record was already blamed on the line before
	cur     run
	begins  map[beginKey]int // open begin lines
	minSeq  int64            // the smallest seq of a record or header in the input

	entries  []entry
	dropped  int
	first    *entry // the first problem that breaks the chain
	anchors  int    // headers and records
	unauthed int    // of those, lines a given key could not authenticate
}

func (v *verifier) report() Report {
	a := &analysis{v: v, last: -1, lineOf: make(map[[sha256.Size]byte]int, len(v.lines)), begins: map[beginKey]int{}, minSeq: math.MaxInt64}
	a.rep.keyGiven = v.key != nil
	for i, l := range v.lines {
		if _, dup := a.lineOf[l.hash]; !dup {
			a.lineOf[l.hash] = i
		}
		if l.kind == kindRecord || l.kind == kindHeader {
			a.minSeq = min(a.minSeq, l.seq)
		}
	}
	for i := range v.lines {
		a.line(i)
	}
	a.endRun()
	open := make([]int, 0, len(a.begins))
	for _, i := range a.begins {
		open = append(open, i)
	}
	slices.Sort(open)
	for _, i := range open {
		b := v.lines[i]
		detail := fmt.Sprintf("call %s (request %s) began at %s and has no outcome: the process died while it acted, or the write of its outcome failed; check in vCenter what it did",
			b.tool, b.requestID, b.ts)
		if len(v.files) == 1 {
			detail += " (after a rotation the outcome is in the next file: verify the files together)"
		}
		a.problem(i, Unfinished, detail)
		a.rep.Unfinished++
	}
	a.compact(maxProblems)
	rep := a.rep
	rep.Lines = len(v.lines)
	rep.Problems = make([]Problem, len(a.entries))
	for i, e := range a.entries {
		rep.Problems[i] = e.p
	}
	rep.MoreProblems = a.dropped
	if a.first != nil {
		p := a.first.p
		rep.First = &p
	}
	rep.Intact = rep.First == nil
	rep.Authenticated = rep.keyGiven && rep.Intact && a.anchors > 0 && a.unauthed == 0
	if a.last >= 0 {
		l := v.lines[a.last]
		rep.LastHash, rep.LastSeq = hex.EncodeToString(l.hash[:]), l.seq
		rep.KeyID = a.cur.keyID
	}
	return rep
}

// problem records a problem on line i.
func (a *analysis) problem(i int, kind ProblemKind, detail string) {
	l := a.v.lines[i]
	e := entry{at: i, p: Problem{File: a.v.files[l.file], Line: l.no, Kind: kind, Detail: detail}}
	if kind.Breaks() && (a.first == nil || i < a.first.at) {
		f := e
		a.first = &f
	}
	a.entries = append(a.entries, e)
	if len(a.entries) >= 2*maxProblems {
		a.compact(maxProblems)
	}
}

// compact keeps the n problems that come first in the input.
func (a *analysis) compact(n int) {
	slices.SortStableFunc(a.entries, func(p, q entry) int { return p.at - q.at })
	if len(a.entries) > n {
		a.dropped += len(a.entries) - n
		a.entries = a.entries[:n]
	}
}

// where names line j as seen from line i: "line 4", or "line 4 of FILE" in
// another file.
func (a *analysis) where(j, i int) string {
	lj, li := a.v.lines[j], a.v.lines[i]
	if lj.file == li.file || a.v.files[lj.file] == "" {
		return fmt.Sprintf("line %d", lj.no)
	}
	return fmt.Sprintf("line %d of %s", lj.no, a.v.files[lj.file])
}

func (a *analysis) line(i int) {
	l := a.v.lines[i]
	switch l.kind {
	case kindTorn:
		a.problem(i, Torn, l.why)
		a.rep.Torn++
		a.skipped = append(a.skipped, i)
		return
	case kindOversized:
		a.problem(i, Oversized, fmt.Sprintf("a line of %d bytes, longer than any this version writes (%d); not checked. Version 1 wrote such lines for huge arguments",
			l.size, MaxLine))
		a.rep.Torn++
		a.skipped = append(a.skipped, i)
		return
	}
	a.anchors++
	if l.kind == kindRecord {
		a.rep.Records++
	}
	if l.kind == kindHeader {
		a.header(i)
	} else if a.last < 0 {
		a.problem(i, BadHeader, fmt.Sprintf(`the first line must be a header {"audit_header":%d,…}; this is a record`, headerVersion))
	} else {
		a.link(i)
	}
	if l.kind == kindHeader {
		a.endRun()
		a.cur = run{keyID: l.keyID, start: i}
	}
	a.cur.lines++
	a.authenticate(i)
	a.phase(i)
	a.last, a.skipped = i, a.skipped[:0]
}

// header checks a header: the first line of the input, or one a writer
// started later (a rotation, a key change, a damaged tail).
func (a *analysis) header(i int) {
	l := a.v.lines[i]
	if l.version != 1 && l.version != headerVersion {
		a.problem(i, BadHeader, fmt.Sprintf("audit_header %d: this version reads 1 and %d", l.version, headerVersion))
	}
	fresh := l.seq == 0 && l.prevOK && l.prev == [sha256.Size]byte{}
	switch {
	case a.last < 0 && fresh:
	case a.last < 0:
		a.rep.Continues = &Link{Seq: l.seq - 1, Hash: hex.EncodeToString(l.prev[:])}
		if !l.prevOK {
			a.problem(i, BadHeader, `its "prev" is not a SHA-256 hash`)
		}
	case fresh:
		detail := "a new chain starts here: nothing ties the lines after it to those before"
		switch {
		case l.reason == reasonUnreadableTail:
			detail = fmt.Sprintf("the writer found no readable record in the %d bytes before it (damaged or foreign data) and started a new chain: nothing ties the lines after it to those before", tailScan)
		case l.no == 1:
			detail = "this file starts a new chain: it does not continue the file before it (emptied by copytruncate, or from elsewhere)"
		}
		a.problem(i, Restarted, detail)
	default:
		a.link(i)
	}
}

// link checks that line i (a record, or a header continuing a chain) links to
// the last record or header before it, and says what is wrong if not.
func (a *analysis) link(i int) {
	lines := a.v.lines
	prev, cur := lines[a.last], lines[i]
	want := prev.seq + 1
	excused := a.excused
	a.excused = false
	if cur.prevOK && cur.prev == prev.hash {
		if cur.seq != want {
			a.problem(i, Edited, fmt.Sprintf("seq is %d, want %d", cur.seq, want))
		}
		return
	}
	// Version 1 chained the record after a torn line to the torn line itself,
	// with seq 1 (or the torn line's seq + 1 had it parsed).
	for _, s := range a.skipped {
		if cur.prevOK && cur.prev == lines[s].hash {
			if lines[s].kind == kindTorn && cur.seq != 1 {
				a.problem(i, Edited, fmt.Sprintf("seq is %d, want 1 after the torn line %s", cur.seq, a.where(s, i)))
			}
			return
		}
	}
	if excused && cur.seq == want {
		return // the line before was reported as edited, prev and all
	}
	if j, ok := a.lineOf[cur.prev]; ok && cur.prevOK && j != a.last {
		a.problem(i, Reordered, fmt.Sprintf("written after %s, not after %s", a.where(j, i), a.where(a.last, i)))
		return
	}
	if cur.seq > want {
		a.problem(i, Missing, fmt.Sprintf("%d line(s) missing before it (seq %d follows %d)", cur.seq-want, cur.seq, prev.seq))
		return
	}
	// An edit to a line breaks only the link after it, unless the edit
	// touched its own prev: then the link after it breaks too.
	if next := a.nextAnchor(i); next >= 0 && lines[next].prev != cur.hash {
		a.problem(i, Edited, "its prev and its hash both differ from what was written")
		a.excused = true
		return
	}
	a.problem(a.last, Edited, fmt.Sprintf("its hash differs from the prev recorded by %s", a.where(i, a.last)))
}

// nextAnchor returns the index of the first record or header after line i,
// or -1.
func (a *analysis) nextAnchor(i int) int {
	for j := i + 1; j < len(a.v.lines); j++ {
		if k := a.v.lines[j].kind; k == kindRecord || k == kindHeader {
			return j
		}
	}
	return -1
}

// authenticate checks line i against the key of its run.
func (a *analysis) authenticate(i int) {
	l := a.v.lines[i]
	switch {
	case a.cur.keyID == "":
		if a.v.key != nil {
			a.unauthed++
		}
	case !l.keyed:
		a.problem(i, Forged, fmt.Sprintf("no MAC in lines keyed with key id %s: added or changed by someone without the key", a.cur.keyID))
		a.unauthed++
	case a.v.key == nil:
	case a.cur.keyID != a.v.keyID:
		a.unauthed++
	case !l.macOK:
		a.problem(i, Forged, "its MAC does not match: changed, or written by someone without the key")
		a.unauthed++
	}
}

// endRun says what a given key (or its absence) could not check in the run
// that ends.
func (a *analysis) endRun() {
	r := a.cur
	if r.lines == 0 {
		return
	}
	span := fmt.Sprintf("%d line(s) from %s", r.lines, a.where(r.start, r.start))
	switch {
	case r.keyID == "" && a.v.key != nil:
		a.problem(r.start, Unkeyed, span+" are not keyed: the key cannot authenticate them, and anyone who could write the file could have rewritten them")
	case r.keyID != "" && a.v.key == nil:
		a.problem(r.start, NotAuthenticated, fmt.Sprintf("%s are keyed (key id %s): without the key only their structure was checked, not who wrote them", span, r.keyID))
	case r.keyID != "" && r.keyID != a.v.keyID:
		a.problem(r.start, OtherKey, fmt.Sprintf("%s are keyed with key id %s, not with the key given (key id %s): they cannot be authenticated", span, r.keyID, a.v.keyID))
	}
}

// phase pairs begin lines with their outcomes.
func (a *analysis) phase(i int) {
	l := a.v.lines[i]
	if l.kind != kindRecord {
		return
	}
	switch l.phase {
	case PhaseBegin:
		a.begins[beginKey{l.seq, l.requestID}] = i
	case PhaseEnd:
		k := beginKey{l.beginSeq, l.requestID}
		if _, ok := a.begins[k]; ok {
			delete(a.begins, k)
			return
		}
		if l.beginSeq >= a.minSeq && l.beginSeq < l.seq {
			a.problem(i, Unmatched, fmt.Sprintf("the outcome of a call (request %s) begun at seq %d, but no begin line of that request has that seq", l.requestID, l.beginSeq))
		}
		// A begin_seq before the input: the call began in an earlier file.
	}
}

// Summary is the report as `audit verify` prints it for the files named in
// what: OK or BROKEN, every problem (breaks first marked ✘, notes such as
// torn lines and unfinished calls marked !), and the last hash to keep
// elsewhere.
func (r *Report) Summary(what string) string {
	var b strings.Builder
	switch {
	case r.Lines == 0:
		fmt.Fprintf(&b, "%s: OK, empty\n", what)
		return b.String()
	case r.OK():
		fmt.Fprintf(&b, "%s: OK, %d lines (%d records), chain intact", what, r.Lines, r.Records)
		if r.Authenticated {
			fmt.Fprintf(&b, " and authenticated under key %s", r.KeyID)
		}
		b.WriteString("\n")
	default:
		fmt.Fprintf(&b, "%s: BROKEN at %s\n(%d lines read)\n", what, r.First, r.Lines)
	}
	for i := range r.Problems {
		mark := "!"
		if r.Problems[i].Kind.Breaks() {
			mark = "✘"
		}
		fmt.Fprintf(&b, "%s %s\n", mark, r.Problems[i].String())
	}
	if r.MoreProblems > 0 {
		fmt.Fprintf(&b, "… and %d more problems\n", r.MoreProblems)
	}
	if r.OK() {
		fmt.Fprintf(&b, "last hash %s (seq %d)\n(keep this hash elsewhere: lines removed from the end leave an intact chain, but change it)\n", r.LastHash, r.LastSeq)
	}
	return b.String()
}
