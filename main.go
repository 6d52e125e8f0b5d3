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
	// Before anything else: the secrets must leave the process's initial
	// environment, which /proc/PID/environ shows for the process's life
	// (config/secrets.go). On Unix this re-executes the binary once.
	environ, shedErr := config.ShedSecrets(os.Environ())
	if shedErr != nil && !errors.Is(shedErr, config.ErrSecretsVisible) {
		fmt.Fprintf(os.Stderr, "vsphere-mcp-pro: %v\n", shedErr)
		os.Exit(exitUsage)
	} else if shedErr != nil && runtime.GOOS != "windows" { // on Windows the normal case, documented in the README
		fmt.Fprintf(os.Stderr, "vsphere-mcp-pro: WARNING: %v\n", shedErr)
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
		fmt.Fprintln(stdout, versionLine())
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
		return exitCode(stderr, a.serveHTTP(ctx), false)
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
	metAddr  string
}

// wire builds everything from the configuration — the vCenter pool (or the
// simulator), the audit log, the policy and identity, the middleware and the
// MCP server, and for serve --http its HTTP front — for every subcommand. It
// goes as far as it can and returns every problem found; the app it returns
// holds what was built, to be closed.
func wire(cfg config.Config, log zerolog.Logger, stderr io.Writer) (_ *app, problems config.Problems) {
	a := &app{log: log}
	fail := func(err error) { problems = append(problems, asProblems(err)...) }
	// Security: one scrubber for the process; the vCenter pool adds the
	// credentials and session tokens; results, logs and audit lines use it.
	scrub := redact.New(string(cfg.Token))
	vcfg := cfg.VCenter(log)
	vcfg.Scrub = scrub
	// serve --http only: the stdio server creates no metrics and no Redis
	// client (config warns that the variables are ignored).
	if cfg.HTTP && cfg.MetricsAddr != "" {
		a.metrics = metrics.New(metrics.Options{Version: version, Store: cfg.StateURL != "", Decisions: decisions()})
		a.metAddr = cfg.MetricsAddr
		vcfg.OnRequest, vcfg.OnLogin = a.metrics.VCenterRequest, a.metrics.VCenterLogin
	}
	if cfg.Simulate {
		a.sim = vcentersim.NewServer(vcentersim.Options{})
		vcfg.Host, vcfg.User, vcfg.Password, vcfg.Insecure = a.sim.Host(), a.sim.User(), a.sim.Password(), false
		vcfg.RootCAs, vcfg.TaskPollInterval = a.sim.CertPool(), 200*time.Millisecond
		cfg.AllowedHosts = nil
		fmt.Fprintf(stderr, "vsphere-mcp-pro: --simulate: using an embedded simulated vCenter 8 at %s (no real vCenter is contacted)\n", a.sim.Host())
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "vsphere-mcp-pro: WARNING: %s\n", w)
	}
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
	popts := cfg.PolicyOptions()
	var nonces policy.Nonces // nil: this process's memory
	if cfg.HTTP && cfg.StateURL != "" && !cfg.Invalid["SERVER_STATE_URL"] {
		// Security: the Redis password joins the process's secrets.
		scrub.Add(string(cfg.StatePassword))
		a.store, err = state.Open(cfg.StateConfig(popts.Rate, log, a.storeFailed))
		fail(err)
		if a.store != nil {
			nonces, popts.Buckets, popts.FailOpenReads = a.store, a.store, cfg.StateFailOpenReads
			fmt.Fprintf(stderr, "vsphere-mcp-pro: shared state (approvals, rate limits) in Redis at %s\n", a.store.Addr())
		}
	}
	approver, err := policy.NewSharedApprover(key, config.Seconds(cfg.ApprovalTTLS), nonces)
	fail(err)

	deps := tools.Deps{
		VCenter:  func(h string) (tools.VCenter, error) { return a.pool.Get(h) },
		Hosts:    a.pool.Hosts(),
		Access:   func(id policy.Identity) policy.Access { return a.pol.Describe(id) },
		Approver: approver, Version: version, Log: log, ProgressEvery: 250 * time.Millisecond,
	}
	catalog := tools.All(deps)
	var warnings []string
	a.pol, warnings, err = policy.New(cfg.Policy, tools.Policies(catalog), tools.ToolsetOptions(popts))
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
		Observer: a.observer(catalog),
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
			// Without the store, reads that may fail open, and every call
			// when nothing is rate-limited, can still be served.
			hc.Store, hc.StoreOptional = a.store.Ping, cfg.StateFailOpenReads || !cfg.RateLimit
		}
		a.http, warnings, err = transport.NewHTTPServer(a.server, a.mw, a.pol, hc)
		fail(err)
		if a.http != nil && a.metrics != nil {
			a.metrics.Sessions(a.http.Sessions)
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "vsphere-mcp-pro: WARNING: %s\n", w)
		}
	}
	return a, problems
}

// observer is what the middleware tells of calls: the metrics, which learn
// the catalogue's names here; nil without metrics.
func (a *app) observer(catalog []tools.Tool) tools.Observer {
	if a.metrics == nil {
		return nil
	}
	names := make([]string, len(catalog))
	for i, t := range catalog {
		names[i] = t.Def.Name
	}
	a.metrics.SetTools(names)
	return a.metrics
}

// storeFailed counts a failed store operation in the metrics, if any.
func (a *app) storeFailed(op string) {
	if a.metrics != nil {
		a.metrics.StoreFailed(op)
	}
}

// serveHTTP runs serve --http: the MCP endpoint and, with
// SERVER_METRICS_ADDR, the metrics listener, until ctx ends.
func (a *app) serveHTTP(ctx context.Context) error {
	if a.metrics == nil {
		return a.http.ListenAndServe(ctx)
	}
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	merr := make(chan error, 1)
	go func() { merr <- a.metrics.ListenAndServe(mctx, a.metAddr, a.log) }()
	herr := make(chan error, 1)
	go func() { herr <- a.http.ListenAndServe(mctx) }()
	select {
	case err := <-herr:
		stop()
		return errors.Join(err, <-merr)
	case err := <-merr:
		// The metrics listener could not start or failed: stop serving
		// rather than run unobserved without saying so.
		stop()
		return errors.Join(err, <-herr)
	}
}

// decisions is policy's decision vocabulary, for the metrics' labels.
func decisions() []string {
	var out []string
	for _, d := range policy.Decisions() {
		out = append(out, string(d))
	}
	return out
}

// close logs out of vCenter, writes what the middleware still holds and
// closes the audit log; it is safe on a partly built app.
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.mw != nil {
		a.mw.Close()
	}
	if a.store != nil {
		_ = a.store.Close()
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
	s.VCenter = a.vcfg // Host empty when the pool could not be built
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
