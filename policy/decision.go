package policy

// Decision is the outcome of the checks a tool call passes before its handler runs.
// Its values are the strings written to the "decision" field of every audit line.
//
// This package owns the type: package audit must not import policy, so it records
// decisions as plain strings (string(d)); both packages stay free of each other.
// [Policy.Decide] returns [Allowed], [DeniedRole] or [DeniedReadOnly]; the caller
// produces the other three from the [Limiter], the confirmation flow and argument
// validation.
type Decision string

// The six decisions, in the order the checks run.
const (
	// Allowed means every check passed and the handler runs.
	Allowed Decision = "allowed"
	// DeniedRole means the role may not call the tool, or the tool does not exist.
	DeniedRole Decision = "denied_role"
	// DeniedReadOnly means read-only mode hides a tool that is not read-only.
	DeniedReadOnly Decision = "denied_read_only"
	// DeniedRate means the token is over its rate limit.
	DeniedRate Decision = "denied_rate"
	// NeedsConfirmation means a tool that needs confirmation was called without it
	// and returned a preview; nothing changed.
	NeedsConfirmation Decision = "needs_confirmation"
	// InvalidArgs means the arguments did not validate; the handler did not run.
	InvalidArgs Decision = "invalid_args"
)

// Decisions lists every [Decision] value, for callers that validate or document them.
func Decisions() []Decision {
	return []Decision{Allowed, DeniedRole, DeniedReadOnly, DeniedRate, NeedsConfirmation, InvalidArgs}
}
