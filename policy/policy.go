package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Level is the least default role that includes a tool: read ⊂ ops ⊂ admin.
type Level int

// The three levels; the zero Level is invalid, so a tool whose level was forgotten is
// refused by [New] instead of landing in some role by accident.
const (
	LevelRead  Level = iota + 1 // read-only tools: the default role "read"
	LevelOps                    // power, guest power, snapshot create and revert: "ops"
	LevelAdmin                  // everything else, deletions and reconfiguration: "admin"
)

// String returns the name of the default role of l: "read", "ops" or "admin".
func (l Level) String() string {
	switch l {
	case LevelRead:
		return RoleRead
	case LevelOps:
		return RoleOps
	case LevelAdmin:
		return RoleAdmin
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Names of the default roles, and of the role reported when AUTH_ENFORCE is false.
const (
	RoleRead         = "read"
	RoleOps          = "ops"
	RoleAdmin        = "admin"
	RoleUnrestricted = "unrestricted"
)

// wildcard in a ROLES_TO_TOOLS list stands for every tool of the catalogue.
const wildcard = "*"

// Tool is what policy needs to know of one tool; the caller builds it from the tool's
// declaration.
type Tool struct {
	Name        string // e.g. "power_on_vm"
	Toolset     string // e.g. "power"; see [Options.Toolsets]
	ReadOnly    bool   // readOnlyHint: the tool changes nothing
	Destructive bool   // destructiveHint: the change may lose state
	Confirm     bool   // the tool may return a preview and act only once confirmed
	// ConfirmIf marks a Confirm tool whose change needs confirmation only in
	// some states (unmount an ISO: only from a powered-on VM); it alone may
	// report [NotNeeded].
	ConfirmIf bool
	Level     Level // the least default role that includes the tool
}

// Options are the switches of AUTH_ENFORCE, READ_ONLY, the toolset selection and
// the rate limit.
type Options struct {
	// ReadOnly hides and refuses every tool that is not read-only, whatever the role
	// and the toolsets.
	ReadOnly bool
	// AuthEnforce requires a known token. When false every tool is allowed (read-only
	// mode and the toolsets still apply) and the caller must warn on stderr.
	AuthEnforce bool

	// Toolsets names the enabled toolsets (VSPHERE_TOOLSETS): toolset names, "all"
	// for every one, "default" for DefaultToolsets, "none" for none. Empty means
	// "default".
	Toolsets []string
	// Tools enables single tools besides the toolsets (VSPHERE_TOOLS).
	Tools []string
	// ExcludeTools disables single tools whatever enabled them (VSPHERE_EXCLUDE_TOOLS).
	ExcludeTools []string
	// DefaultToolsets is what "default" means; AlwaysToolsets are enabled whatever
	// Toolsets says (the catalogue's "access" toolset: whoami).
	DefaultToolsets, AlwaysToolsets []string

	// Rate is the per-token bucket (RATE_LIMIT, RATE_LIMIT_RPS, RATE_LIMIT_BURST).
	Rate Rate
	// Buckets, when set, holds the per-token buckets instead of this process's
	// memory: a store shared by every replica (SERVER_STATE_URL), configured with
	// the same Rate. It is not used when Rate is disabled.
	Buckets Buckets
	// FailOpenReads lets read-only tools run while Buckets fails, limited by this
	// process's own buckets meanwhile (SERVER_STATE_FAIL_OPEN_READS). Tools that
	// are not read-only are refused while it fails, whatever this says.
	FailOpenReads bool
}

// Rate configures the per-token token bucket.
type Rate struct {
	Enabled bool
	RPS     float64 // calls per second refilled
	Burst   int     // bucket size
}

// Identity is who is calling: the role a token resolved to.
type Identity struct {
	Role     string // a role name, or RoleUnrestricted when not Enforced
	TokenFP  string // Fingerprint of the token; "" when there was none
	Enforced bool   // false when AUTH_ENFORCE is off and every tool is allowed
}

// Access describes what an identity may do, for the whoami tool and the doctor.
type Access struct {
	Role     string   `json:"role"`
	TokenFP  string   `json:"token_fp"`
	Enforced bool     `json:"enforced"`
	ReadOnly bool     `json:"read_only"`
	Toolsets []string `json:"toolsets"` // enabled toolsets, sorted; never nil
	Tools    []string `json:"tools"`    // sorted; never nil
}

// Sentinel errors of [Policy.Resolve]. Their text tells the operator what to set.
var (
	ErrMissingToken = errors.New("no token: set VSPHERE_MCP_TOKEN to this user's token, " +
		"or set AUTH_ENFORCE=false to allow every tool")
	ErrUnknownToken = errors.New("unknown token: VSPHERE_MCP_TOKEN matches no key of TOKENS_TO_ROLES " +
		`(or of tokens_to_roles in POLICY_FILE); add the token as "sha256:<hex of its SHA-256>", ` +
		"e.g. from: printf %s \"$VSPHERE_MCP_TOKEN\" | sha256sum")
)

// Policy answers which tools a role may list and call. It is immutable after [New]
// and safe for concurrent use.
type Policy struct {
	tools    map[string]Tool
	names    []string                   // catalogue names, sorted
	enabled  map[string]bool            // tool names enabled by the toolset selection
	toolsets []string                   // enabled toolsets, sorted
	roles    map[string]map[string]bool // role → tool names, defaults merged
	tokens   []tokenEntry
	readOnly bool
	enforce  bool
	limiter  *Limiter // this process's buckets: the only ones, or the fallback of reads
	buckets  Buckets  // the shared buckets; nil: limiter's
	failOpen bool     // FailOpenReads
}

// New checks cfg against the catalogue of tools and builds a Policy.
//
// Roles not named in cfg get their default: "read" has the tools of LevelRead, "ops"
// adds LevelOps, "admin" has every tool. A role named in ROLES_TO_TOOLS replaces the
// default of that name. Errors are programming mistakes in the catalogue (an empty or
// repeated name, a missing level, a LevelRead tool that is not read-only) and
// configuration that cannot work: an unknown toolset or tool name in the selection, a
// rate limit that is not positive, and, with AuthEnforce, a token mapped to a role
// that has no tools once toolsets and read-only mode apply. Warnings are
// configuration the operator should look at but that does not stop the server:
// unknown tool names in ROLES_TO_TOOLS.
func New(cfg Config, catalogue []Tool, opts Options) (*Policy, []string, error) {
	limiter, err := NewLimiter(opts.Rate.Enabled, opts.Rate.RPS, opts.Rate.Burst)
	if err != nil {
		return nil, nil, err
	}
	p := &Policy{
		tools:    make(map[string]Tool, len(catalogue)),
		roles:    make(map[string]map[string]bool),
		tokens:   cfg.tokens,
		readOnly: opts.ReadOnly,
		enforce:  opts.AuthEnforce,
		limiter:  limiter,
		failOpen: opts.FailOpenReads,
	}
	if opts.Rate.Enabled {
		p.buckets = opts.Buckets
	}
	for _, t := range catalogue {
		if err := checkTool(t); err != nil {
			return nil, nil, err
		}
		if _, dup := p.tools[t.Name]; dup {
			return nil, nil, fmt.Errorf("tool %q: listed twice", t.Name)
		}
		p.tools[t.Name] = t
		p.names = append(p.names, t.Name)
	}
	slices.Sort(p.names)
	if p.enabled, p.toolsets, err = selectTools(catalogue, opts); err != nil {
		return nil, nil, err
	}

	for _, level := range []Level{LevelRead, LevelOps, LevelAdmin} {
		set := make(map[string]bool)
		for _, t := range catalogue {
			if t.Level <= level {
				set[t.Name] = true
			}
		}
		p.roles[level.String()] = set
	}

	var warnings []string
	for _, role := range sortedKeys(cfg.roles) {
		set := make(map[string]bool)
		var unknown []string
		for _, name := range cfg.roles[role] {
			switch _, known := p.tools[name]; {
			case name == wildcard:
				for _, n := range p.names {
					set[n] = true
				}
			case known:
				set[name] = true
			default:
				unknown = append(unknown, display(name))
			}
		}
		p.roles[role] = set
		if len(unknown) > 0 {
			warnings = append(warnings, fmt.Sprintf(
				"%s: role %s lists unknown tools %s (ignored); known tools: %s",
				cfg.rolesFrom, display(role), strings.Join(unknown, ", "), strings.Join(p.names, ", ")))
		}
	}

	var problems []string
	for i, e := range cfg.tokens {
		if !p.enforce || len(p.Allowed(e.role)) > 0 {
			continue
		}
		var why string
		switch _, ok := p.roles[e.role]; {
		case !ok:
			why = "no tools: there is no such role"
		case p.readOnly:
			why = "no read-only tools among the enabled toolsets, and read-only mode is on"
		default:
			why = "no tools among the enabled toolsets (VSPHERE_TOOLSETS)"
		}
		problems = append(problems, fmt.Sprintf(
			"%s: entry %d maps to role %s, which has %s; roles: %s",
			cfg.tokensFrom, i+1, display(e.role), why, strings.Join(displayAll(sortedKeys(p.roles)), ", ")))
	}
	if len(problems) > 0 {
		return nil, warnings, errors.New(strings.Join(problems, "\n"))
	}
	return p, warnings, nil
}

// checkTool refuses a catalogue entry that would put a tool in the wrong role.
func checkTool(t Tool) error {
	switch {
	case t.Name == "" || t.Name == wildcard:
		return fmt.Errorf("tool %q: invalid name", t.Name)
	case t.Level < LevelRead || t.Level > LevelAdmin:
		return fmt.Errorf("tool %q: level not set", t.Name)
	case t.Level == LevelRead && !t.ReadOnly:
		// Security: the read role must never reach a tool that changes anything.
		return fmt.Errorf("tool %q: level read but not read-only", t.Name)
	case t.ReadOnly && (t.Destructive || t.Confirm):
		return fmt.Errorf("tool %q: read-only but destructive or needing confirmation", t.Name)
	case t.ConfirmIf && !t.Confirm:
		return fmt.Errorf("tool %q: confirmation in some states only, but no confirmation", t.Name)
	}
	return nil
}

// Resolve returns the identity of the caller presenting token.
//
// With AuthEnforce, an empty token yields [ErrMissingToken] and a token matching no
// key yields an error wrapping [ErrUnknownToken] and naming the token's fingerprint.
// Without it, every caller is RoleUnrestricted and Enforced is false.
//
// Security: the look-up takes the same time whichever key matches, or none.
func (p *Policy) Resolve(token string) (Identity, error) {
	fp := Fingerprint(token)
	if !p.enforce {
		return Identity{Role: RoleUnrestricted, TokenFP: fp}, nil
	}
	if token == "" {
		return Identity{}, ErrMissingToken
	}
	role, ok := lookupRole(p.tokens, token)
	if !ok {
		return Identity{}, fmt.Errorf("token %s: %w", fp, ErrUnknownToken)
	}
	return Identity{Role: role, TokenFP: fp, Enforced: true}, nil
}

// may reports whether role may list and call the tool named name: it exists, is
// enabled, is in the role (when enforced) and passes read-only mode. It is the
// static part of [Policy.Decide].
func (p *Policy) may(role, name string) bool {
	t, ok := p.tools[name]
	return ok && p.enabled[name] && (!p.enforce || p.roles[role][name]) && (!p.readOnly || t.ReadOnly)
}

// Allowed returns, sorted, the names of the tools role may list and call: enabled
// by the toolsets, in the role, and read-only under read-only mode. An unknown role
// gets an empty, non-nil slice.
func (p *Policy) Allowed(role string) []string {
	names := make([]string, 0, len(p.names))
	for _, n := range p.names {
		if p.may(role, n) {
			names = append(names, n)
		}
	}
	return names
}

// Tool returns the catalogue entry named name, so callers can ask whether a tool
// needs confirmation.
func (p *Policy) Tool(name string) (Tool, bool) {
	t, ok := p.tools[name]
	return t, ok
}

// Describe returns what id may do.
func (p *Policy) Describe(id Identity) Access {
	return Access{
		Role:     id.Role,
		TokenFP:  id.TokenFP,
		Enforced: id.Enforced,
		ReadOnly: p.readOnly,
		Toolsets: slices.Clone(p.toolsets),
		Tools:    p.Allowed(id.Role),
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func displayAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = display(n)
	}
	return out
}
