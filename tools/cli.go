package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// CLI runs the call and tools subcommands through an in-process client of
// the server, so that they pass the same middleware as any MCP client.
type CLI struct {
	Server   *mcp.Server
	Version  string
	Role     string   // for the tools header
	Toolsets []string // enabled, for the tools header
}

// UsageError is a mistake in a subcommand's arguments.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Run runs cmd ("call" with TOOL ['{json}'], or "tools") and prints its
// outcome to w: the result's structured content as indented JSON, or the
// error of an error result ({"isError": true, "error": …}; failed is then
// true), or the tool list.
func (c CLI) Run(ctx context.Context, cmd string, args []string, w io.Writer) (failed bool, err error) {
	var raw json.RawMessage
	switch {
	case cmd == "call" && (len(args) < 1 || len(args) > 2):
		return false, &UsageError{"usage: vsphere-mcp-pro call TOOL ['{json arguments}']"}
	case cmd == "call" && len(args) == 2:
		if raw = json.RawMessage(args[1]); !json.Valid(raw) {
			return false, &UsageError{"the arguments are not valid JSON: " + truncate(args[1], 200)}
		}
	case cmd == "tools" && len(args) > 0:
		return false, &UsageError{"usage: vsphere-mcp-pro tools"}
	}
	l, err := ConnectLocal(ctx, c.Server, c.Version)
	if err != nil {
		return false, err
	}
	defer l.Close()
	if cmd == "tools" {
		ts, err := l.Tools(ctx)
		if err != nil {
			return false, err
		}
		fmt.Fprintf(w, "role %s, toolsets %s: %d tools\n", c.Role, strings.Join(c.Toolsets, ", "), len(ts))
		for _, t := range ts {
			desc, _, _ := strings.Cut(t.Description, ". ")
			fmt.Fprintf(w, "  %-34s %s\n", t.Name, strings.TrimSuffix(desc, "."))
		}
		return false, nil
	}
	res, err := l.Call(ctx, args[0], raw)
	if err != nil {
		return false, fmt.Errorf("call %s: %w", truncate(args[0], 64), err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	switch {
	case res.IsError:
		return true, enc.Encode(map[string]any{"isError": true, "error": ResultText(res)})
	case res.StructuredContent != nil:
		return false, enc.Encode(res.StructuredContent)
	}
	_, err = fmt.Fprintln(w, ResultText(res))
	return false, err
}
