package transport

// The stdio transport: what MCP clients launch. It replaces the go-sdk's
// IOTransport, whose reader ends the session on the first line it cannot
// decode (garbage, "{", invalid UTF-8, a byte order mark, null, [], a
// batch on a recent protocol, "jsonrpc":"1.0", an object id, a line over
// 16 MiB): Server.Run then returns and the process used to exit 0. Here a
// bad line is answered with its JSON-RPC error on stdout, audited, and
// skipped; the session goes on.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
)

// DefaultMaxLine is the largest message the stdio transport reads, in
// bytes. MCP requests to this server are small (a tool's arguments, an
// elicitation answer); a longer line is refused without being held in
// memory.
const DefaultMaxLine = 1 << 20

// Stdio is the stdio transport: newline-delimited JSON-RPC on In and Out.
// Every line that is not a valid JSON-RPC message for this server is
// answered with a JSON-RPC error (-32700 parse error, -32600 invalid
// request; "id": null when the id is unknown), audited through Audit as
// invalid_request (charged to Identity's rate limit, like a tool call),
// and skipped. So is a request whose id is already in flight, and a call
// before initialize. Every JSON-RPC error the SDK answers to a request is
// audited too.
//
// Connect may be called once. After the session ends, [Stdio.Err] tells
// whether it ended cleanly (In at its end, or the session closed) or on a
// failure of In or Out.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	// MaxLine bounds a line, in bytes; 0 means [DefaultMaxLine].
	MaxLine int
	// Audit receives the refusals; nil audits nothing (tests).
	Audit    *tools.Middleware
	Identity policy.Identity
	Log      zerolog.Logger

	once sync.Once
	conn *stdioConn
}

// Connect implements [mcp.Transport].
func (t *Stdio) Connect(context.Context) (mcp.Connection, error) {
	err := errors.New("stdio: connect called twice")
	t.once.Do(func() {
		max := t.MaxLine
		if max <= 0 {
			max = DefaultMaxLine
		}
		t.conn = &stdioConn{t: t, max: max, incoming: make(chan readResult), closed: make(chan struct{}),
			inflight: map[jsonrpc.ID]string{}, outgoing: map[jsonrpc.ID]bool{}}
		t.conn.idle = sync.NewCond(&t.conn.mu)
		go t.conn.readLoop()
		err = nil
	})
	if err != nil {
		return nil, err
	}
	return t.conn, nil
}

// Err is the failure that ended the session: reading In (other than its
// end) or writing Out. It is nil while the session runs and after a clean
// end.
func (t *Stdio) Err() error {
	if t.conn == nil {
		return nil
	}
	t.conn.mu.Lock()
	defer t.conn.mu.Unlock()
	return t.conn.failure
}

type readResult struct {
	msg jsonrpc.Message
	err error
}

// stdioConn is the one connection of a [Stdio].
type stdioConn struct {
	t        *Stdio
	max      int
	incoming chan readResult
	closed   chan struct{}
	close    sync.Once

	writeMu sync.Mutex // one line at a time on Out

	mu          sync.Mutex
	failure     error
	initialized bool
	// inflight maps the id of each request given to the SDK to its
	// method, until the SDK answers it.
	inflight map[jsonrpc.ID]string
	// writing counts the answers taken out of inflight and not yet
	// written.
	writing int
	// outgoing holds the ids of the server's own requests to the client
	// (elicitation, ping) not yet answered; asking is their number.
	outgoing map[jsonrpc.ID]bool
	asking   int
	idle     *sync.Cond // signalled when inflight, writing or asking shrinks, and on Close
}

// readLoop reads lines until In ends or fails, or the connection closes.
func (c *stdioConn) readLoop() {
	br := bufio.NewReaderSize(c.t.In, 64<<10)
	for {
		line, tooLong, err := readLine(br, c.max)
		if tooLong {
			c.refuse(&rpcError{code: jsonrpc.CodeInvalidRequest,
				message: fmt.Sprintf("invalid request: the message is larger than %d bytes; it was skipped unread", c.max)})
		} else if len(bytes.TrimSpace(line)) > 0 {
			if msg, ok := c.admit(line); ok {
				select {
				case c.incoming <- readResult{msg: msg}:
				case <-c.closed:
					return
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.fail(fmt.Errorf("read stdin: %w", err))
			} else {
				c.drain()
			}
			select {
			case c.incoming <- readResult{err: err}:
			case <-c.closed:
			}
			return
		}
	}
}

// drain waits, at the end of In, until every request read has been
// answered: the SDK's JSON-RPC layer refuses to write anything once its
// reader has reported the end, so `echo '{…}' | vsphere-mcp-pro` would
// lose the answer. It does not wait while the server itself waits for an
// answer of the client (an elicitation), which can no longer come.
func (c *stdioConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for (len(c.inflight) > 0 || c.writing > 0) && c.asking == 0 && !c.isClosed() {
		c.idle.Wait()
	}
}

func (c *stdioConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// readLine returns the next line without its newline, at most max bytes of
// it: a longer line is consumed to its end and reported tooLong, never
// held whole. err is io.EOF at the end of In (after the last line, even
// one without a newline).
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+1 { // +1: the newline
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return bytes.TrimSuffix(line, []byte("\n")), tooLong, err
		}
		return bytes.TrimSuffix(line, []byte("\n")), tooLong, nil
	}
}

// admit checks a line and the order of the session: it returns the
// message to give to the SDK, or answers and audits the refusal.
func (c *stdioConn) admit(line []byte) (jsonrpc.Message, bool) {
	in, rerr := checkMessage(line)
	if rerr == nil {
		rerr = c.order(in)
	}
	if rerr != nil {
		c.refuse(rerr)
		return nil, false
	}
	return in.msg, true
}

// order refuses a request whose id is in flight, and a call before
// initialize; it records the requests it lets through.
func (c *stdioConn) order(in inbound) *rpcError {
	if resp, ok := in.msg.(*jsonrpc.Response); ok {
		c.mu.Lock()
		delete(c.outgoing, resp.ID)
		c.asking = len(c.outgoing)
		c.mu.Unlock()
		return nil
	}
	req, isReq := in.msg.(*jsonrpc.Request)
	if !isReq || !in.call {
		return nil
	}
	tool := shortMethod(in.method)
	if in.tool != "" {
		tool = in.tool
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.inflight[req.ID]; dup {
		// The SDK would drop it silently (its error carries no id).
		return &rpcError{id: req.ID, code: jsonrpc.CodeInvalidRequest, tool: tool,
			message: fmt.Sprintf("invalid request: id %s is already in use by a request in flight; use a new id", idString(req.ID))}
	}
	switch in.method {
	case "initialize":
		c.initialized = true
	case "ping", "server/discover", "logging/setLevel", "resources/subscribe", "resources/unsubscribe":
		// What the SDK serves before initialize.
	default:
		if !c.initialized && !in.newProtocol {
			// The SDK answers with error code 0 and never reaches the
			// middleware, so nothing would be audited.
			return &rpcError{id: req.ID, code: jsonrpc.CodeInvalidRequest, tool: tool,
				message: fmt.Sprintf("invalid request: %s before initialize; send initialize first", shortMethod(in.method))}
		}
	}
	c.inflight[req.ID] = tool
	return nil
}

// refuse answers a refused message and audits it.
func (c *stdioConn) refuse(e *rpcError) {
	c.audit(e.tool, e.Error())
	_ = c.writeLine(e.encode())
}

func (c *stdioConn) audit(tool, why string) {
	c.t.Log.Debug().Str("tool", tool).Str("reason", why).Msg("stdio message refused")
	if c.t.Audit == nil {
		return
	}
	c.t.Audit.Refused(tools.Refusal{
		Start: time.Now(), Kind: policy.RefusedRequest, Tool: tool, Identity: c.t.Identity,
		Why: errors.New("stdio: " + why), Charge: true,
	})
}

// Read implements [mcp.Connection].
func (c *stdioConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, io.EOF
	case r := <-c.incoming:
		return r.msg, r.err
	}
}

// Write implements [mcp.Connection]. An error answer of the SDK to a
// request (an unknown method, parameters it cannot decode) is audited: it
// never reached the middleware.
func (c *stdioConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, ok := encodeResult(msg)
	if !ok {
		var err error
		if data, err = jsonrpc.EncodeMessage(msg); err != nil {
			return fmt.Errorf("stdio: encode: %w", err)
		}
	}
	if m, ok := msg.(*jsonrpc.Request); ok && m.IsCall() {
		c.mu.Lock()
		c.outgoing[m.ID] = true
		c.asking = len(c.outgoing)
		c.mu.Unlock()
	}
	resp, isResp := msg.(*jsonrpc.Response)
	var tool string
	var known bool
	if isResp {
		// The id is free again before the answer is written, as in the
		// SDK's own connection: a client may reuse it as soon as it reads
		// the answer. The end of In still waits for the write (drain).
		c.mu.Lock()
		if tool, known = c.inflight[resp.ID]; known {
			delete(c.inflight, resp.ID)
			c.writing++
		}
		c.mu.Unlock()
	}
	if known && resp.Error != nil {
		c.audit(tool, "answered with "+truncate(resp.Error.Error(), 300))
	}
	err := c.writeLine(data)
	if known {
		c.mu.Lock()
		c.writing--
		c.idle.Broadcast()
		c.mu.Unlock()
	}
	return err
}

// encodeResult encodes a successful response around its result as it is:
// the SDK marshalled the result already, compact, and EncodeMessage would
// scan and copy it once more (about a third of the server's time for a page
// of 1000 VMs). The bytes are those EncodeMessage writes. It declines
// anything else, and a result holding a line break (not compact).
func encodeResult(msg jsonrpc.Message) ([]byte, bool) {
	r, ok := msg.(*jsonrpc.Response)
	if !ok || r.Error != nil || len(r.Result) == 0 || !r.ID.IsValid() || bytes.IndexByte(r.Result, '\n') >= 0 {
		return nil, false
	}
	var id []byte
	switch v := r.ID.Raw().(type) {
	case int64:
		id = strconv.AppendInt(nil, v, 10)
	default: // a string, without HTML escapes, as the SDK's encoder writes it
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) != nil {
			return nil, false
		}
		id = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	const head, mid = `{"jsonrpc":"2.0","id":`, `,"result":`
	b := make([]byte, 0, len(head)+len(id)+len(mid)+len(r.Result)+2) // + "}\n"
	b = append(b, head...)
	b = append(b, id...)
	b = append(b, mid...)
	b = append(b, r.Result...)
	return append(b, '}'), true
}

// writeLine writes one line to Out; a failure ends the session.
func (c *stdioConn) writeLine(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.t.Out.Write(append(data, '\n')); err != nil {
		err = fmt.Errorf("write stdout: %w", err)
		c.fail(err)
		c.Close()
		return err
	}
	return nil
}

func (c *stdioConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure == nil {
		c.failure = err
	}
}

// Close implements [mcp.Connection]. It leaves In and Out open: they are
// the process's.
func (c *stdioConn) Close() error {
	c.close.Do(func() {
		close(c.closed)
		c.mu.Lock()
		c.idle.Broadcast()
		c.mu.Unlock()
	})
	return nil
}

// SessionID implements [mcp.Connection]: stdio has no session id.
func (c *stdioConn) SessionID() string { return "" }

// Serve runs srv on this transport until stdin ends, ctx is cancelled or the
// session fails, and reports a failure: the MCP session could not go on
// (stdout closed, stdin unreadable) or ended with an error. A clean end of
// stdin and a cancelled ctx are no failure.
//
// The process must never exit 0 on a protocol failure: the client must see
// that the server did not end normally.
func (t *Stdio) Serve(ctx context.Context, srv *mcp.Server) error {
	err := srv.Run(ctx, t)
	if ferr := t.Err(); ferr != nil {
		return fmt.Errorf("the MCP session on stdio failed: %w", ferr)
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("the MCP session on stdio ended: %w", err)
	}
	return nil
}
