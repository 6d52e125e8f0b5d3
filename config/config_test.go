package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultsComeFromTheTags(t *testing.T) {
	cfg, err := Load([]string{"--simulate"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Env
	got := strings.TrimSpace(fmt.Sprintln(e.APIMode, e.TimeoutS, e.Retries, e.BackoffS, e.AuthEnforce, e.ReadOnly, e.Toolsets, e.RateLimit, e.RateRPS, e.RateBurst,
		e.LogLevel, e.ApprovalTTLS, e.ServerHost, e.ServerPort, e.MCPPath, e.MaxBodyBytes, e.ReadTimeoutS, e.WriteTimeoutS, e.ShutdownTimeout, e.SessionIdleS,
		e.MaxSessionsPerToken, e.MaxConnections))
	want := "api 20 3 0.5 false false [all] true 5 10 info 600 127.0.0.1 8000 /mcp 1048576 30 600 30 1800 32 1024"
	if got != want {
		t.Errorf("defaults = %s\nwant       %s", got, want)
	}
	if cfg.Name != "stdio" {
		t.Errorf("no command = %q, want stdio", cfg.Name)
	}
	if e.AuthEnforce {
		t.Error("--simulate without a policy must not enforce tokens")
	}
	if cfg, _ := Load(nil, []string{"VCENTER_HOST=vc", "VCENTER_USER=u", "VCENTER_PASSWORD=p"}); !slices.Equal(cfg.Toolsets, []string{"default"}) {
		t.Errorf("toolsets without --simulate = %q, want the default set", cfg.Toolsets)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "every tool is allowed") {
		t.Errorf("warnings %q", cfg.Warnings)
	}
}

func TestFlagsOverrideTheEnvironment(t *testing.T) {
	environ := []string{"READ_ONLY=false", "VSPHERE_TOOLSETS=all", "VSPHERE_TOOLS=a", "VSPHERE_EXCLUDE_TOOLS=b", "LOG_FILE=/env.log"}
	for _, tt := range []struct {
		name string
		args []string
		want string // ReadOnly Toolsets Tools ExcludeTools LogFile Name Args
	}{
		{"no flags", []string{"--simulate"}, "false [all] [a] [b] /env.log stdio []"},
		{"before the command", []string{"--simulate", "--read-only", "--toolsets", "inventory,power", "--tools=list_vms", "--exclude-tools", "x,y", "--log-file", "/f.log", "tools"},
			"true [inventory power] [list_vms] [x y] /f.log tools []"},
		{"after the command", []string{"--simulate", "call", "list_vms", "--read-only", `{"limit":1}`}, "true [all] [a] [b] /env.log call [list_vms {\"limit\":1}]"},
		{"empty list means none", []string{"--simulate", "--toolsets="}, "false [none] [a] [b] /env.log stdio []"},
		{"-- ends the flags", []string{"--simulate", "call", "--", "--read-only"}, "false [all] [a] [b] /env.log call [--read-only]"},
		{"explicit stdio", []string{"--simulate", "stdio"}, "false [all] [a] [b] /env.log stdio []"},
		{"serve without --http is stdio", []string{"--simulate", "serve"}, "false [all] [a] [b] /env.log stdio []"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.args, environ)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(fmt.Sprintln(cfg.ReadOnly, cfg.Toolsets, cfg.Tools, cfg.ExcludeTools, cfg.LogFile, cfg.Name, cfg.Args))
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	cfg, err := Load([]string{"--simulate", "serve", "--http"}, nil)
	if err != nil || cfg.Name != "serve" || !cfg.HTTP {
		t.Errorf("serve --http = %+v, %v", cfg.Command, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--simulat"}, "-simulat"},
		{[]string{"--http"}, "--http goes with serve"},
		{[]string{"tools", "--key", "k"}, "--key goes with audit verify"},
		{[]string{"--toolsets"}, "flag needs an argument"},
	} {
		_, err := Load(tt.args, nil)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want a usage error containing %q", tt.args, err, tt.want)
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"tools", "--help"}} {
		if cfg, err := Load(args, nil); err != nil || cfg.Name != "help" {
			t.Errorf("Load(%q) = %q, %v; want help", args, cfg.Name, err)
		}
	}
}

// TestEveryProblemAtOnce: one run names every bad variable with its value
// (never a secret's), and a bad value's consequences are not reported again.
func TestEveryProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	emptyPw := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyPw, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-token-value-0001"
	_, err := Load(nil, []string{
		"VCENTER_HOST=https://vc.example.com/ui/",
		"VCENTER_PASSWORD_FILE=" + emptyPw,
		"VCENTER_CA_BUNDLE=" + notPEM,
		"TOKENS_TO_ROLES={\"" + secret + "\": 7}",
		"RATE_LIMIT_RPS=abc",
		"RATE_LIMIT_BURST=-1",
		"AUTH_ENFORCE=maybe",
		"VSPHERE_API_MODE=soap",
		"VCENTER_TIMEOUT_S=0",
		"LOG_LEVEL=loud",
		"APPROVAL_TTL_S=1",
		"VSPHERE_MCP_TOKEN=" + secret,
	})
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("Load = %v, want Problems", err)
	}
	var names []string
	for _, line := range p {
		name, _, _ := strings.Cut(line, "=")
		name, _, _ = strings.Cut(name, " ")
		name, _, _ = strings.Cut(name, ":")
		names = append(names, name)
		if strings.Contains(line, secret) {
			t.Errorf("a problem quotes a secret: %s", line)
		}
	}
	slices.Sort(names)
	want := []string{"APPROVAL_TTL_S", "AUTH_ENFORCE", "LOG_LEVEL", "RATE_LIMIT_BURST", "RATE_LIMIT_RPS", "TOKENS_TO_ROLES",
		"VCENTER_CA_BUNDLE", "VCENTER_HOST", "VCENTER_PASSWORD_FILE", "VCENTER_TIMEOUT_S", "VCENTER_USER", "VSPHERE_API_MODE"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("one problem per variable (-want +got):\n%s\nproblems:\n%s", diff, p)
	}
	for _, w := range []string{`RATE_LIMIT_RPS="abc": not a number`, `AUTH_ENFORCE="maybe": not true or false`, "RATE_LIMIT_BURST=-1",
		`VSPHERE_API_MODE="soap"`, "VCENTER_PASSWORD_FILE=" + emptyPw + " is empty", "holds no PEM certificate", "VCENTER_TIMEOUT_S=0"} {
		if !strings.Contains(p.Error(), w) {
			t.Errorf("problems lack %q:\n%s", w, p)
		}
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	const token = "tok-51aa-7c3e9f02d4"
	cfg, err := Load([]string{"--simulate"}, []string{"VCENTER_PASSWORD=pw-9d2c", "VSPHERE_MCP_TOKEN=" + token, `TOKENS_TO_ROLES={"` + token + `":"read"}`})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VCenterPassword != "pw-9d2c" || cfg.Token != token {
		t.Fatal("secrets not read")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, cfg); strings.Contains(s, "pw-9d2c") || strings.Contains(s, token) {
			t.Errorf("%s prints a secret: %s", verb, s)
		}
	}
}

func TestPasswordFile(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(nil, []string{"VCENTER_HOST=vc", "VCENTER_USER=u", "VCENTER_PASSWORD_FILE=" + pw})
	if err != nil || cfg.VCenterPassword != "from-file" {
		t.Errorf("password file: %v", err)
	}
	_, err = Load(nil, []string{"VCENTER_HOST=vc", "VCENTER_USER=u", "VCENTER_PASSWORD_FILE=" + pw, "VCENTER_PASSWORD=x"})
	if err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("both: %v", err)
	}
}

// TestShortTokensAreRefused: a token shorter than 16 characters stops the
// server at start, naming the variable and never quoting the token, whether
// it is the launch token or a plain key of the token map.
func TestShortTokensAreRefused(t *testing.T) {
	const short, long = "hunter2-e", "long-enough-token-1f8a"
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"tokens_to_roles": {"`+short+`": "admin"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		environ []string
		want    string
	}{
		{"launch token", []string{"VSPHERE_MCP_TOKEN=" + short, `TOKENS_TO_ROLES={"` + long + `":"read"}`},
			"VSPHERE_MCP_TOKEN is shorter than 16 characters: use a random token of at least 16"},
		{"plain key of TOKENS_TO_ROLES", []string{"VSPHERE_MCP_TOKEN=" + long, `TOKENS_TO_ROLES={"` + long + `":"read","` + short + `":"admin"}`},
			"TOKENS_TO_ROLES: entry 2 at offset 45: token shorter than 16 characters"},
		{"plain key of POLICY_FILE", []string{"VSPHERE_MCP_TOKEN=" + long, "POLICY_FILE=" + policyFile},
			"POLICY_FILE " + policyFile + ": tokens_to_roles: entry 1 at offset 34: token shorter than 16 characters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]string{"--simulate"}, tt.environ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want a problem containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the problem quotes the token: %v", err)
			}
		})
	}
	if _, err := Load([]string{"--simulate"}, []string{"VSPHERE_MCP_TOKEN=" + long, `TOKENS_TO_ROLES={"` + long + `":"read"}`}); err != nil {
		t.Errorf("a 22-character token: %v", err)
	}
}

// TestServeHTTPNeedsTokens: serve --http with tokens enforced and no token
// policy would answer every request 401; it stops at start instead.
func TestServeHTTPNeedsTokens(t *testing.T) {
	noTokens := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(noTokens, []byte(`{"roles_to_tools": {"oncall": ["list_vms"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	real := []string{"VCENTER_HOST=vc.example.com", "VCENTER_USER=svc", "VCENTER_PASSWORD=pw"}
	for _, tt := range []struct {
		name    string
		args    []string
		environ []string
		want    string // "" for no problem
	}{
		{"no policy", []string{"serve", "--http"}, real, "TOKENS_TO_ROLES is empty: serve --http with AUTH_ENFORCE=true would refuse every request"},
		{"empty map", []string{"serve", "--http"}, append(real, "TOKENS_TO_ROLES={}"), "TOKENS_TO_ROLES is empty"},
		{"policy file without tokens", []string{"serve", "--http"}, append(real, "POLICY_FILE="+noTokens), "POLICY_FILE=" + noTokens + " maps no token to a role"},
		{"simulate with only roles", []string{"--simulate", "serve", "--http"}, []string{`ROLES_TO_TOOLS={"x":["list_vms"]}`}, "TOKENS_TO_ROLES is empty"},
		{"tokens given", []string{"serve", "--http"}, append(real, `TOKENS_TO_ROLES={"long-enough-token-1f8a":"read"}`), ""},
		{"auth off", []string{"serve", "--http"}, append(real, "AUTH_ENFORCE=false"), ""},
		{"simulate trial", []string{"--simulate", "serve", "--http"}, nil, ""},
		{"stdio is not concerned", nil, append(real, "AUTH_ENFORCE=false"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, tt.environ)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Load = %v, want no problem", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Load = %v, want a problem containing %q", err, tt.want)
			}
		})
	}
}

// TestSharedStateSettings: SERVER_STATE_* and SERVER_METRICS_ADDR are
// checked for serve --http, with the password read from its file and never
// echoed; without --http they are ignored with a warning.
func TestSharedStateSettings(t *testing.T) {
	const secret = "redis-pass-9f3e1c"
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "redis-password")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	http := []string{"--simulate", "serve", "--http"}
	base := []string{`TOKENS_TO_ROLES={"tok-admin-e8f1-5b0c2a7d":"admin"}`}
	cfg, err := Load(http, append(base, "SERVER_STATE_URL=rediss://redis.example.com:6380/1", "SERVER_STATE_PASSWORD_FILE="+pwFile,
		"SERVER_STATE_FAIL_OPEN_READS=true", "SERVER_METRICS_ADDR=0.0.0.0:9090", "SERVER_STATE_READ_TIMEOUT_S=0.25"))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.StatePassword) != secret || !cfg.StateFailOpenReads || cfg.StateReadTimeoutS != 0.25 || cfg.StateDialTimeoutS != 2 || cfg.MetricsAddr != "0.0.0.0:9090" {
		t.Errorf("state settings: %+v", cfg.Env)
	}
	if s := fmt.Sprintf("%v %+v", cfg, cfg); strings.Contains(s, secret) {
		t.Error("the configuration prints the Redis password")
	}
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"password in the URL", []string{"SERVER_STATE_URL=redis://:" + secret + "@redis:6379/0"}, "SERVER_STATE_URL: the URL holds a password"},
		{"unparsable URL with a password", []string{"SERVER_STATE_URL=redis://u:" + secret + "@redis:port/0"}, "SERVER_STATE_URL: not a URL"},
		{"wrong scheme", []string{"SERVER_STATE_URL=http://redis"}, `SERVER_STATE_URL: scheme "http"`},
		{"missing password file", []string{"SERVER_STATE_URL=redis://redis", "SERVER_STATE_PASSWORD_FILE=" + filepath.Join(dir, "nope")}, "SERVER_STATE_PASSWORD_FILE=" + filepath.Join(dir, "nope") + ": no such file"},
		{"empty password file", []string{"SERVER_STATE_URL=redis://redis", "SERVER_STATE_PASSWORD_FILE=" + empty}, "is empty"},
		{"timeout out of range", []string{"SERVER_STATE_URL=redis://redis", "SERVER_STATE_DIAL_TIMEOUT_S=0"}, "SERVER_STATE_DIAL_TIMEOUT_S=0: give seconds between 0.01 and 60"},
		{"metrics address", []string{"SERVER_METRICS_ADDR=9090"}, `SERVER_METRICS_ADDR="9090": give host:port`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(http, append(slices.Clone(base), tt.env...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}

	// Without --http: ignored, with a warning, and nothing is read.
	cfg, err = Load([]string{"--simulate"}, []string{"SERVER_STATE_URL=redis://:" + secret + "@redis", "SERVER_METRICS_ADDR=bad", "SERVER_STATE_PASSWORD_FILE=/nonexistent"})
	if err != nil {
		t.Fatalf("stdio with SERVER_STATE_URL: %v", err)
	}
	warned := strings.Join(cfg.Warnings, "\n")
	if !strings.Contains(warned, "SERVER_STATE_URL is ignored without serve --http") || !strings.Contains(warned, "SERVER_METRICS_ADDR is ignored") || strings.Contains(warned, secret) {
		t.Errorf("stdio warnings: %q", cfg.Warnings)
	}
	// Stateless replicas without a store are told what they lose.
	cfg, _ = Load(http, append(base, "SERVER_STATELESS=true"))
	if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, "without SERVER_STATE_URL") || !strings.Contains(w, "once per replica") {
		t.Errorf("stateless warnings: %q", cfg.Warnings)
	}
}
