package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testCatalogue mirrors the kinds of the product's tools.
var testCatalogue = []Tool{
	{Name: "list_vms", Toolset: "inventory", ReadOnly: true, Level: LevelRead},
	{Name: "get_vm_details", Toolset: "inventory", ReadOnly: true, Level: LevelRead},
	{Name: "whoami", Toolset: "access", ReadOnly: true, Level: LevelRead},
	{Name: "power_on_vm", Toolset: "power", Level: LevelOps},
	{Name: "power_off_vm", Toolset: "power", Destructive: true, Level: LevelOps},
	{Name: "create_vm_snapshot", Toolset: "snapshots", Level: LevelOps},
	{Name: "revert_vm_snapshot", Toolset: "snapshots", Destructive: true, Confirm: true, Level: LevelOps},
	{Name: "delete_vm", Toolset: "lifecycle", Destructive: true, Confirm: true, Level: LevelAdmin},
	{Name: "modify_vm_resources", Toolset: "lifecycle", Destructive: true, Confirm: true, Level: LevelAdmin},
	// Not in the default toolsets.
	{Name: "list_events", Toolset: "observability", ReadOnly: true, Level: LevelRead},
	{Name: "acknowledge_alarm", Toolset: "observability", Level: LevelOps},
}

// withToolsets fills in the product's toolset defaults: what tools/ passes.
func withToolsets(o Options) Options {
	if o.DefaultToolsets == nil {
		o.DefaultToolsets = []string{"inventory", "power", "snapshots", "lifecycle"}
	}
	if o.AlwaysToolsets == nil {
		o.AlwaysToolsets = []string{"access"}
	}
	return o
}

var (
	readTools  = []string{"get_vm_details", "list_vms", "whoami"}
	opsTools   = []string{"create_vm_snapshot", "get_vm_details", "list_vms", "power_off_vm", "power_on_vm", "revert_vm_snapshot", "whoami"}
	adminTools = []string{"create_vm_snapshot", "delete_vm", "get_vm_details", "list_vms", "modify_vm_resources", "power_off_vm", "power_on_vm", "revert_vm_snapshot", "whoami"}
	allTools   = []string{"acknowledge_alarm", "create_vm_snapshot", "delete_vm", "get_vm_details", "list_events", "list_vms", "modify_vm_resources", "power_off_vm", "power_on_vm", "revert_vm_snapshot", "whoami"}
)

func newPolicy(t *testing.T, tokens, roles string, opts Options) (*Policy, []string) {
	t.Helper()
	cfg, err := ParseConfig(tokens, roles)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	p, warnings, err := New(cfg, testCatalogue, withToolsets(opts))
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
			if !p.may(pair[1], name) {
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
	tokens := `{"other-token-value": "ops"}`
	roles := `{"ops": ["list_vms", "power_on", "` + tokAlice + `"], "empty": []}`
	_, warnings := newPolicy(t, tokens, roles, Options{AuthEnforce: true})
	known := strings.Join(allTools, ", ")
	want := []string{
		`ROLES_TO_TOOLS: role "ops" lists unknown tools "power_on", <hidden 22-character name> (ignored); known tools: ` + known,
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, w := range warnings {
		assertNoSecret(t, w)
	}
}

// TestNewRefusesTokensWithoutTools: a token that would get no tool at all is a
// configuration that cannot work, so it stops the server, naming why.
func TestNewRefusesTokensWithoutTools(t *testing.T) {
	for _, tt := range []struct {
		name, tokens, roles string
		opts                Options
		want                []string
	}{
		{"unknown role and empty role", `{"` + tokAlice + `": "ghost", "` + hashedKey(tokBob) + `": "empty"}`, `{"empty": []}`, Options{AuthEnforce: true}, []string{
			`TOKENS_TO_ROLES: entry 1 maps to role "ghost", which has no tools: there is no such role; roles: "admin", "empty", "ops", "read"`,
			`TOKENS_TO_ROLES: entry 2 maps to role "empty", which has no tools among the enabled toolsets (VSPHERE_TOOLSETS); roles: "admin", "empty", "ops", "read"`,
		}},
		{"emptied by read-only", `{"` + tokAlice + `": "powerer"}`, `{"powerer": ["power_on_vm"]}`, Options{AuthEnforce: true, ReadOnly: true}, []string{
			`TOKENS_TO_ROLES: entry 1 maps to role "powerer", which has no read-only tools among the enabled toolsets, and read-only mode is on; roles: "admin", "ops", "powerer", "read"`,
		}},
		{"emptied by toolsets", `{"` + tokAlice + `": "powerer"}`, `{"powerer": ["power_on_vm"]}`, Options{AuthEnforce: true, Toolsets: []string{"inventory"}}, []string{
			`TOKENS_TO_ROLES: entry 1 maps to role "powerer", which has no tools among the enabled toolsets (VSPHERE_TOOLSETS); roles: "admin", "ops", "powerer", "read"`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig(tt.tokens, tt.roles)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = New(cfg, testCatalogue, withToolsets(tt.opts))
			if err == nil {
				t.Fatal("New accepted it")
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			assertNoSecret(t, err.Error())
		})
	}
	// Without AUTH_ENFORCE the tokens do not matter.
	cfg, _ := ParseConfig(`{"`+tokAlice+`": "ghost"}`, "")
	if _, _, err := New(cfg, testCatalogue, withToolsets(Options{})); err != nil {
		t.Errorf("not enforced: %v", err)
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
			_, _, err := New(Config{}, tt.catalogue, withToolsets(Options{}))
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

func TestDecideGate(t *testing.T) {
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
		{"unknown tool", Options{AuthEnforce: true}, "admin", "format_datastore", UnknownTool},
		{"tool outside the toolsets", Options{AuthEnforce: true}, "admin", "list_events", DeniedToolset},
		{"toolset enabled", Options{AuthEnforce: true, Toolsets: []string{"observability"}}, "read", "list_events", Allowed},
		{"toolset enabled, still the role", Options{AuthEnforce: true, Toolsets: []string{"observability"}}, "read", "acknowledge_alarm", DeniedRole},
		{"single tool enabled", Options{AuthEnforce: true, Tools: []string{"list_events"}}, "read", "list_events", Allowed},
		{"excluded tool", Options{AuthEnforce: true, ExcludeTools: []string{"delete_vm"}}, "admin", "delete_vm", DeniedToolset},
		{"whoami is always on", Options{AuthEnforce: true, Toolsets: []string{"none"}}, "read", "whoami", Allowed},
		{"read-only mode refuses admin writes", Options{AuthEnforce: true, ReadOnly: true}, "admin", "delete_vm", DeniedReadOnly},
		{"read-only wins over the toolsets", Options{AuthEnforce: true, ReadOnly: true, Toolsets: []string{"all"}}, "admin", "acknowledge_alarm", DeniedReadOnly},
		{"read-only mode keeps reads", Options{AuthEnforce: true, ReadOnly: true}, "read", "list_vms", Allowed},
		{"role is checked before read-only", Options{AuthEnforce: true, ReadOnly: true}, "read", "delete_vm", DeniedRole},
		{"not enforced allows any role", Options{}, RoleUnrestricted, "delete_vm", Allowed},
		{"not enforced still read-only", Options{ReadOnly: true}, RoleUnrestricted, "power_on_vm", DeniedReadOnly},
		{"not enforced still toolsets", Options{}, RoleUnrestricted, "list_events", DeniedToolset},
		{"not enforced, unknown tool", Options{}, RoleUnrestricted, "format_datastore", UnknownTool},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newPolicy(t, "", "", tt.opts)
			v := p.Decide(Call{Tool: tt.tool, Identity: Identity{Role: tt.role}})
			if v.Decision != tt.want {
				t.Errorf("Decide(%q, %q) with %+v = %q (%s), want %q", tt.role, tt.tool, tt.opts, v.Decision, v.Reason, tt.want)
			}
			if (v.Reason == "") != v.Allowed() {
				t.Errorf("reason %q for decision %s", v.Reason, v.Decision)
			}
			if got := slices.Contains(p.Allowed(tt.role), tt.tool); got != v.Allowed() {
				t.Errorf("Allowed(%q) lists %s = %v, but Decide says %s", tt.role, tt.tool, got, v.Decision)
			}
		})
	}
}

// TestDecideStages walks the later stages of a call: audit health, argument
// validation and confirmation, each produced by Decide alone.
func TestDecideStages(t *testing.T) {
	p, _ := newPolicy(t, "", "", Options{})
	id := Identity{Role: RoleUnrestricted}
	broken := errors.New("disk full")
	for _, tt := range []struct {
		name string
		call Call
		want Decision
	}{
		{"no identity", Call{Tool: "list_vms", IdentityErr: errors.New("no token")}, DeniedAuth},
		{"transport: no token", Call{Tool: "list_vms", Refused: RefusedAuth, IdentityErr: errors.New("no token")}, DeniedAuth},
		{"transport: foreign origin, valid identity", Call{Tool: "list_vms", Identity: id, Refused: RefusedOrigin}, DeniedOrigin},
		{"transport: at capacity", Call{Tool: "initialize", Identity: id, Refused: RefusedCapacity}, DeniedCapacity},
		{"transport: not a valid request", Call{Identity: id, Refused: RefusedRequest}, InvalidRequest},
		{"transport: an unknown kind is an invalid request", Call{Identity: id, Refused: Refusal(99)}, InvalidRequest},
		{"transport refusal before the tool rules", Call{Tool: "format_datastore", Identity: id, Refused: RefusedRequest}, InvalidRequest},
		{"audit broken refuses a write", Call{Tool: "power_on_vm", Identity: id, AuditErr: broken}, DeniedAudit},
		{"audit broken keeps reads", Call{Tool: "list_vms", Identity: id, AuditErr: broken}, Allowed},
		{"invalid arguments", Call{Tool: "list_vms", Identity: id, ArgsInvalid: true}, InvalidArgs},
		{"confirm tool before its handler asks", Call{Tool: "delete_vm", Identity: id}, Allowed},
		{"unconfirmed", Call{Tool: "delete_vm", Identity: id, Confirmation: Unconfirmed}, NeedsConfirmation},
		{"confirmed", Call{Tool: "delete_vm", Identity: id, Confirmation: Confirmed}, Allowed},
		{"approved", Call{Tool: "delete_vm", Identity: id, Confirmation: Approved}, Allowed},
		{"declined", Call{Tool: "delete_vm", Identity: id, Confirmation: Declined}, NeedsConfirmation},
		{"cancelled", Call{Tool: "delete_vm", Identity: id, Confirmation: Cancelled}, NeedsConfirmation},
		{"unanswered", Call{Tool: "delete_vm", Identity: id, Confirmation: Unanswered}, NeedsConfirmation},
		{"approval invalid", Call{Tool: "delete_vm", Identity: id, Confirmation: ApprovalInvalid}, NeedsConfirmation},
		{"a tool without the flag ignores confirmation", Call{Tool: "power_on_vm", Identity: id, Confirmation: Unconfirmed}, Allowed},
		{"invalid arguments before confirmation", Call{Tool: "delete_vm", Identity: id, ArgsInvalid: true, Confirmation: Unconfirmed}, InvalidArgs},
		{"dry run of a tool without the flag", Call{Tool: "power_on_vm", Identity: id, Confirmation: DryRunAsked}, DryRun},
		{"dry run of a confirm tool", Call{Tool: "delete_vm", Identity: id, Confirmation: DryRunAsked}, DryRun},
		{"invalid arguments before a dry run", Call{Tool: "power_on_vm", Identity: id, ArgsInvalid: true, Confirmation: DryRunAsked}, InvalidArgs},
		{"no confirmation needed, said by an always-confirm tool", Call{Tool: "delete_vm", Identity: id, Confirmation: NotNeeded}, NeedsConfirmation},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if v := p.Decide(tt.call); v.Decision != tt.want {
				t.Errorf("Decide(%+v) = %s (%s), want %s", tt.call, v.Decision, v.Reason, tt.want)
			}
		})
	}
}

// TestConditionalConfirmation: only a ConfirmIf tool may say that its
// change needs no confirmation, and such a tool must also take one.
func TestConditionalConfirmation(t *testing.T) {
	cat := append(slices.Clone(testCatalogue), Tool{Name: "unmount_iso", Toolset: "devices", Destructive: true, Confirm: true, ConfirmIf: true, Level: LevelOps})
	p, _, err := New(Config{}, cat, withToolsets(Options{Toolsets: []string{"all"}}))
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Role: RoleUnrestricted}
	for c, want := range map[Confirmation]Decision{NotNeeded: Allowed, Unconfirmed: NeedsConfirmation, Confirmed: Allowed, DryRunAsked: DryRun} {
		if v := p.Decide(Call{Tool: "unmount_iso", Identity: id, Confirmation: c}); v.Decision != want {
			t.Errorf("confirmation %d: %s, want %s", c, v.Decision, want)
		}
	}
	bad := append(slices.Clone(testCatalogue), Tool{Name: "x", Toolset: "devices", ConfirmIf: true, Level: LevelOps})
	if _, _, err := New(Config{}, bad, withToolsets(Options{})); err == nil {
		t.Error("a ConfirmIf tool without Confirm was accepted")
	}
}

// TestDecideChargesEveryCall: the bucket is charged before any other rule, so a
// refused call costs budget too, and a later stage (Charged) costs none.
func TestDecideChargesEveryCall(t *testing.T) {
	p, _ := newPolicy(t, `{"`+tokAlice+`": "read"}`, "", Options{AuthEnforce: true, Rate: Rate{Enabled: true, RPS: 0.001, Burst: 3}})
	id, err := p.Resolve(tokAlice)
	if err != nil {
		t.Fatal(err)
	}
	var got []Decision
	for _, tool := range []string{"power_on_vm", "format_datastore", "list_vms", "list_vms"} {
		got = append(got, p.Decide(Call{Tool: tool, Identity: id}).Decision)
	}
	want := []Decision{DeniedRole, UnknownTool, Allowed, DeniedRate}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	v := p.Decide(Call{Tool: "list_vms", Identity: id})
	if v.RetryAfter <= 0 || !strings.Contains(v.Reason, "retry in") {
		t.Errorf("rate refusal %+v lacks its wait", v)
	}
	if v := p.Decide(Call{Tool: "list_vms", Identity: id, Charged: true}); !v.Allowed() {
		t.Errorf("a later stage of an admitted call was refused: %+v", v)
	}
}

func TestUnknownToolSuggests(t *testing.T) {
	p, _ := newPolicy(t, "", "", Options{})
	for _, tt := range []struct{ name, want string }{
		{"list_vm", "Did you mean list_vms?"},
		{"poweron_vm", "Did you mean power_on_vm"},
		{"get_vm_detail", "Did you mean get_vm_details?"},
		{"list_event", "tools/list"}, // not enabled: not suggested
		{strings.Repeat("\xff", 6_000_000), "tools/list"},
	} {
		v := p.Decide(Call{Tool: tt.name, Identity: Identity{Role: RoleUnrestricted}})
		if v.Decision != UnknownTool || !strings.Contains(v.Reason, tt.want) {
			t.Errorf("Decide(%.20q) = %s %q, want it to contain %q", tt.name, v.Decision, v.Reason, tt.want)
		}
		if len(v.Reason) > 400 {
			t.Errorf("reason of %d bytes for a %d-byte name", len(v.Reason), len(tt.name))
		}
	}
}

func TestToolsetSelectionErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
		want []string
	}{
		{"unknown toolset", Options{Toolsets: []string{"inventory", "observabilty"}}, []string{`unknown toolset "observabilty"`, "toolsets: access, inventory, lifecycle, observability, power, snapshots, or all, default, none"}},
		{"unknown tool", Options{Tools: []string{"list_vm"}}, []string{`VSPHERE_TOOLS (--tools): unknown tool "list_vm" (did you mean list_vms?)`}},
		{"unknown excluded tool", Options{ExcludeTools: []string{"nope"}}, []string{`VSPHERE_EXCLUDE_TOOLS (--exclude-tools): unknown tool "nope"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := New(Config{}, testCatalogue, withToolsets(tt.opts))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestToolsetMembership(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
		want []string
		sets []string
	}{
		{"default", Options{}, adminTools, []string{"access", "inventory", "lifecycle", "power", "snapshots"}},
		{"all", Options{Toolsets: []string{"all"}}, allTools, []string{"access", "inventory", "lifecycle", "observability", "power", "snapshots"}},
		{"one set", Options{Toolsets: []string{"observability"}}, []string{"acknowledge_alarm", "list_events", "whoami"}, []string{"access", "observability"}},
		{"default plus one tool", Options{Toolsets: []string{"default"}, Tools: []string{"list_events"}}, append(slices.Clone(adminTools), "list_events"), []string{"access", "inventory", "lifecycle", "observability", "power", "snapshots"}},
		{"tools only", Options{Toolsets: []string{"none"}, Tools: []string{"list_vms"}}, []string{"list_vms", "whoami"}, []string{"access", "inventory"}},
		{"exclusion wins", Options{Toolsets: []string{"all"}, Tools: []string{"list_events"}, ExcludeTools: []string{"list_events", "whoami"}}, []string{"acknowledge_alarm", "create_vm_snapshot", "delete_vm", "get_vm_details", "list_vms", "modify_vm_resources", "power_off_vm", "power_on_vm", "revert_vm_snapshot"}, nil},
		{"blank entries are ignored", Options{Toolsets: []string{" ", ""}}, adminTools, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newPolicy(t, "", "", tt.opts)
			got := p.Allowed(RoleUnrestricted)
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("enabled tools (-want +got):\n%s", diff)
			}
			if tt.sets != nil {
				if diff := cmp.Diff(tt.sets, p.Describe(Identity{Role: RoleUnrestricted}).Toolsets); diff != "" {
					t.Errorf("enabled toolsets (-want +got):\n%s", diff)
				}
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
	want := Access{Role: "read", TokenFP: Fingerprint(tokAlice), Enforced: true, ReadOnly: true,
		Toolsets: []string{"access", "inventory", "lifecycle", "power", "snapshots"}, Tools: readTools}
	if diff := cmp.Diff(want, p.Describe(id)); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}

func TestDecisionStrings(t *testing.T) {
	var got []string
	for _, d := range Decisions() {
		got = append(got, string(d))
	}
	want := []string{"allowed", "denied_auth", "denied_origin", "denied_capacity", "invalid_request", "denied_role", "denied_rate",
		"unknown_tool", "denied_toolset", "denied_read_only", "denied_audit", "invalid_args", "needs_confirmation", "dry_run", "denied_state"}
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

// TestDecideTransportRefusals: a transport refusal gets its own decision
// whatever the identity, and is charged to the token's bucket unless the
// transport says it limits refusals itself (Charged).
func TestDecideTransportRefusals(t *testing.T) {
	p, _ := newPolicy(t, `{"`+tokAlice+`": "read"}`, "", Options{AuthEnforce: true, Rate: Rate{Enabled: true, RPS: 0.001, Burst: 2}})
	id, err := p.Resolve(tokAlice)
	if err != nil {
		t.Fatal(err)
	}
	var got []Decision
	for _, c := range []Call{
		{Tool: "list_vms", Identity: id, Refused: RefusedOrigin, Charged: true}, // limited by the transport: free
		{Identity: id, Refused: RefusedRequest},                                 // stdio: charged
		{Tool: "list_vms", Identity: id},                                        // the last token
		{Identity: id, Refused: RefusedRequest},                                 // over the limit
	} {
		got = append(got, p.Decide(c).Decision)
	}
	want := []Decision{DeniedOrigin, InvalidRequest, Allowed, DeniedRate}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

func TestCheckToken(t *testing.T) {
	for _, tt := range []struct {
		token string
		ok    bool
	}{
		{"", false}, {"Z", false}, {strings.Repeat("z", 15), false}, {strings.Repeat("ü", 15), false},
		{strings.Repeat("x", 16), true}, {tokAlice, true},
	} {
		err := CheckToken(tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("CheckToken(%d characters) = %v, want ok=%v", len([]rune(tt.token)), err, tt.ok)
		}
		if err != nil && (tt.token != "" && strings.Contains(err.Error(), tt.token) || !errors.Is(err, ErrShortToken)) {
			t.Errorf("CheckToken error %q quotes the token or is not ErrShortToken", err)
		}
	}
}
