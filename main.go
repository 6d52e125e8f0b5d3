// Command vsphere-mcp-pro is an MCP server that lets AI assistants operate
// VMware vCenter 8 within the role of the user's token, with destructive
// actions confirmed, calls rate-limited and every call audited.
//
// main.go wires: it reads the configuration (config/), builds the vCenter
// pool (vcenter/), the policy (policy/), the audit log (audit/) and the MCP
// server (tools/, tools/transport/) in one function used by every
// subcommand, and maps outcomes to exit codes.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/doctor"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/tools/transport"
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
	// Before anything else: the secrets must leave the process's initial
	// environment, which /proc/PID/environ shows for the process's life
	// (config/secrets.go). On Unix this re-executes the binary once.
	environ, shedErr := config.ShedSecrets(os.Environ())
	if shedErr != nil && !errors.Is(shedErr, config.ErrSecretsVisible) {
		fmt.Fprintf(os.Stderr, "vsphere-mcp-pro: %v\n", shedErr)
		os.Exit(exitUsage)
	}
	// A client that stops reading stderr (or stdout) must not kill the
	// server in the middle of its work: without this, Go dies of SIGPIPE at
	// the first write to fd 1 or 2, before the vCenter session is logged
	// out. With it, the write fails with EPIPE and the server carries on
	// (stderr) or ends its session cleanly (stdout).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if shedErr != nil && runtime.GOOS != "windows" {
		// On Windows this is the normal case, documented in the README.
		fmt.Fprintf(os.Stderr, "vsphere-mcp-pro: WARNING: %v\n", shedErr)
	}
	code := run(ctx, os.Args[1:], environ, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; nothing below it exits the process.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, problems := config.Load(args, environ)
	if ue := (*config.UsageError)(nil); errors.As(problems, &ue) {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n\n%s", ue, config.Usage)
		return exitUsage
	}
	switch cfg.Name {
	case "help":
		fmt.Fprint(stdout, config.Usage)
		return exitOK
	case "version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	case "audit":
		return runAudit(cfg, stdout, stderr)
	}
	log, closeLog, err := cfg.Logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n", err)
		return exitUsage
	}
	defer closeLog()
	if cfg.Name == "doctor" {
		return runDoctor(ctx, cfg, problems, stdout, stderr)
	}
	a, wireProblems := wire(cfg, log, stderr)
	if a != nil {
		defer a.close()
	}
	if all := append(asProblems(problems), wireProblems...); len(all) > 0 {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: configuration:\n  - %s\n", strings.Join(all, "\n  - "))
		return exitUsage
	}
	switch {
	case cfg.Name == "call" || cfg.Name == "tools":
		// One pipeline: an in-process client of the same server and middleware.
		cli := tools.CLI{Server: a.server, Version: version, Role: a.ident.Role, Toolsets: a.pol.Describe(a.ident).Toolsets}
		failed, err := cli.Run(ctx, cfg.Name, cfg.Args, stdout)
		return exitCode(stderr, err, failed)
	case cfg.HTTP:
		return exitCode(stderr, a.http.ListenAndServe(ctx), false)
	}
	log.Info().Str("version", version).Str("vcenter", a.pool.Default()).Str("role", a.ident.Role).Msg("serving MCP on stdio")
	// Our transport, not the SDK's: a bad line is answered and audited
	// instead of ending the session (tools/transport/stdio.go).
	st := &transport.Stdio{In: stdin, Out: stdout, Audit: a.mw, Identity: a.ident, Log: log}
	err = a.server.Run(ctx, st)
	if ferr := st.Err(); ferr != nil {
		// Never exit 0 on a protocol failure: the client must see that the
		// server did not end normally.
		fmt.Fprintf(stderr, "vsphere-mcp-pro: the MCP session on stdio failed: %v\n", ferr)
		return exitFailed
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: the MCP session on stdio ended: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// app is the wired server and what must be closed after it.
type app struct {
	cfg      config.Config
	log      zerolog.Logger
	vcfg     vcenter.Config
	sim      *vcentersim.Server
	pool     *vcenter.Pool
	audit    *audit.Log
	pol      *policy.Policy
	ident    policy.Identity
	identErr error
	mw       *tools.Middleware
	server   *mcp.Server
	http     *transport.HTTPServer
}

// wire builds everything from the configuration — the vCenter pool (or the
// simulator), the audit log, the policy and identity, the middleware and the
// MCP server, and for serve --http its HTTP front — for every subcommand. It
// goes as far as it can and returns every problem found; the app it returns
// holds what was built, to be closed.
func wire(cfg config.Config, log zerolog.Logger, stderr io.Writer) (_ *app, problems config.Problems) {
	a := &app{cfg: cfg, log: log}
	fail := func(err error) { problems = append(problems, asProblems(err)...) }
	// Security: one scrubber for the process; the vCenter client adds the
	// credentials and session tokens to it, and results, errors, logs and
	// audit lines all pass through it.
	scrub := redact.New(string(cfg.Token))
	vcfg := cfg.VCenter(log)
	vcfg.Scrub = scrub
	if cfg.Simulate {
		a.sim = vcentersim.NewServer(vcentersim.Options{})
		vcfg.Host, vcfg.User, vcfg.Password, vcfg.Insecure = a.sim.Host(), a.sim.User(), a.sim.Password(), false
		vcfg.RootCAs = x509.NewCertPool()
		vcfg.RootCAs.AppendCertsFromPEM(a.sim.CACertPEM())
		vcfg.TaskPollInterval = 200 * time.Millisecond
		cfg.AllowedHosts = nil
		fmt.Fprintf(stderr, "vsphere-mcp-pro: --simulate: using an embedded simulated vCenter 8 at %s (no real vCenter is contacted)\n", a.sim.Host())
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: WARNING: %s\n", w)
	}
	a.vcfg = vcfg
	var err error
	if a.pool, err = vcenter.NewPool(vcfg, cfg.AllowedHosts); err != nil {
		fail(err)
		return a, problems
	}
	switch {
	case cfg.AuditLogPath == "":
		a.audit = audit.New(stderr, audit.WithScrubber(scrub), audit.WithKey(cfg.AuditKey))
	default:
		// The README's own paths (~/Library/Logs/vsphere-mcp-pro/…) do not
		// exist on a fresh machine: create what is missing, for this user only.
		if err := os.MkdirAll(filepath.Dir(cfg.AuditLogPath), 0o700); err != nil {
			fail(fmt.Errorf("AUDIT_LOG_PATH=%s: create its directory: %w", cfg.AuditLogPath, err))
		} else if a.audit, err = audit.Open(cfg.AuditLogPath, audit.WithScrubber(scrub), audit.WithKey(cfg.AuditKey)); err != nil {
			fail(fmt.Errorf("AUDIT_LOG_PATH=%s: %w", cfg.AuditLogPath, err))
		}
	}
	key, err := policy.LoadApprovalKey(cfg.ApprovalKeyFile)
	fail(err)
	approver, err := policy.NewApprover(key, config.Seconds(cfg.ApprovalTTLS))
	fail(err)

	deps := tools.Deps{
		VCenter:  func(h string) (tools.VCenter, error) { return a.pool.Get(h) },
		Hosts:    a.pool.Hosts(),
		Access:   func(id policy.Identity) policy.Access { return a.pol.Describe(id) },
		Approver: approver, Version: version, Log: log, ProgressEvery: 250 * time.Millisecond,
	}
	catalog := tools.All(deps)
	var warnings []string
	a.pol, warnings, err = policy.New(cfg.Policy, tools.Policies(catalog), tools.ToolsetOptions(policy.Options{
		ReadOnly: cfg.ReadOnly, AuthEnforce: cfg.AuthEnforce,
		Toolsets: cfg.Toolsets, Tools: cfg.Tools, ExcludeTools: cfg.ExcludeTools,
		Rate: policy.Rate{Enabled: cfg.RateLimit, RPS: cfg.RateRPS, Burst: cfg.RateBurst},
	}))
	for _, w := range warnings {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: warning: %s\n", w)
	}
	if fail(err); a.pol == nil || a.audit == nil || approver == nil {
		return a, problems
	}
	identify := transport.HTTPIdentity(a.pol)
	if !cfg.HTTP {
		a.ident, a.identErr = a.pol.Resolve(string(cfg.Token))
		// A token or token map already reported would only be reported
		// again, as unknown.
		if a.identErr != nil && !cfg.Invalid["VSPHERE_MCP_TOKEN"] && !cfg.Invalid["TOKENS_TO_ROLES"] && !cfg.Invalid["POLICY_FILE"] {
			fail(fmt.Errorf("VSPHERE_MCP_TOKEN: %w", a.identErr))
		}
		identify = tools.LaunchIdentity(a.ident)
	}
	a.mw, err = tools.NewMiddleware(tools.MiddlewareConfig{
		Policy: a.pol, Audit: a.audit, Approver: approver, Catalog: catalog, Identify: identify,
		Scrub: scrub, Log: log, VCenter: a.pool.Default(), ApprovalTTL: config.Seconds(cfg.ApprovalTTLS),
	})
	if fail(err); err != nil {
		return a, problems
	}
	sdkLog := slog.New(zerolog.NewSlogHandler(log.Level(max(cfg.Level, zerolog.WarnLevel)).With().Str("component", "go-sdk").Logger()))
	a.server = tools.NewServer(catalog, a.mw, tools.ServerOptions{Version: version, Log: sdkLog})
	if cfg.HTTP {
		var warnings []string
		hc := transport.HTTPConfigOf(cfg.Env)
		hc.Ready, hc.SDKLog, hc.Log, hc.VCenter = transport.VCenterProbe(deps.VCenter), sdkLog, log, a.pool.Default()
		a.http, warnings, err = transport.NewHTTPServer(a.server, a.mw, a.pol, hc)
		fail(err)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "vsphere-mcp-pro: WARNING: %s\n", w)
		}
	}
	return a, problems
}

// close logs out of vCenter, writes what the middleware still holds and
// closes the audit log; it is safe on a partly built app.
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.mw != nil {
		a.mw.Close()
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

// runDoctor runs `doctor`: every check, one line each, non-zero exit on any
// failure. Configuration problems are reported, not fatal.
func runDoctor(ctx context.Context, cfg config.Config, problems error, stdout, stderr io.Writer) int {
	auditPath := cfg.AuditLogPath
	cfg.AuditLogPath = "" // doctor checks the audit sink itself and makes no call
	a, wireProblems := wire(cfg, zerolog.Nop(), io.Discard)
	defer a.close()
	s := doctor.Setup{Set: cfg.Set, Simulated: cfg.Simulate, AuditPath: auditPath}
	if all := append(asProblems(problems), wireProblems...); len(all) > 0 {
		s.ConfigErr = config.Problems(all)
	}
	if a.pool != nil {
		s.VCenter = a.vcfg
	}
	if a.pol != nil {
		s.Access = func() (policy.Access, error) {
			if a.identErr != nil {
				return policy.Access{}, fmt.Errorf("VSPHERE_MCP_TOKEN: %w", a.identErr)
			}
			return a.pol.Describe(a.ident), nil
		}
	}
	fmt.Fprintf(stdout, "%s\n", versionLine())
	return exitCode(stderr, nil, !doctor.Print(stdout, doctor.Run(ctx, s)))
}

// runAudit runs `audit verify [--key FILE] LOG...`: it checks the chain of an
// audit log (and of its rotated predecessors, oldest first) and needs no other
// configuration. Exit 0 when it passes, 1 when broken, 2 on a usage error or
// an unreadable file or key.
func runAudit(cfg config.Config, stdout, stderr io.Writer) int {
	var opts audit.VerifyOptions
	if cfg.KeyFile != "" {
		key, err := audit.LoadKey(cfg.KeyFile)
		if err != nil {
			fmt.Fprintf(stderr, "vsphere-mcp-pro: audit verify --key %s: %v\n", cfg.KeyFile, err)
			return exitUsage
		}
		opts.Key = key
	}
	rep, err := audit.VerifyFiles(cfg.Args[1:], opts)
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: audit verify: %v\n", err)
		return exitUsage
	}
	fmt.Fprint(stdout, rep.Summary(strings.Join(cfg.Args[1:], ", ")))
	if !rep.OK() {
		return exitFailed
	}
	return exitOK
}

// versionLine is what `version` and `--version` print (see config.DescribeBuild).
func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return config.DescribeBuild(version, commit, date, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// exitCode prints err and maps the outcome to an exit code: 2 for a usage
// mistake, 1 for any other error or a failed result.
func exitCode(stderr io.Writer, err error, failed bool) int {
	if err != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: %v\n", err)
	}
	var ue *tools.UsageError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case err != nil || failed:
		return exitFailed
	}
	return exitOK
}

// asProblems splits an error into its problems, one per line.
func asProblems(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}
