package transport

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
)

// capListener bounds the open connections (SERVER_MAX_CONNECTIONS): one
// over the cap is answered 503 (plain HTTP; closed at once under TLS, whose
// handshake has not happened), audited within the refusal rate of its
// address, and closed, before anything is read from it. Idle and slow
// connections end with IdleTimeout, ReadHeaderTimeout and
// SERVER_READ_TIMEOUT_S, so the cap bounds what a flood of connections can
// hold.
type capListener struct {
	net.Listener
	h    *HTTPServer
	max  int64
	open atomic.Int64
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.refuse(c)
			continue
		}
		return &capConn{Conn: c, l: l}, nil
	}
}

// refuse answers and closes a connection over the cap.
func (l *capListener) refuse(c net.Conn) {
	start := time.Now()
	from := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(from); err == nil {
		from = host
	}
	why := fmt.Sprintf("connection refused: %d connections are open, the most allowed (SERVER_MAX_CONNECTIONS)", l.max)
	if ok, _ := l.h.refusals.Allow(from); ok {
		l.h.mw.Refused(tools.Refusal{Start: start, Kind: policy.RefusedCapacity, Why: fmt.Errorf("%s (from %s)", why, from)})
		l.h.log.Warn().Str("from", from).Int64("connections", l.max).Msg("connection cap reached")
	}
	if l.h.tls == nil {
		const msg = "the server is at its connection limit; retry shortly\n"
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
	}
	_ = c.Close()
}

// capConn gives its place back once closed.
type capConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
