package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Command is what the command line asks for.
type Command struct {
	// Name is the subcommand: stdio (also for none), serve, call, tools,
	// doctor, audit, version or help.
	Name string
	// Args are the subcommand's own arguments (call's tool and JSON, audit's
	// verb and file).
	Args []string
	// Simulate runs against the embedded simulated vCenter (--simulate).
	Simulate bool
	// HTTP serves Streamable HTTP instead of stdio (serve --http).
	HTTP bool
	// KeyFile is the audit key for audit verify (--key).
	KeyFile string
}

// The subcommands.
var commands = []string{"stdio", "serve", "call", "tools", "doctor", "audit", "version", "help"}

// UsageError is a mistake on the command line.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usage is the help text.
const Usage = `usage: vsphere-mcp-pro [flags] [command] [arguments]

commands:
  stdio (or none)        run the MCP server on stdin/stdout (what MCP clients launch)
  call TOOL ['{json}']   run one tool through the full pipeline and print its result
  tools                  list the tools this token may use
  doctor                 check configuration, DNS, TCP, TLS, login, VI/JSON, role and audit sink
  audit verify [--key FILE] LOG...
                         check an audit log's chain (rotated files oldest first): OK with the
                         line count and last hash, or every edited, missing, reordered or
                         forged line (exit 1); torn lines and unfinished calls are warnings
  serve [--http]         the MCP server: on stdin/stdout, or with --http over Streamable HTTP
                         on SERVER_HOST:SERVER_PORT (default 127.0.0.1:8000) for a team (docs/http.md)
  version                print version, commit and Go version

flags (each overrides the environment variable of the same meaning):
  --simulate             run against an embedded simulated vCenter 8 (no credentials needed)
  --read-only            only read-only tools exist and run (READ_ONLY)
  --toolsets LIST        enabled toolsets, comma-separated, or all (VSPHERE_TOOLSETS)
  --tools LIST           single tools to enable besides the toolsets (VSPHERE_TOOLS)
  --exclude-tools LIST   tools to disable whatever enabled them (VSPHERE_EXCLUDE_TOOLS)
  --log-file PATH        diagnostics to this file instead of stderr (LOG_FILE)
  --http                 with serve: Streamable HTTP instead of stdio
  --version, --help

Configuration is read from the environment; see README.md.
`

// flagValues are the flags given, to apply over the environment.
type flagValues struct {
	readOnly                      bool
	toolsets, tools, excludeTools *string
	logFile                       *string
}

// apply overrides the environment's values with the flags given.
func (f flagValues) apply(e *Env) {
	if f.readOnly {
		e.ReadOnly = true
	}
	if f.toolsets != nil {
		e.Toolsets = splitList(*f.toolsets)
	}
	if f.tools != nil {
		e.Tools = splitList(*f.tools)
	}
	if f.excludeTools != nil {
		e.ExcludeTools = splitList(*f.excludeTools)
	}
	if f.logFile != nil {
		e.LogFile = *f.logFile
	}
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{"none"}
	}
	return strings.Split(s, ",")
}

// optional is a string flag that records whether it was given.
type optional struct{ v **string }

func (o optional) String() string {
	if o.v == nil || *o.v == nil {
		return ""
	}
	return **o.v
}

func (o optional) Set(s string) error { *o.v = &s; return nil }

// parseArgs reads flags anywhere on the line (before or after the command),
// the command, and its arguments; "--" ends the flags.
func parseArgs(args []string) (Command, flagValues, error) {
	var c Command
	var fl flagValues
	fs := flag.NewFlagSet("vsphere-mcp-pro", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var help, version bool
	fs.BoolVar(&c.Simulate, "simulate", false, "")
	fs.BoolVar(&c.HTTP, "http", false, "")
	fs.BoolVar(&fl.readOnly, "read-only", false, "")
	fs.Var(optional{&fl.toolsets}, "toolsets", "")
	fs.Var(optional{&fl.tools}, "tools", "")
	fs.Var(optional{&fl.excludeTools}, "exclude-tools", "")
	fs.Var(optional{&fl.logFile}, "log-file", "")
	fs.StringVar(&c.KeyFile, "key", "", "")
	fs.BoolVar(&help, "help", false, "")
	fs.BoolVar(&help, "h", false, "")
	fs.BoolVar(&version, "version", false, "")
	fs.BoolVar(&version, "v", false, "")

	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return Command{Name: "help"}, fl, nil
			}
			return c, fl, &UsageError{strings.TrimPrefix(err.Error(), "flag provided but not defined: ")}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
	switch {
	case help:
		return Command{Name: "help"}, fl, nil
	case version:
		return Command{Name: "version"}, fl, nil
	}
	c.Name = "stdio"
	if len(positional) > 0 {
		c.Name, c.Args = positional[0], positional[1:]
	}
	if !slices.Contains(commands, c.Name) {
		return c, fl, &UsageError{fmt.Sprintf("unknown command %q", c.Name)}
	}
	if c.HTTP && c.Name != "serve" {
		return c, fl, &UsageError{"--http goes with serve: vsphere-mcp-pro [--simulate] serve --http"}
	}
	if c.KeyFile != "" && c.Name != "audit" {
		return c, fl, &UsageError{"--key goes with audit verify: vsphere-mcp-pro audit verify --key FILE LOG..."}
	}
	if c.Name == "audit" && (len(c.Args) < 2 || c.Args[0] != "verify") {
		return c, fl, &UsageError{"usage: vsphere-mcp-pro audit verify [--key FILE] LOG..."}
	}
	if c.Name == "serve" && !c.HTTP {
		c.Name = "stdio"
	}
	return c, fl, nil
}
