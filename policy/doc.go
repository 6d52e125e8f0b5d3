// Package policy makes the pure access decisions of vsphere-mcp-pro: which role a
// launch token resolves to, which tools a role may list and call, whether read-only
// mode hides a tool, whether a token is over its rate limit, and whether an approval
// given through elicitation is bound to the exact call it approves.
//
// It owns the configuration grammar of TOKENS_TO_ROLES, ROLES_TO_TOOLS and
// POLICY_FILE ([ParseConfig], [LoadFile]), the default roles read ⊂ ops ⊂ admin, the
// [Decision] vocabulary that the audit log records, the per-token [Limiter] and the
// confirmation [Approver]. The state replicas must share (rate-limit [Buckets], redeemed
// approval [Nonces]) sits behind two interfaces that a shared store implements
// elsewhere (package state); what a failing store means for a call is decided here.
//
// It must not know MCP, HTTP, vCenter or the audit sink: callers describe each tool
// with a [Tool] value built from its annotations, read the environment themselves and
// pass raw strings in, and record decisions wherever they like. It imports only the
// standard library and golang.org/x/time/rate.
//
// Security: no function of this package puts a token, or a value that may be one,
// into an error, a warning or a String method. Tokens are hashed with SHA-256 as soon
// as they are parsed; only the digests are kept.
package policy
