// Package audit writes the audit log of vsphere-mcp-pro: exactly one JSON line per
// logical tool call, whatever its outcome, with secrets masked and the lines chained
// by SHA-256 so that an edited, deleted or reordered line can be found ([Verify]).
//
// It owns the [Record] type and its JSON shape, redaction ([MaskArgs], [Scrubber]),
// the writer ([Open], [New]: one write per line, O_APPEND, mode 0600, a lock shared
// by every process appending to the same file), the per-call record carried in a
// context ([WithRecord], [FromContext], [NoteTarget], [NoteTask]) and the health
// signal callers use to fail closed ([Log.Err]).
//
// It must not know MCP, HTTP, vCenter or policy. It imports only the standard
// library (and golang.org/x/sys on Windows, for file locking). Decisions are plain
// strings here; package policy defines their values (policy.Decision).
//
// # Line format
//
// A file, or a stream such as stderr, starts with a header line:
//
//	{"audit_header":1,"created":"2026-11-24T12:00:00Z","seq":0,"prev":"000…000"}
//
// and every record after it carries "seq", one more than the line before, and
// "prev", the hex SHA-256 of the previous line's bytes without its newline. A file
// found empty (new, truncated or rotated with copytruncate) gets a new header.
//
// Security: the hash chain has no key. It reveals naive edits, deletions and
// reordering, not a rewrite by someone who recomputes every hash after the change;
// for that, ship lines off the host or record [Report.LastHash] elsewhere. Removing
// lines from the end of the file leaves an intact chain; only such an anchor shows it.
package audit
