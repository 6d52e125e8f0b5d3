// Command vsphere-mcp-pro is an MCP server that lets AI assistants operate
// VMware vCenter 8 within the role of the user's token, with destructive
// actions confirmed, calls rate-limited and every call audited.
//
// main.go wires: configuration, subcommands, exit codes, signals, logging.
// The tools are in tools/, decisions in policy/, the audit log in audit/,
// and everything that speaks to vCenter in vcenter/.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/doctor"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// Set by the release build (-ldflags "-X main.version=…").
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a failed call, an error result, a failed check
	exitUsage  = 2 // usage or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// secret is a configuration value that never prints.
type secret string

func (secret) String() string   { return "***" }
func (secret) GoString() string { return "***" }

// config is the environment, with the names of the Python seed.
//
// Security: secrets are read once and removed from the environment
// (",unset"), and their type prints as ***.
type config struct {
	Host          string   `env:"VCENTER_HOST"`
	User          string   `env:"VCENTER_USER"`
	Password      secret   `env:"VCENTER_PASSWORD,unset"`
	PasswordFile  string   `env:"VCENTER_PASSWORD_FILE"`
	APIMode       string   `env:"VSPHERE_API_MODE" envDefault:"api"`
	Insecure      bool     `env:"INSECURE" envDefault:"false"`
	CABundle      string   `env:"VCENTER_CA_BUNDLE"`
	TimeoutS      float64  `env:"VCENTER_TIMEOUT_S" envDefault:"20"`
	Retries       int      `env:"VCENTER_RETRIES" envDefault:"3"`
	BackoffS      float64  `env:"VCENTER_BACKOFF" envDefault:"0.5"`
	AllowedHosts  []string `env:"ALLOWED_VCENTER_HOSTS" envSeparator:","`
	Token         secret   `env:"VSPHERE_MCP_TOKEN,unset"`
	TokensToRoles secret   `env:"TOKENS_TO_ROLES,unset"`
	RolesToTools  string   `env:"ROLES_TO_TOOLS"`
	PolicyFile    string   `env:"POLICY_FILE"`
	AuthEnforce   bool     `env:"AUTH_ENFORCE" envDefault:"true"`
	ReadOnly      bool     `env:"READ_ONLY" envDefault:"false"`
	RateLimit     bool     `env:"RATE_LIMIT" envDefault:"true"`
	RateRPS       float64  `env:"RATE_LIMIT_RPS" envDefault:"5"`
	RateBurst     int      `env:"RATE_LIMIT_BURST" envDefault:"10"`
	AuditLogPath  string   `env:"AUDIT_LOG_PATH"`
	LogLevel      string   `env:"LOG_LEVEL" envDefault:"info"`

	// serve --http (docs/http.md). SERVER_PORT and MCP_PATH keep the seed's
	// defaults; SERVER_HOST does not: the seed listened on 0.0.0.0.
	ServerHost      string   `env:"SERVER_HOST" envDefault:"127.0.0.1"`
	ServerPort      int      `env:"SERVER_PORT" envDefault:"8000"`
	MCPPath         string   `env:"MCP_PATH" envDefault:"/mcp"`
	TLSCert         string   `env:"SERVER_TLS_CERT"`
	TLSKey          string   `env:"SERVER_TLS_KEY"`
	AllowedOrigins  []string `env:"SERVER_ALLOWED_ORIGINS" envSeparator:","`
	HTTPHosts       []string `env:"SERVER_ALLOWED_HOSTS" envSeparator:","`
	Stateless       bool     `env:"SERVER_STATELESS" envDefault:"false"`
	MaxBodyBytes    int      `env:"SERVER_MAX_BODY_BYTES" envDefault:"1048576"`
	ReadTimeoutS    float64  `env:"SERVER_READ_TIMEOUT_S" envDefault:"30"`
	WriteTimeoutS   float64  `env:"SERVER_WRITE_TIMEOUT_S" envDefault:"600"`
	ShutdownTimeout float64  `env:"SERVER_SHUTDOWN_TIMEOUT_S" envDefault:"30"`
	SessionIdleS    float64  `env:"SERVER_SESSION_IDLE_TIMEOUT_S" envDefault:"1800"`
	ApprovalKeyFile string   `env:"APPROVAL_KEY_FILE"`
}

// policyConfigured reports whether any policy variable is set.
func (c config) policyConfigured() bool {
	return c.TokensToRoles != "" || c.RolesToTools != "" || c.PolicyFile != ""
}

// loadConfig parses environ and checks every value, returning one message
// per problem, each naming its variable.
func loadConfig(environ []string, simulate bool) (config, error) {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	cfg, err := env.ParseAsWithOptions[config](env.Options{Environment: m})
	var problems []string
	if err != nil {
		problems = append(problems, envProblems(err)...)
	}
	if !simulate && strings.TrimSpace(cfg.Host) == "" {
		problems = append(problems, "VCENTER_HOST is not set: give the vCenter host name (or host:port), or run with --simulate")
	}
	if cfg.Host != "" {
		if _, err := vcenter.NormalizeHost(cfg.Host); err != nil {
			problems = append(problems, "VCENTER_HOST: "+err.Error())
		}
	}
	if cfg.APIMode != string(vcenter.ModeAPI) && cfg.APIMode != string(vcenter.ModeREST) {
		problems = append(problems, fmt.Sprintf("VSPHERE_API_MODE=%q: use api or rest", cfg.APIMode))
	}
	if cfg.Password != "" && cfg.PasswordFile != "" {
		problems = append(problems, "VCENTER_PASSWORD and VCENTER_PASSWORD_FILE are both set: keep one")
	}
	if cfg.TimeoutS <= 0 || cfg.TimeoutS > 3600 {
		problems = append(problems, fmt.Sprintf("VCENTER_TIMEOUT_S=%g: give seconds between 0 and 3600", cfg.TimeoutS))
	}
	if cfg.Retries < 0 || cfg.Retries > 10 {
		problems = append(problems, fmt.Sprintf("VCENTER_RETRIES=%d: give 0 to 10", cfg.Retries))
	}
	if cfg.BackoffS < 0 || cfg.BackoffS > 60 {
		problems = append(problems, fmt.Sprintf("VCENTER_BACKOFF=%g: give seconds between 0 and 60", cfg.BackoffS))
	}
	if cfg.RateRPS <= 0 {
		problems = append(problems, fmt.Sprintf("RATE_LIMIT_RPS=%g: give a positive number of calls per second", cfg.RateRPS))
	}
	if cfg.RateBurst < 1 {
		problems = append(problems, fmt.Sprintf("RATE_LIMIT_BURST=%d: give at least 1", cfg.RateBurst))
	}
	if _, err := zerolog.ParseLevel(strings.ToLower(cfg.LogLevel)); err != nil || cfg.LogLevel == "" {
		problems = append(problems, fmt.Sprintf("LOG_LEVEL=%q: use debug, info, warn or error", cfg.LogLevel))
	}
	if len(problems) > 0 {
		return cfg, errors.New(strings.Join(problems, "\n"))
	}
	return cfg, nil
}

// envProblems rewords caarlos0/env errors with the variable's name.
func envProblems(err error) []string {
	names := map[string]string{}
	t := reflect.TypeFor[config]()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ",")
		names[t.Field(i).Name] = tag
	}
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			want := map[reflect.Kind]string{reflect.Bool: "true or false", reflect.Int: "a whole number", reflect.Float64: "a number"}[pe.Type.Kind()]
			out = append(out, fmt.Sprintf("%s: not %s", names[pe.Name], want))
			continue
		}
		out = append(out, e.Error())
	}
	return out
}

// cli is the parsed command line.
type cli struct {
	simulate bool
	http     bool     // serve --http
	cmd      string   // "", call, tools, version, doctor, audit, serve
	args     []string // the subcommand's arguments
}

const usage = `usage: vsphere-mcp-pro [--simulate] [command]

commands:
  (none)                 run the MCP server on stdin/stdout (what MCP clients launch)
  call TOOL ['{json}']   run one tool through the full pipeline and print its result
  tools                  list the tools this token may use
  doctor                 check configuration, DNS, TCP, TLS, login, VI/JSON, role and audit sink
  audit verify FILE      check an audit log's hash chain: OK with the line count and last hash,
                         or the first edited, missing or reordered line (exit 1)
  serve [--http]         the MCP server: on stdin/stdout, or with --http over Streamable HTTP
                         on SERVER_HOST:SERVER_PORT (default 127.0.0.1:8000) for a team (docs/http.md)
  version                print version, commit and Go version

--simulate runs against an embedded simulated vCenter 8 (no credentials needed).
Configuration is read from the environment; see README.md.
`

func parseCLI(args []string) (cli, error) {
	var c cli
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--simulate" || a == "-simulate":
			c.simulate = true
		case a == "--version" || a == "-version" || a == "-v":
			c.cmd = "version"
		case a == "--help" || a == "-help" || a == "-h" || a == "help":
			c.cmd = "help"
		case a == "--http" || a == "-http":
			c.http = true
		case c.cmd == "" && !strings.HasPrefix(a, "-"):
			c.cmd = a
		case c.cmd != "" && !strings.HasPrefix(a, "--"):
			c.args = append(c.args, a)
		default:
			return c, fmt.Errorf("unknown flag %s", a)
		}
	}
	switch c.cmd {
	case "", "call", "tools", "version", "help", "doctor", "serve", "audit":
	default:
		return c, fmt.Errorf("unknown command %q", c.cmd)
	}
	if c.http && c.cmd != "serve" {
		return c, errors.New("--http goes with serve: vsphere-mcp-pro [--simulate] serve --http")
	}
	return c, nil
}

// run is the whole program; nothing below it exits the process.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseCLI(args)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n\n%s", err, usage)
		return exitUsage
	}
	switch c.cmd {
	case "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	case "audit":
		return runAudit(c.args, stdout, stderr)
	}
	if c.cmd == "doctor" {
		return runDoctor(ctx, c.simulate, environ, stdout)
	}
	cfg, err := loadConfig(environ, c.simulate)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: configuration:\n%s\n", indent(err.Error()))
		return exitUsage
	}
	lvl, _ := zerolog.ParseLevel(strings.ToLower(cfg.LogLevel))
	log := zerolog.New(stderr).Level(lvl).With().Timestamp().Logger()

	app, err := start(ctx, cfg, c.simulate, c.http, log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n", err)
		return exitUsage
	}
	defer app.close()

	switch c.cmd {
	case "call":
		return app.callTool(ctx, c.args, stdout, stderr)
	case "tools":
		return app.listTools(ctx, stdout, stderr)
	}
	if c.http {
		return app.serveHTTP(ctx, cfg, stderr)
	}
	log.Info().Str("version", version).Str("vcenter", app.pool.Default()).Str("role", app.ident.Role).Msg("serving MCP on stdio")
	err = app.server.Run(ctx, &mcp.IOTransport{Reader: nopCloser{stdin}, Writer: nopWriteCloser{stdout}})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		log.Error().Err(err).Msg("MCP session ended")
	}
	return exitOK
}

// app is the wired server and what must be closed after it.
type app struct {
	server *mcp.Server
	guard  *tools.Guard
	pool   *vcenter.Pool
	audit  *audit.Log
	sim    *vcentersim.Server
	ident  policy.Identity
	log    zerolog.Logger
}

// start builds everything from the configuration: the vCenter pool (or the
// simulator), the policy and identity, the audit log and the MCP server.
//
// With httpMode (serve --http) no launch token is resolved: each HTTP
// request brings its own, and tools.NewHTTPServer replaces the guard's
// Identify.
func start(ctx context.Context, cfg config, simulate, httpMode bool, log zerolog.Logger, stderr io.Writer) (_ *app, err error) {
	a := &app{log: log}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	vcfg, err := vcenterConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	password := vcfg.Password
	if simulate {
		a.sim = simulateVCenter(&vcfg)
		cfg.AllowedHosts = nil
		fmt.Fprintf(stderr, "vsphere-mcp-pro: --simulate: using an embedded simulated vCenter 8 at %s (no real vCenter is contacted)\n", a.sim.Host())
	}
	if cfg.Insecure && !simulate {
		fmt.Fprintln(stderr, "vsphere-mcp-pro: WARNING: INSECURE=true: vCenter's TLS certificate is NOT verified; anyone on the network path can impersonate vCenter and capture the password. Use VCENTER_CA_BUNDLE instead.")
	}
	if a.pool, err = vcenter.NewPool(vcfg, cfg.AllowedHosts); err != nil {
		return nil, err
	}

	scrub := audit.NewScrubber(password, string(cfg.Token))
	if cfg.AuditLogPath != "" {
		if a.audit, err = audit.Open(cfg.AuditLogPath, audit.WithScrubber(scrub)); err != nil {
			return nil, fmt.Errorf("AUDIT_LOG_PATH: %w", err)
		}
	} else {
		a.audit = audit.New(stderr, audit.WithScrubber(scrub))
	}

	approvalKey, err := policy.LoadApprovalKey(cfg.ApprovalKeyFile)
	if err != nil {
		return nil, err
	}
	approver, err := policy.NewApprover(approvalKey, 10*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("APPROVAL_KEY_FILE: %w", err)
	}
	pol, catalog, err := buildPolicy(cfg, simulate, a.pool, approver, log, stderr)
	if err != nil {
		return nil, err
	}
	switch {
	case httpMode && cfg.Token != "":
		fmt.Fprintln(stderr, "vsphere-mcp-pro: warning: VSPHERE_MCP_TOKEN is ignored by serve --http: each request brings its own bearer token")
	case !httpMode:
		if a.ident, err = pol.Resolve(string(cfg.Token)); err != nil {
			return nil, fmt.Errorf("VSPHERE_MCP_TOKEN: %w", err)
		}
	}
	limiter, err := policy.NewLimiter(cfg.RateLimit, cfg.RateRPS, cfg.RateBurst)
	if err != nil {
		return nil, err
	}
	a.guard = &tools.Guard{
		Policy: pol, Limiter: limiter, Log: a.audit, Approver: approver, Catalog: catalog,
		Identify: func(context.Context, mcp.Request) (policy.Identity, error) { return a.ident, nil },
		VCenter:  a.pool.Default(), Diag: log, Scrub: scrub,
	}
	sdkLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a.server = tools.NewServer(version, catalog, a.guard, sdkLog)
	return a, nil
}

// vcenterConfig turns the configuration into the vCenter client's, reading
// the password file and the CA bundle.
func vcenterConfig(cfg config, log zerolog.Logger) (vcenter.Config, error) {
	password := string(cfg.Password)
	if cfg.PasswordFile != "" {
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return vcenter.Config{}, fmt.Errorf("VCENTER_PASSWORD_FILE: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	vcfg := vcenter.Config{
		Host: cfg.Host, User: cfg.User, Password: password, Mode: vcenter.Mode(cfg.APIMode),
		Insecure: cfg.Insecure, Timeout: seconds(cfg.TimeoutS), Retries: cfg.Retries,
		Backoff: seconds(cfg.BackoffS), Log: log,
	}
	if vcfg.Retries == 0 {
		vcfg.Retries = -1 // VCENTER_RETRIES=0 means none; the vcenter default is 3
	}
	if cfg.CABundle != "" {
		pool, err := vcenter.LoadCABundle(cfg.CABundle)
		if err != nil {
			return vcenter.Config{}, err
		}
		vcfg.RootCAs = pool
	}
	return vcfg, nil
}

// simulateVCenter starts the embedded simulator and points vcfg at it.
func simulateVCenter(vcfg *vcenter.Config) *vcentersim.Server {
	sim := vcentersim.NewServer(vcentersim.Options{})
	vcfg.Host, vcfg.User, vcfg.Password, vcfg.Insecure = sim.Host(), sim.User(), sim.Password(), false
	vcfg.RootCAs = x509.NewCertPool()
	vcfg.RootCAs.AppendCertsFromPEM(sim.CACertPEM())
	vcfg.TaskPollInterval = 200 * time.Millisecond
	return sim
}

// buildPolicy builds the catalogue and the policy that governs it.
func buildPolicy(cfg config, simulate bool, pool *vcenter.Pool, approver *policy.Approver, log zerolog.Logger, stderr io.Writer) (*policy.Policy, []tools.Tool, error) {
	var pol *policy.Policy
	deps := tools.Deps{
		VCenter:  func(h string) (tools.VCenter, error) { return pool.Get(h) },
		Hosts:    pool.Hosts(),
		Access:   func(id policy.Identity) policy.Access { return pol.Describe(id) },
		Approver: approver, Version: version, Log: log, ProgressEvery: 250 * time.Millisecond,
	}
	catalog := tools.All(deps)
	pcfg, enforce, err := policyConfig(cfg, simulate, stderr)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	pol, warnings, err = policy.New(pcfg, tools.Policies(catalog), policy.Options{ReadOnly: cfg.ReadOnly, AuthEnforce: enforce})
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: warning: %s\n", w)
	}
	return pol, catalog, nil
}

// policyConfig reads POLICY_FILE or the two variables. --simulate without
// any policy allows every tool, and says so.
func policyConfig(cfg config, simulate bool, stderr io.Writer) (policy.Config, bool, error) {
	enforce := cfg.AuthEnforce
	switch {
	case cfg.PolicyFile != "":
		if cfg.TokensToRoles != "" || cfg.RolesToTools != "" {
			return policy.Config{}, false, errors.New("POLICY_FILE replaces TOKENS_TO_ROLES and ROLES_TO_TOOLS: set only one of them")
		}
		pc, err := policy.LoadFile(cfg.PolicyFile)
		return pc, enforce, err
	case simulate && !cfg.policyConfigured() && cfg.Token == "":
		fmt.Fprintln(stderr, "vsphere-mcp-pro: --simulate without a policy: every tool is allowed (set TOKENS_TO_ROLES and VSPHERE_MCP_TOKEN to try roles)")
		return policy.Config{}, false, nil
	case !enforce:
		fmt.Fprintln(stderr, "vsphere-mcp-pro: WARNING: AUTH_ENFORCE=false: every tool is allowed to whoever launches this server")
	}
	pc, err := policy.ParseConfig(string(cfg.TokensToRoles), cfg.RolesToTools)
	return pc, enforce, err
}

func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.guard != nil {
		a.guard.Close()
	}
	if a.pool != nil {
		if err := a.pool.Close(ctx); err != nil {
			a.log.Warn().Err(err).Msg("logout")
		}
	}
	if a.audit != nil {
		_ = a.audit.Close()
	}
	if a.sim != nil {
		a.sim.Close()
	}
}

// serveHTTP runs `serve --http`: the same server, guard, policy and audit
// behind Streamable HTTP, each request identified by its bearer token. It
// returns after a graceful shutdown; run's deferred close then logs out of
// vCenter and closes the audit log.
func (a *app) serveHTTP(ctx context.Context, cfg config, stderr io.Writer) int {
	hs, warnings, err := tools.NewHTTPServer(a.server, a.guard, tools.HTTPConfig{
		Host: cfg.ServerHost, Port: cfg.ServerPort, Path: cfg.MCPPath,
		TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey,
		AllowedOrigins: cfg.AllowedOrigins, AllowedHosts: cfg.HTTPHosts,
		Stateless: cfg.Stateless, MaxBodyBytes: int64(cfg.MaxBodyBytes),
		ReadTimeout: seconds(cfg.ReadTimeoutS), WriteTimeout: seconds(cfg.WriteTimeoutS),
		ShutdownTimeout: seconds(cfg.ShutdownTimeout), SessionIdleTimeout: seconds(cfg.SessionIdleS),
		Ready:  tools.VCenterProbe(func(h string) (tools.VCenter, error) { return a.pool.Get(h) }),
		SDKLog: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: configuration:\n%s\n", indent(err.Error()))
		return exitUsage
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: WARNING: %s\n", w)
	}
	if cfg.Stateless && cfg.ApprovalKeyFile == "" {
		fmt.Fprintln(stderr, "vsphere-mcp-pro: warning: SERVER_STATELESS=true without APPROVAL_KEY_FILE: an approval given on one replica is refused by the others; give every replica the same key file")
	}
	if err := hs.ListenAndServe(ctx); err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// runDoctor runs `doctor`: every check, one line each, non-zero exit on
// any failure. A configuration error is reported, not fatal.
func runDoctor(ctx context.Context, simulate bool, environ []string, stdout io.Writer) int {
	cfg, cfgErr := loadConfig(environ, simulate)
	s := doctor.Setup{Set: setVariables(environ), ConfigErr: cfgErr, Simulated: simulate, AuditPath: cfg.AuditLogPath}
	if cfgErr == nil {
		vcfg, err := vcenterConfig(cfg, zerolog.Nop())
		if err != nil {
			s.ConfigErr = err
		} else {
			if simulate {
				sim := simulateVCenter(&vcfg)
				defer sim.Close()
				cfg.AllowedHosts = nil
			}
			s.VCenter = vcfg
			if pool, err := vcenter.NewPool(vcfg, cfg.AllowedHosts); err != nil {
				s.ConfigErr = err
			} else {
				s.Access = func() (policy.Access, error) {
					pol, _, err := buildPolicy(cfg, simulate, pool, nil, zerolog.Nop(), io.Discard)
					if err != nil {
						return policy.Access{}, err
					}
					id, err := pol.Resolve(string(cfg.Token))
					if err != nil {
						return policy.Access{}, fmt.Errorf("VSPHERE_MCP_TOKEN: %w", err)
					}
					return pol.Describe(id), nil
				}
			}
		}
	}
	fmt.Fprintf(stdout, "%s\n", versionLine())
	if doctor.Print(stdout, doctor.Run(ctx, s)) {
		fmt.Fprintln(stdout, "\nall checks passed")
		return exitOK
	}
	fmt.Fprintln(stdout, "\nsome checks failed: fix the lines marked ✘ (or skipped) and run doctor again")
	return exitFailed
}

// runAudit runs `audit verify FILE`: it checks the hash chain of an audit
// log and prints OK with the line count and the last line's hash, or the
// first line that breaks the chain. Exit 0 when intact, 1 when broken or
// unreadable, 2 on a usage error or a file that cannot be opened. It needs
// no configuration and contacts no vCenter.
func runAudit(args []string, stdout, stderr io.Writer) int {
	const use = "usage: vsphere-mcp-pro audit verify FILE"
	if len(args) != 2 || args[0] != "verify" {
		fmt.Fprintln(stderr, use)
		return exitUsage
	}
	path := args[1]
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: audit verify: %v\n%s\n", err, use)
		return exitUsage
	}
	defer f.Close()
	rep, err := audit.Verify(f)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: audit verify %s: %v\n", path, err)
		return exitFailed
	}
	if !rep.Intact {
		fmt.Fprintf(stdout, "%s: BROKEN at %s\n(%d lines read; the chain is intact before that line)\n", path, rep.First, rep.Lines)
		return exitFailed
	}
	if rep.Lines == 0 {
		fmt.Fprintf(stdout, "%s: OK, empty\n", path)
		return exitOK
	}
	fmt.Fprintf(stdout, "%s: OK, %d lines, chain intact\nlast hash %s\n(keep this hash elsewhere: lines removed from the end leave an intact chain, but change it)\n",
		path, rep.Lines, rep.LastHash)
	return exitOK
}

// setVariables names the configuration variables set in environ.
func setVariables(environ []string) []string {
	known := map[string]bool{}
	t := reflect.TypeFor[config]()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ",")
		known[tag] = true
	}
	var out []string
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && known[k] && v != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// callTool runs `call TOOL ['{json}']`.
func (a *app) callTool(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprintf(stderr, "usage: vsphere-mcp-pro call TOOL ['{json arguments}']\n")
		return exitUsage
	}
	var raw json.RawMessage
	if len(args) == 2 {
		raw = json.RawMessage(args[1])
		if !json.Valid(raw) {
			fmt.Fprintf(stderr, "vsphere-mcp-pro: the arguments are not valid JSON: %s\n", args[1])
			return exitUsage
		}
	}
	l, err := tools.ConnectLocal(ctx, a.server, version)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n", err)
		return exitFailed
	}
	defer l.Close()
	res, err := l.Call(ctx, args[0], raw)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: call %s: %v\n", args[0], err)
		return exitFailed
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if res.IsError {
		_ = enc.Encode(map[string]any{"isError": true, "error": tools.ResultText(res)})
		return exitFailed
	}
	if res.StructuredContent != nil {
		_ = enc.Encode(res.StructuredContent)
	} else {
		fmt.Fprintln(stdout, tools.ResultText(res))
	}
	return exitOK
}

// listTools runs `tools`.
func (a *app) listTools(ctx context.Context, stdout, stderr io.Writer) int {
	l, err := tools.ConnectLocal(ctx, a.server, version)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n", err)
		return exitFailed
	}
	defer l.Close()
	ts, err := l.Tools(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "role %s: %d tools\n", a.ident.Role, len(ts))
	for _, t := range ts {
		desc, _, _ := strings.Cut(t.Description, ". ")
		fmt.Fprintf(stdout, "  %-34s %s\n", t.Name, strings.TrimSuffix(desc, "."))
	}
	return exitOK
}

// versionLine is what `version` and `--version` print (see describeBuild).
func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(version, commit, date, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// nopCloser and nopWriteCloser let run serve its own stdin and stdout:
// closing them is the process's business.
type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
