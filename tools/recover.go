package tools

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// recoverPanics turns a panic in a handler into an error result, so that the
// process never crashes on any input and the call is still audited (the
// audit middleware sits outside it).
func (m *Middleware) recoverPanics(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
		defer func() {
			if p := recover(); p != nil {
				m.log.Error().Str("method", method).Str("panic", fmt.Sprint(p)).Str("stack", string(debug.Stack())).Msg("handler panicked")
				if method != "tools/call" {
					res, err = nil, fmt.Errorf("internal error in %s", method)
					return
				}
				res, err = errorResult(fmt.Sprintf("internal error in this tool (request %s); nothing more is known. Next: report it to the server's operator", requestIDOf(ctx))), nil
			}
		}()
		return next(ctx, method, req)
	}
}
