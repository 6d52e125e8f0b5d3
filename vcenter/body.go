package vcenter

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Response bodies are read whole before they are decoded, so what one
// answer may cost in memory is bounded here (RELIABILITY.md, "Response
// bodies"):
//
//   - An answer is capped at Config.MaxBodyBytes (defaultMaxBodyBytes): a
//     larger one fails with ErrBadAnswer as soon as the cap is passed, or
//     before anything is read when its Content-Length says so.
//   - It is read in pooled chunks and joined once at the end, instead of
//     through an append-grown slice whose discarded copies the garbage
//     collector frees only later: that, four reads at once in GetVM, made
//     one get_vm_details against 200 MB answers peak at 223 MB of RSS with
//     the former 32 MiB cap.
//   - Any number of answers of up to largeBodyBytes are read at once, but
//     past that size an answer needs the client's one large-body slot, held
//     until the caller has decoded it (response.release). Parallel reads
//     (GetVM's four, a split list's six) therefore hold at most one large
//     body at a time, and a call facing oversized answers on every read
//     stays near one cap of memory instead of one per read.
//
// Legitimate answers are far below the cap: a full 4000-VM page of the VM
// list is 393 KiB on /api and /rest alike (the vCenter maximum; measured on
// the simulator, whose items carry the keys vCenter sends).
const (
	// defaultMaxBodyBytes is the default of Config.MaxBodyBytes.
	defaultMaxBodyBytes = 8 << 20
	// largeBodyBytes is the size past which an answer needs the large-body slot.
	largeBodyBytes = 1 << 20
	// bodyChunk is the unit in which answers of unknown length are read.
	bodyChunk = 64 << 10
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, bodyChunk); return &b }}

// bodyReader reads answers for one client.
type bodyReader struct {
	max  int64
	slot chan struct{} // the large-body slot: holding it is a value in the channel
}

func newBodyReader(max int64) *bodyReader {
	return &bodyReader{max: max, slot: make(chan struct{}, 1)}
}

// read reads an answer of declared length n (-1 when unknown). The
// returned release frees the large-body slot if the answer took it; call
// it once the body is no longer needed. On error nothing is held.
func (br *bodyReader) read(ctx context.Context, r io.Reader, n int64) (body []byte, release func(), err error) {
	held := false
	release = func() {
		if held {
			held = false
			<-br.slot
		}
	}
	acquire := func() error {
		if held {
			return nil
		}
		select {
		case br.slot <- struct{}{}:
			held = true
			return nil
		case <-ctx.Done():
			return fmt.Errorf("reading vCenter answer: waiting for memory held by another large answer: %w", ctx.Err())
		}
	}
	tooLarge := fmt.Errorf("%w (more than %s)", errBodyTooLarge, sizeText(br.max))
	switch {
	case n > br.max:
		return nil, func() {}, tooLarge
	case n >= 0:
		if n > largeBodyBytes {
			if err := acquire(); err != nil {
				return nil, func() {}, err
			}
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			release()
			return nil, func() {}, fmt.Errorf("reading vCenter answer: %w", err)
		}
		return body, release, nil
	}

	var chunks []*[]byte
	defer func() {
		for _, c := range chunks {
			chunkPool.Put(c)
		}
	}()
	var total int64
	last := 0 // bytes used in the last chunk
	for {
		if len(chunks) == 0 || last == bodyChunk {
			chunks = append(chunks, chunkPool.Get().(*[]byte))
			last = 0
		}
		m, err := r.Read((*chunks[len(chunks)-1])[last:])
		last += m
		total += int64(m)
		if total > br.max {
			release()
			return nil, func() {}, tooLarge
		}
		if total > largeBodyBytes {
			if err := acquire(); err != nil {
				return nil, func() {}, err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			release()
			return nil, func() {}, fmt.Errorf("reading vCenter answer: %w", err)
		}
	}
	body = make([]byte, 0, total)
	for i, c := range chunks {
		if i == len(chunks)-1 {
			body = append(body, (*c)[:last]...)
		} else {
			body = append(body, *c...)
		}
	}
	return body, release, nil
}

// sizeText renders a byte count for errors: "8 MiB", "1500 bytes".
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
