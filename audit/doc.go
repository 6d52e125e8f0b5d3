// Package audit writes the audit log of vsphere-mcp-pro: exactly one JSON line
// per logical tool call whatever its outcome (two for a call that changes
// state: one before it acts, one with its outcome), with secrets masked, every
// field bounded, and the lines chained by SHA-256 (optionally keyed with
// HMAC-SHA256) so that an edited, deleted, reordered or forged line can be
// found ([Verify]).
//
// It owns the [Record] type and its JSON shape, argument masking ([MaskArgs];
// the secrets themselves belong to package redact), the writer ([Open], [New]:
// one write per append, O_APPEND, mode 0600, a lock shared by every process
// appending to the same file, rotation handled), durable intent records
// ([Log.Begin], [Pending.Finish]), the chain key ([WithKey], [LoadKey]), the
// verifier ([Verify], [VerifyWith], [VerifyFiles]) and the per-call record
// carried in a context ([WithRecord], [FromContext], [NoteTarget], [NoteTask]).
//
// It must not know MCP, HTTP, vCenter or policy. It imports only the standard
// library, package redact, and golang.org/x/sys on Windows for file locking.
// Decisions are plain strings here; package policy defines their values.
//
// # Line format
//
// A file, or a stream such as stderr, starts with a header line:
//
//	{"audit_header":2,"created":"2026-11-24T12:00:00Z","seq":0,"prev":"000…000"}
//
// and every line after it carries "seq", one more than the record before, and
// "prev", the hex SHA-256 of the previous record's bytes without its newline.
// A header may say why it is there ("reason") and which key the lines after it
// use ("key_id"); a header that continues a chain carries the seq and prev of
// the record before it, like any record.
//
// A call recorded with [Log.Append] is one line. A state-changing call is two:
// [Log.Begin] writes {"phase":"begin",…} and syncs it before the call may act;
// [Pending.Finish] writes the outcome, {"phase":"end","begin_seq":N,…}, where N
// is the seq of the begin line. A begin line with no outcome means the process
// died while the call acted, or the outcome could not be written: [Verify]
// reports it ([Unfinished]).
//
// No line is longer than [MaxLine] (64 KiB), whatever a caller passes: each
// string field is capped (the tool name at 256 bytes, the error at 8 KiB, …)
// with a visible marker giving the original length ("…[truncated from 6000000
// bytes]"), invalid UTF-8 becomes U+FFFD, and arguments that would make the
// line longer become {"_too_large_bytes":N}.
//
// # Failed writes and torn lines
//
// A write that fails part way (disk full, a crash) leaves a torn line. The
// next writer ends it with a newline and chains its record to the last record
// before it, skipping the torn line, and [Verify] names each torn line
// ([Torn]) and goes on checking the rest. Torn lines do not make a file broken
// ([Report.Intact] stays true): a torn line is evidence of a failed write, not
// of an edit, and it cannot hide a record, since replacing a record by garbage
// breaks the link of the record after it. The writer likewise steps over
// lines longer than MaxLine (written by version 1, or by someone with access
// to the file) and over foreign data, up to 256 MiB from the end; only beyond
// that does it start a new chain (a header with reason "unreadable_tail",
// which Verify reports as [Restarted]). It never stops appending because of
// what the file holds.
//
// A failed write is returned to the caller, never swallowed. [Log.Begin]
// fails when the line cannot be written and synced: the caller must then
// refuse the call.
//
// # Rotation
//
// Before each write, under the file lock, the writer checks that the path
// still names the file it has open. When the file was renamed away (log
// rotation), removed, or replaced by another file, lines written to it would
// be lost to whoever reads the path, and its lock would no longer exclude the
// other processes: the writer closes it, opens the file now at the path (or
// creates it, mode 0600), and writes there. A file it starts this way begins
// with a header with reason "rotated" whose seq and prev continue the last
// record of the old file, so the chain runs across files: verify a log and
// its predecessors together, oldest first, with [VerifyFiles]. If the file
// cannot be reopened (the directory is gone, the new file is group-readable),
// the write fails, and so does [Log.Begin].
//
// For operators: rotate by renaming, and let the server create the new file
// (logrotate: "nocopytruncate" and "nocreate", or "create 0600 USER GROUP":
// any other mode is refused); keep the rotated files, and verify them with
// the current one. copytruncate works, in that writing goes on, but it loses
// lines written between its copy and its truncation (logrotate says so) and
// the emptied file starts a new chain that cannot be tied to the copy.
//
// # What the chain proves
//
// Plain chain (no key). It shows accidental damage and naive tampering: an
// edited, deleted, inserted or reordered line breaks a link, and [Verify]
// names the line. It does not stand against anyone who can write the file:
// they can rewrite lines and recompute every hash after them, or remove lines
// from the end, and the chain verifies. Only an anchor kept elsewhere shows
// that: [Report.LastHash] recorded now and then, or lines shipped off the
// host.
//
// Keyed chain ([WithKey]). Every line ends with "mac", the HMAC-SHA256 under
// the key of the line's bytes before it (seq and prev included), and headers
// carry the key's id ([KeyID], never the key). Without the key nobody can
// write a line that verifies: a line edited, forged, or re-linked after a
// deletion fails ([Forged]), and so does a line appended by someone without
// the key. What it still cannot show: lines removed from the end (anchor
// LastHash as above), and forgeries by whoever holds the key, which includes
// the server's own user: the server reads the key to write. So the key
// protects against whoever can change the file but cannot read the key:
// someone with a copy of the log (a backup, a log collector, the disk), or
// with write access to the file but not to the server's configuration.
// Verifying a keyed file without the key checks its structure only and says so
// ([NotAuthenticated]); verifying an unkeyed file (or unkeyed lines) with a
// key says they cannot be authenticated ([Unkeyed]). Turning the key on for an
// existing file continues its chain under a header with reason "key_changed";
// rotate the file at the same time so that every line of the new one verifies
// under the key.
package audit
