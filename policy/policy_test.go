package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testCatalogue mirrors the kinds of the product's tools.
var testCatalogue = []Tool{
	{Name: "list_vms", ReadOnly: true, Level: LevelRead},
	{Name: "get_vm_details", ReadOnly: true, Level: LevelRead},
	{Name: "whoami", ReadOnly: true, Level: LevelRead},
	{Name: "power_on_vm", Level: LevelOps},
	{Name: "power_off_vm", Destructive: true, Level: LevelOps},
	{Name: "create_vm_snapshot", Level: LevelOps},
	{Name: "revert_vm_snapshot", Destructive: true, Confirm: true, Level: LevelOps},
	{Name: "delete_vm", Destructive: true, Confirm: true, Level: LevelAdmin},
	{Name: "modify_vm_resources", Destructive: true, Confirm: true, Level: LevelAdmin},
}

var (
	readTools  = []string{"get_vm_details", "list_vms", "whoami"}
	opsTools   = []string{"create_vm_snapshot", "get_vm_details", "list_vms", "power_off_vm", "power_on_vm", "revert_vm_snapshot", "whoami"}
	adminTools = []string{"create_vm_snapshot", "delete_vm", "get_vm_details", "list_vms", "modify_vm_resources", "power_off_vm", "power_on_vm", "revert_vm_snapshot", "whoami"}
)

func newPolicy(t *testing.T, tokens, roles string, opts Options) (*Policy, []string) {
	t.Helper()
	cfg, err := ParseConfig(tokens, roles)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	p, warnings, err := New(cfg, testCatalogue, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, warnings
}

func TestDefaultRolesAreCumulative(t *testing.T) {
	p, warnings := newPolicy(t, "", "", Options{AuthEnforce: true})
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	want := map[string][]string{
		RoleRead:  readTools,
		RoleOps:   opsTools,
		RoleAdmin: adminTools,
		"nobody":  {},
	}
	got := make(map[string][]string)
	for role := range want {
		got[role] = p.Allowed(role)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Allowed by role (-want +got):\n%s", diff)
	}
	for _, pair := range [][2]string{{RoleRead, RoleOps}, {RoleOps, RoleAdmin}} {
		for _, name := range p.Allowed(pair[0]) {
			if p.Decide(pair[1], name) != Allowed {
				t.Errorf("%s may call %s but %s may not", pair[0], name, pair[1])
			}
		}
	}
}

func TestRolesToTools(t *testing.T) {
	p, warnings := newPolicy(t, "", `{
		"read": ["list_vms"],
		"operator": ["list_vms", "power_on_vm", "power_on_vm"],
		"root": ["*"],
		"auditor": ["whoami", "*"],
		"empty": []
	}`, Options{AuthEnforce: true})
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	want := map[string][]string{
		"read":     {"list_vms"}, // the configured role replaces the default of that name
		"ops":      opsTools,     // the others keep their default
		"admin":    adminTools,
		"operator": {"list_vms", "power_on_vm"},
		"root":     adminTools,
		"auditor":  adminTools,
		"empty":    {},
	}
	got := make(map[string][]string)
	for role := range want {
		got[role] = p.Allowed(role)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Allowed by role (-want +got):\n%s", diff)
	}
}

func TestNewWarnings(t *testing.T) {
	tokens := `{"` + tokAlice + `": "ghost", "` + hashedKey(tokBob) + `": "empty", "other-token-value": "ops"}`
	roles := `{"ops": ["list_vms", "power_on", "` + tokAlice + `"], "empty": []}`
	_, warnings := newPolicy(t, tokens, roles, Options{AuthEnforce: true})
	known := strings.Join(adminTools, ", ")
	want := []string{
		`ROLES_TO_TOOLS: role "ops" lists unknown tools "power_on", <hidden 22-character name> (ignored); known tools: ` + known,
		`TOKENS_TO_ROLES: entry 1 maps to role "ghost", which has no tools: no such role; roles: "admin", "empty", "ops", "read"`,
		`TOKENS_TO_ROLES: entry 2 maps to role "empty", which has no tools; roles: "admin", "empty", "ops", "read"`,
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, w := range warnings {
		assertNoSecret(t, w)
	}
}

func TestNewWarnsRoleEmptiedByReadOnly(t *testing.T) {
	_, warnings := newPolicy(t, `{"`+tokAlice+`": "powerer"}`, `{"powerer": ["power_on_vm"]}`,
		Options{AuthEnforce: true, ReadOnly: true})
	want := []string{`TOKENS_TO_ROLES: entry 1 maps to role "powerer", which has no read-only tools, and READ_ONLY is on; roles: "admin", "ops", "powerer", "read"`}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestNewRejectsBadCatalogue(t *testing.T) {
	listVMs := testCatalogue[0]
	for _, tt := range []struct {
		name      string
		catalogue []Tool
		want      string
	}{
		{"no name", []Tool{{ReadOnly: true, Level: LevelRead}}, `tool "": invalid name`},
		{"wildcard name", []Tool{{Name: "*", ReadOnly: true, Level: LevelRead}}, `tool "*": invalid name`},
		{"no level", []Tool{{Name: "list_vms", ReadOnly: true}}, `tool "list_vms": level not set`},
		{"write tool at read level", []Tool{{Name: "power_on_vm", Level: LevelRead}}, `tool "power_on_vm": level read but not read-only`},
		{"read-only and destructive", []Tool{{Name: "list_vms", ReadOnly: true, Destructive: true, Level: LevelRead}}, `tool "list_vms": read-only but destructive or needing confirmation`},
		{"twice", []Tool{listVMs, listVMs}, `tool "list_vms": listed twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := New(Config{}, tt.catalogue, Options{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("New(%+v) error = %v, want %s", tt.catalogue, err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	tokens := `{"` + tokAlice + `": "ops", "` + hashedKey(tokBob) + `": "read"}`
	enforced, _ := newPolicy(t, tokens, "", Options{AuthEnforce: true})
	open, _ := newPolicy(t, tokens, "", Options{})
	for _, tt := range []struct {
		name    string
		p       *Policy
		token   string
		want    Identity
		wantErr error
	}{
		{"plaintext key", enforced, tokAlice, Identity{Role: "ops", TokenFP: Fingerprint(tokAlice), Enforced: true}, nil},
		{"hashed key", enforced, tokBob, Identity{Role: "read", TokenFP: Fingerprint(tokBob), Enforced: true}, nil},
		{"missing token", enforced, "", Identity{}, ErrMissingToken},
		{"unknown token", enforced, "mallory-Pw2xY7zQ4rT9", Identity{}, ErrUnknownToken},
		{"hashed key is not a token", enforced, hashedKey(tokBob), Identity{}, ErrUnknownToken},
		{"not enforced", open, "", Identity{Role: RoleUnrestricted}, nil},
		{"not enforced keeps the fingerprint", open, tokAlice, Identity{Role: RoleUnrestricted, TokenFP: Fingerprint(tokAlice)}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Resolve(tt.token)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Resolve(%q) error = %v, want %v", tt.token, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve(%q) (-want +got):\n%s", tt.token, diff)
			}
			if err == nil {
				return
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q contains the token", err)
			}
			variables := []string{"VSPHERE_MCP_TOKEN", "AUTH_ENFORCE"}
			if errors.Is(err, ErrUnknownToken) {
				variables = []string{"VSPHERE_MCP_TOKEN", "TOKENS_TO_ROLES", "POLICY_FILE"}
			}
			for _, v := range variables {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
		})
	}
	_, err := enforced.Resolve("mallory-Pw2xY7zQ4rT9")
	if want := "token " + Fingerprint("mallory-Pw2xY7zQ4rT9") + ": unknown token"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("unknown token error = %q, want it to start with %q", err, want)
	}
}

func TestDecide(t *testing.T) {
	for _, tt := range []struct {
		name       string
		opts       Options
		role, tool string
		want       Decision
	}{
		{"read may list", Options{AuthEnforce: true}, "read", "list_vms", Allowed},
		{"read may not power on", Options{AuthEnforce: true}, "read", "power_on_vm", DeniedRole},
		{"ops may power on", Options{AuthEnforce: true}, "ops", "power_on_vm", Allowed},
		{"ops may not delete", Options{AuthEnforce: true}, "ops", "delete_vm", DeniedRole},
		{"admin may delete", Options{AuthEnforce: true}, "admin", "delete_vm", Allowed},
		{"unknown role", Options{AuthEnforce: true}, "ghost", "list_vms", DeniedRole},
		{"unknown tool", Options{AuthEnforce: true}, "admin", "format_datastore", DeniedRole},
		{"read-only mode refuses admin writes", Options{AuthEnforce: true, ReadOnly: true}, "admin", "delete_vm", DeniedReadOnly},
		{"read-only mode keeps reads", Options{AuthEnforce: true, ReadOnly: true}, "read", "list_vms", Allowed},
		{"role is checked before read-only", Options{AuthEnforce: true, ReadOnly: true}, "read", "delete_vm", DeniedRole},
		{"not enforced allows any role", Options{}, RoleUnrestricted, "delete_vm", Allowed},
		{"not enforced still read-only", Options{ReadOnly: true}, RoleUnrestricted, "power_on_vm", DeniedReadOnly},
		{"not enforced, unknown tool", Options{}, RoleUnrestricted, "format_datastore", DeniedRole},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newPolicy(t, "", "", tt.opts)
			if got := p.Decide(tt.role, tt.tool); got != tt.want {
				t.Errorf("Decide(%q, %q) with %+v = %q, want %q", tt.role, tt.tool, tt.opts, got, tt.want)
			}
		})
	}
}

func TestReadOnlyModeHidesWriteTools(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		role string
	}{
		{Options{AuthEnforce: true, ReadOnly: true}, RoleAdmin},
		{Options{ReadOnly: true}, RoleUnrestricted},
	} {
		p, _ := newPolicy(t, "", "", tt.opts)
		if diff := cmp.Diff(readTools, p.Allowed(tt.role)); diff != "" {
			t.Errorf("Allowed(%q) with %+v (-want +got):\n%s", tt.role, tt.opts, diff)
		}
	}
}

func TestDescribe(t *testing.T) {
	p, _ := newPolicy(t, `{"`+tokAlice+`": "read"}`, "", Options{AuthEnforce: true, ReadOnly: true})
	id, err := p.Resolve(tokAlice)
	if err != nil {
		t.Fatal(err)
	}
	want := Access{Role: "read", TokenFP: Fingerprint(tokAlice), Enforced: true, ReadOnly: true, Tools: readTools}
	if diff := cmp.Diff(want, p.Describe(id)); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}

func TestDecisionStrings(t *testing.T) {
	var got []string
	for _, d := range Decisions() {
		got = append(got, string(d))
	}
	want := []string{"allowed", "denied_role", "denied_read_only", "denied_rate", "needs_confirmation", "invalid_args"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decision strings (-want +got):\n%s", diff)
	}
}

func TestToolLookup(t *testing.T) {
	p, _ := newPolicy(t, "", "", Options{})
	if got, ok := p.Tool("delete_vm"); !ok || !got.Confirm {
		t.Errorf("Tool(delete_vm) = %+v, %v; want a tool needing confirmation", got, ok)
	}
	if _, ok := p.Tool("nope"); ok {
		t.Error("Tool(nope) found a tool")
	}
}
