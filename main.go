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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/config"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/doctor"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/metrics"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/state"
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
	startGC.hold() // gc.go
	// Before anything else: the secrets must leave the process's initial
	// environment, which /proc/PID/environ shows for the process's life
	// (config/secrets.go). On Unix this re-executes the binary once.
	environ, err := config.ShedSecretsOrWarn(os.Environ(), os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vsphere-mcp-pro: %v\n", err)
		os.Exit(exitUsage)
	}
	// A closed stderr or stdout makes writes fail with EPIPE instead of
	// killing the process before it logs out of vCenter.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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
		fmt.Fprintln(stdout, config.VersionLine(version, commit, date))
		return exitOK
	case "audit": // verify [--key FILE] LOG...: needs no other configuration
		rep, err := audit.VerifyPaths(cfg.Args[1:], cfg.KeyFile)
		if err != nil {
			fmt.Fprintf(stderr, "vsphere-mcp-pro: audit verify: %v\n", err)
			return exitUsage
		}
		fmt.Fprint(stdout, rep.Summary(strings.Join(cfg.Args[1:], ", ")))
		return exitCode(stderr, nil, !rep.OK())
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
	if all := append(config.ProblemsOf(problems), wireProblems...); len(all) > 0 {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: configuration:\n  - %s\n", strings.Join(all, "\n  - "))
		return exitUsage
	}
	a.server.AddReceivingMiddleware(startGC.releaseOnUse) // stdio: at the first tool call (gc.go)
	if cfg.HTTP || cfg.Name == "call" || cfg.Name == "tools" {
		startGC.release()
	}
	switch {
	case cfg.Name == "call" || cfg.Name == "tools":
		// One pipeline: an in-process client of the same server and middleware.
		cli := tools.CLI{Server: a.server, Version: version, Role: a.ident.Role, Toolsets: a.pol.Describe(a.ident).Toolsets}
		failed, err := cli.Run(ctx, cfg.Name, cfg.Args, stdout)
		return exitCode(stderr, err, failed)
	case cfg.HTTP:
		return exitCode(stderr, a.metrics.ServeBeside(ctx, cfg.MetricsAddr, log, a.http.ListenAndServe), false)
	}
	log.Info().Str("version", version).Str("vcenter", a.pool.Default()).Str("role", a.ident.Role).Msg("serving MCP on stdio")
	// Our transport, not the SDK's: a bad line is answered and audited
	// instead of ending the session (tools/transport/stdio.go).
	st := &transport.Stdio{In: stdin, Out: stdout, Audit: a.mw, Identity: a.ident, Log: log}
	return exitCode(stderr, st.Serve(ctx, a.server), false)
}

// app is the wired server and what must be closed after it.
type app struct {
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
	store    *state.Store     // SERVER_STATE_URL with serve --http; nil otherwise
	metrics  *metrics.Metrics // SERVER_METRICS_ADDR with serve --http; nil otherwise
}

// wire builds everything, for every subcommand: the vCenter pool (or the
// simulator), audit log, policy, identity, middleware and MCP server, and for
// serve --http its HTTP front, metrics and shared store. It goes as far as it
// can and returns every problem found, and what it built, to be closed.
func wire(cfg config.Config, log zerolog.Logger, stderr io.Writer) (_ *app, problems config.Problems) {
	a := &app{log: log}
	fail := func(err error) { problems = append(problems, config.ProblemsOf(err)...) }
	// Security: one scrubber for the process; the vCenter pool adds the
	// credentials and session tokens; results, logs and audit lines use it.
	scrub := redact.New(string(cfg.Token))
	vcfg := cfg.VCenter(log)
	vcfg.Scrub = scrub
	// serve --http only: the stdio server creates no metrics and no Redis
	// client (config warns that the variables are ignored).
	if cfg.HTTP && cfg.MetricsAddr != "" {
		a.metrics = metrics.New(metrics.Options{Version: version, Store: cfg.StateURL != "", Decisions: policy.DecisionNames()})
		vcfg.OnRequest, vcfg.OnLogin = a.metrics.VCenterRequest, a.metrics.VCenterLogin
	}
	if cfg.Simulate {
		a.sim = vcentersim.NewServer(vcentersim.Options{})
		vcfg.Host, vcfg.User, vcfg.Password, vcfg.Insecure = a.sim.Host(), a.sim.User(), a.sim.Password(), false
		vcfg.RootCAs, vcfg.TaskPollInterval = a.sim.CertPool(), 200*time.Millisecond
		cfg.AllowedHosts = nil
		fmt.Fprintf(stderr, "vsphere-mcp-pro: --simulate: using an embedded simulated vCenter 8 at %s (no real vCenter is contacted)\n", a.sim.Host())
	}
	warn(stderr, cfg.Warnings)
	var err error
	if a.pool, err = vcenter.NewPool(vcfg, cfg.AllowedHosts); err != nil {
		fail(err)
		return a, problems
	}
	a.vcfg = vcfg
	a.audit, err = cfg.AuditLog(stderr, scrub)
	fail(err)
	key, err := policy.LoadApprovalKey(cfg.ApprovalKeyFile)
	fail(err)
	a.store, err = cfg.State(log, scrub, a.metrics.StoreFailed)
	if fail(err); a.store != nil {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: shared state (approvals, rate limits) in Redis at %s\n", a.store.Addr())
	}
	approver, err := policy.NewSharedApprover(key, config.Seconds(cfg.ApprovalTTLS), a.store.Nonces())
	fail(err)

	deps := tools.Deps{
		VCenter:  func(h string) (tools.VCenter, error) { return a.pool.Get(h) },
		Hosts:    a.pool.Hosts(),
		Access:   func(id policy.Identity) policy.Access { return a.pol.Describe(id) },
		Approver: approver, Version: version, Log: log, ProgressEvery: 250 * time.Millisecond,
	}
	catalog := tools.All(deps)
	a.metrics.SetTools(tools.Names(catalog))
	var warnings []string
	a.pol, warnings, err = policy.New(cfg.Policy, tools.Policies(catalog), tools.ToolsetOptions(cfg.PolicyOptions(a.store)))
	warn(stderr, warnings)
	if fail(err); a.pol == nil || a.audit == nil || approver == nil {
		return a, problems
	}
	identify := transport.HTTPIdentity(a.pol)
	if !cfg.HTTP {
		a.ident, a.identErr = a.pol.Resolve(string(cfg.Token))
		if a.identErr != nil && !cfg.Invalid["VSPHERE_MCP_TOKEN"] && !cfg.Invalid["TOKENS_TO_ROLES"] && !cfg.Invalid["POLICY_FILE"] { // not again, as unknown
			fail(fmt.Errorf("VSPHERE_MCP_TOKEN: %w", a.identErr))
		}
		identify = tools.LaunchIdentity(a.ident)
	}
	a.mw, err = tools.NewMiddleware(tools.MiddlewareConfig{
		Policy: a.pol, Audit: a.audit, Approver: approver, Catalog: catalog, Identify: identify,
		Scrub: scrub, Log: log, VCenter: a.pool.Default(), ApprovalTTL: config.Seconds(cfg.ApprovalTTLS),
		Observer: a.observer(),
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
		if a.store != nil {
			hc.Store = a.store.Ping
		}
		a.http, warnings, err = transport.NewHTTPServer(a.server, a.mw, a.pol, hc)
		if fail(err); a.http != nil {
			a.metrics.Sessions(a.http.Sessions)
		}
		warn(stderr, warnings)
	}
	return a, problems
}

// close logs out of vCenter, writes what the middleware still holds and
// closes the audit log; every Close is safe on nil, so a partly built app
// closes what it has.
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.mw.Close()
	_ = a.store.Close()
	if err := a.pool.Close(ctx); err != nil {
		a.log.Warn().Err(err).Msg("logout")
	}
	_ = a.audit.Close()
	a.sim.Close()
}

// observer is what the middleware tells of calls: the metrics, or none.
func (a *app) observer() tools.Observer {
	if a.metrics == nil {
		return nil // not a typed nil in the interface
	}
	return a.metrics
}

// runDoctor runs `doctor`: every check, one line each, non-zero exit on any
// failure. Configuration problems are reported, not fatal.
func runDoctor(ctx context.Context, cfg config.Config, problems error, stdout, stderr io.Writer) int {
	auditPath := cfg.AuditLogPath
	cfg.AuditLogPath = "" // doctor checks the audit sink itself and makes no call
	a, wireProblems := wire(cfg, zerolog.Nop(), io.Discard)
	defer a.close()
	s := doctor.Setup{Set: cfg.Set, Simulated: cfg.Simulate, AuditPath: auditPath, VCenter: a.vcfg, // no Host: no pool
		Policy: a.pol, Identity: a.ident, IdentityErr: a.identErr}
	if all := append(config.ProblemsOf(problems), wireProblems...); len(all) > 0 {
		s.ConfigErr = all
	}
	fmt.Fprintf(stdout, "%s\n", config.VersionLine(version, commit, date))
	return exitCode(stderr, nil, !doctor.Print(stdout, doctor.Run(ctx, s)))
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

// warn prints what works but deserves the operator's eye.
func warn(stderr io.Writer, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: WARNING: %s\n", w)
	}
}
