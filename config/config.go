// Package config reads the configuration of vsphere-mcp-pro: the command line
// and the environment (the variable names of the Python server this one replaces, so that
// configurations migrate). It owns the one list of variables, their
// defaults (in the env tags of [Env] and nowhere else), the flags that
// override them, and the checks of every value: [Load] reports every problem
// at once, each naming its variable and echoing its value unless it is a
// secret.
//
// It knows nothing of MCP. It uses the parsers of the packages that own a
// format (policy for the token and role grammar, vcenter for host names and
// CA bundles, audit for its key), so that a value is checked by the code that
// will use it.
package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/redact"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/state"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// Secret is a configuration value that never prints.
type Secret string

func (Secret) String() string   { return "***" }
func (Secret) GoString() string { return "***" }

// Env is the environment. The env tags hold the only defaults.
//
// Security: secrets are read once and removed from the environment
// (",unset"), and their type prints as ***.
type Env struct {
	Host          string   `env:"VCENTER_HOST"`
	User          string   `env:"VCENTER_USER"`
	Password      Secret   `env:"VCENTER_PASSWORD,unset"`
	PasswordFile  string   `env:"VCENTER_PASSWORD_FILE"`
	APIMode       string   `env:"VSPHERE_API_MODE" envDefault:"api"`
	Insecure      bool     `env:"INSECURE" envDefault:"false"`
	CABundle      string   `env:"VCENTER_CA_BUNDLE"`
	TimeoutS      float64  `env:"VCENTER_TIMEOUT_S" envDefault:"20"`
	Retries       int      `env:"VCENTER_RETRIES" envDefault:"3"`
	BackoffS      float64  `env:"VCENTER_BACKOFF" envDefault:"0.5"`
	AllowedHosts  []string `env:"ALLOWED_VCENTER_HOSTS" envSeparator:","`
	Token         Secret   `env:"VSPHERE_MCP_TOKEN,unset"`
	TokensToRoles Secret   `env:"TOKENS_TO_ROLES,unset"`
	RolesToTools  string   `env:"ROLES_TO_TOOLS"`
	PolicyFile    string   `env:"POLICY_FILE"`
	AuthEnforce   bool     `env:"AUTH_ENFORCE" envDefault:"true"`
	ReadOnly      bool     `env:"READ_ONLY" envDefault:"false"`
	Toolsets      []string `env:"VSPHERE_TOOLSETS" envSeparator:"," envDefault:"default"`
	Tools         []string `env:"VSPHERE_TOOLS" envSeparator:","`
	ExcludeTools  []string `env:"VSPHERE_EXCLUDE_TOOLS" envSeparator:","`
	RateLimit     bool     `env:"RATE_LIMIT" envDefault:"true"`
	RateRPS       float64  `env:"RATE_LIMIT_RPS" envDefault:"5"`
	RateBurst     int      `env:"RATE_LIMIT_BURST" envDefault:"10"`
	AuditLogPath  string   `env:"AUDIT_LOG_PATH"`
	AuditKeyFile  string   `env:"AUDIT_KEY_FILE"`
	LogLevel      string   `env:"LOG_LEVEL" envDefault:"info"`
	LogFile       string   `env:"LOG_FILE"`
	ApprovalTTLS  float64  `env:"APPROVAL_TTL_S" envDefault:"600"`

	// serve --http (docs/http.md). SERVER_PORT and MCP_PATH keep the Python server's
	// defaults; SERVER_HOST does not: it listened on 0.0.0.0.
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
	// MaxSessionsPerToken bounds the live MCP sessions of one token, and
	// MaxConnections the open connections: each session and connection
	// holds memory until it ends.
	MaxSessionsPerToken int    `env:"SERVER_MAX_SESSIONS_PER_TOKEN" envDefault:"32"`
	MaxConnections      int    `env:"SERVER_MAX_CONNECTIONS" envDefault:"1024"`
	ApprovalKeyFile     string `env:"APPROVAL_KEY_FILE"`

	// The state replicas share, in Redis (docs/http.md), and the metrics
	// listener: serve --http only. The timeouts bound every store
	// operation, so that a dead Redis cannot hang a call.
	StateURL           string  `env:"SERVER_STATE_URL"`
	StatePasswordFile  string  `env:"SERVER_STATE_PASSWORD_FILE"`
	StateCABundle      string  `env:"SERVER_STATE_CA_BUNDLE"`
	StateDialTimeoutS  float64 `env:"SERVER_STATE_DIAL_TIMEOUT_S" envDefault:"2"`
	StateReadTimeoutS  float64 `env:"SERVER_STATE_READ_TIMEOUT_S" envDefault:"1"`
	StateWriteTimeoutS float64 `env:"SERVER_STATE_WRITE_TIMEOUT_S" envDefault:"1"`
	StateFailOpenReads bool    `env:"SERVER_STATE_FAIL_OPEN_READS" envDefault:"false"`
	MetricsAddr        string  `env:"SERVER_METRICS_ADDR"`
}

// Config is the whole configuration: the command, the environment with the
// flags applied, and what was read from the files it names.
type Config struct {
	Command
	Env
	// Set names the configuration variables set in the environment (never
	// their values), for doctor.
	Set []string
	// VCenterPassword is VCENTER_PASSWORD, or the content of
	// VCENTER_PASSWORD_FILE.
	VCenterPassword Secret
	// CABundle is VCENTER_CA_BUNDLE's certificates, trusted in addition to
	// the system's; nil when no bundle is given.
	CABundle *vcenter.CABundle
	// Policy is TOKENS_TO_ROLES and ROLES_TO_TOOLS, or POLICY_FILE.
	Policy policy.Config
	// AuditKey is the content of AUDIT_KEY_FILE: the key of the audit
	// chain's HMAC; nil when none is given.
	AuditKey []byte
	// StatePassword is the content of SERVER_STATE_PASSWORD_FILE, and
	// StateRootCAs SERVER_STATE_CA_BUNDLE's certificates added to the
	// system's (nil when none is given).
	StatePassword Secret
	StateRootCAs  *x509.CertPool
	// Level is LOG_LEVEL.
	Level zerolog.Level
	// Warnings are for stderr at start: settings that work but weaken the
	// server, or that do nothing in this mode.
	Warnings []string
	// Invalid names the variables a problem was reported for, so that the
	// caller does not report their consequences again.
	Invalid map[string]bool
}

// Seconds converts a duration variable.
func Seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Problems is every configuration problem found, one sentence each.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }

// ProblemsOf splits an error into its problems, one per line; none for nil.
func ProblemsOf(err error) Problems {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// Load parses the command line and the environment (environ, as
// os.Environ) and checks every value. It returns the configuration and every
// problem found; a value with a problem is replaced by its default, so that
// later checks do not report its consequences again. A usage mistake on the
// command line is a *UsageError and nothing else is checked; help, version
// and audit need, and check, no configuration.
func Load(args, environ []string) (Config, error) {
	var cfg Config
	cmd, fl, err := parseArgs(args)
	if err != nil {
		return cfg, err
	}
	cfg.Command = cmd
	switch cmd.Name {
	case "help", "version", "audit": // they need no configuration
		return cfg, nil
	}
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	var problems Problems
	bad := map[string]bool{} // variables already reported
	cfg.Env, problems = parseEnv(m, bad)
	fl.apply(&cfg.Env)
	cfg.Set = setVariables(m)

	// report records a problem and puts the variable back to its default, so
	// that later checks do not report its consequences again.
	report := func(name, format string, a ...any) {
		bad[name] = true
		problems = append(problems, name+fmt.Sprintf(format, a...))
		resetToDefault(&cfg.Env, name)
	}
	e := &cfg.Env
	sim := cmd.Simulate
	if !sim && !bad["VCENTER_HOST"] && strings.TrimSpace(e.Host) == "" {
		report("VCENTER_HOST", " is not set: give the vCenter host name (or host:port), or run with --simulate")
	}
	if e.Host != "" {
		if _, err := vcenter.NormalizeHost(e.Host); err != nil {
			report("VCENTER_HOST", "=%q: %v", e.Host, err)
		}
	}
	if !sim && strings.TrimSpace(e.User) == "" {
		report("VCENTER_USER", " is not set: give the vCenter account, e.g. svc-mcp@vsphere.local")
	}
	switch {
	case e.Password != "" && e.PasswordFile != "":
		report("VCENTER_PASSWORD", " and VCENTER_PASSWORD_FILE are both set: keep one")
	case e.PasswordFile != "":
		b, err := os.ReadFile(e.PasswordFile)
		switch {
		case err != nil:
			report("VCENTER_PASSWORD_FILE", "=%s: %v", e.PasswordFile, unwrapPath(err))
		case strings.TrimRight(string(b), "\r\n") == "":
			report("VCENTER_PASSWORD_FILE", "=%s is empty: put the vCenter password in it", e.PasswordFile)
		default:
			cfg.VCenterPassword = Secret(strings.TrimRight(string(b), "\r\n"))
		}
	case e.Password != "":
		cfg.VCenterPassword = e.Password
	case !sim:
		report("VCENTER_PASSWORD", " is not set: set VCENTER_PASSWORD_FILE to a file holding the password (or VCENTER_PASSWORD)")
	}
	if e.APIMode != string(vcenter.ModeAPI) && e.APIMode != string(vcenter.ModeREST) {
		report("VSPHERE_API_MODE", "=%q: use api or rest", e.APIMode)
	}
	if e.CABundle != "" {
		bundle, err := vcenter.LoadCABundle(e.CABundle)
		if err != nil {
			report("VCENTER_CA_BUNDLE", "=%s: %v", e.CABundle, strings.TrimPrefix(unwrapPath(err).Error(), "VCENTER_CA_BUNDLE: "))
		}
		cfg.CABundle = bundle
	}
	checkRange := func(name string, v, lo, hi float64, unit string) {
		if !bad[name] && (v < lo || v > hi) {
			report(name, "=%s: give %s between %s and %s", num(v), unit, num(lo), num(hi))
		}
	}
	checkRange("VCENTER_TIMEOUT_S", e.TimeoutS, 0.001, 3600, "seconds")
	checkRange("VCENTER_RETRIES", float64(e.Retries), 0, 10, "a count")
	checkRange("VCENTER_BACKOFF", e.BackoffS, 0, 60, "seconds")
	checkRange("RATE_LIMIT_RPS", e.RateRPS, 0.0001, 1e6, "calls per second")
	checkRange("RATE_LIMIT_BURST", float64(e.RateBurst), 1, 1e6, "calls")
	checkRange("APPROVAL_TTL_S", e.ApprovalTTLS, 10, 86400, "seconds")
	if lvl, err := zerolog.ParseLevel(strings.ToLower(e.LogLevel)); err != nil || e.LogLevel == "" {
		report("LOG_LEVEL", "=%q: use debug, info, warn or error", e.LogLevel)
	} else {
		cfg.Level = lvl
	}
	if e.Token != "" {
		// Security: the error names the variable, never the token.
		if err := policy.CheckToken(string(e.Token)); err != nil {
			report("VSPHERE_MCP_TOKEN", " is %v", err)
		}
	}
	if e.AuditKeyFile != "" {
		key, err := audit.LoadKey(e.AuditKeyFile)
		if err != nil {
			report("AUDIT_KEY_FILE", "=%s: %v", e.AuditKeyFile, err)
		}
		cfg.AuditKey = key
	}
	if cmd.HTTP {
		cfg.StatePassword, cfg.StateRootCAs = loadState(e, report, checkRange)
	}
	cfg.Policy = loadPolicy(e, report, bad)
	cfg.Warnings = warnings(cfg)
	if sim && !e.PolicyConfigured() && e.Token == "" {
		// --simulate alone is a trial: every tool, no token.
		e.AuthEnforce = false
	}
	if sim && m["VSPHERE_TOOLSETS"] == "" && fl.toolsets == nil {
		// ... and every toolset, unless the trial names some.
		e.Toolsets = []string{policy.ToolsetsAll}
	}
	if cfg.HTTP && e.AuthEnforce && cfg.Policy.Tokens() == 0 && !bad["TOKENS_TO_ROLES"] && !bad["POLICY_FILE"] {
		// Every request would be refused with 401: refuse to start instead.
		const why = ": serve --http with AUTH_ENFORCE=true would refuse every request; give each user's token a role " +
			"in TOKENS_TO_ROLES or in POLICY_FILE (tokens_to_roles), or set AUTH_ENFORCE=false on a loopback SERVER_HOST"
		if e.PolicyFile != "" {
			report("POLICY_FILE", "=%s maps no token to a role%s", e.PolicyFile, why)
		} else {
			report("TOKENS_TO_ROLES", " is empty%s", why)
		}
	}
	cfg.Invalid = bad
	return cfg, orNil(problems)
}

// warnings lists what works but weakens the server, or does nothing.
func warnings(cfg Config) []string {
	var w []string
	e := cfg.Env
	switch {
	case cfg.Simulate && !e.PolicyConfigured() && e.Token == "":
		w = append(w, "--simulate without a policy: every tool is allowed (set TOKENS_TO_ROLES and VSPHERE_MCP_TOKEN to try roles)")
	case !e.AuthEnforce:
		w = append(w, "AUTH_ENFORCE=false: every tool is allowed to whoever launches this server")
	}
	if e.Insecure && !cfg.Simulate {
		w = append(w, "INSECURE=true: vCenter's TLS certificate is NOT verified; anyone on the network path can impersonate vCenter and capture the password. Use VCENTER_CA_BUNDLE instead.")
	}
	if cfg.HTTP && e.Token != "" {
		w = append(w, "VSPHERE_MCP_TOKEN is ignored by serve --http: each request brings its own bearer token")
	}
	if cfg.HTTP && e.Stateless && e.ApprovalKeyFile == "" {
		w = append(w, "SERVER_STATELESS=true without APPROVAL_KEY_FILE: an approval given on one replica is refused by the others; give every replica the same key file")
	}
	if cfg.HTTP && e.Stateless && e.StateURL == "" {
		w = append(w, "SERVER_STATELESS=true without SERVER_STATE_URL: each replica keeps its own record of redeemed approvals (an approval can be used once per replica) and its own rate-limit buckets (a token gets its budget on every replica); share one Redis")
	}
	if !cfg.HTTP {
		for _, v := range []struct{ name, value string }{{"SERVER_STATE_URL", e.StateURL}, {"SERVER_METRICS_ADDR", e.MetricsAddr}} {
			if v.value != "" {
				w = append(w, v.name+" is ignored without serve --http: this process serves one client and keeps its state in memory")
			}
		}
	}
	if cfg.HTTP && e.StateURL == "" {
		for _, v := range []struct{ name, value string }{{"SERVER_STATE_PASSWORD_FILE", e.StatePasswordFile}, {"SERVER_STATE_CA_BUNDLE", e.StateCABundle}} {
			if v.value != "" {
				w = append(w, v.name+" is ignored without SERVER_STATE_URL")
			}
		}
	}
	if cfg.HTTP && e.StateCABundle != "" && strings.HasPrefix(e.StateURL, "redis://") {
		w = append(w, "SERVER_STATE_CA_BUNDLE is ignored: SERVER_STATE_URL is redis:// (no TLS); use rediss://")
	}
	return w
}

// loadState checks the shared state store's settings and the metrics
// address (serve --http) and reads the store's password and CA bundle.
//
// Security: the URL is checked by state.CheckURL, whose errors never quote
// a password; one in the URL is refused, so that the URL may be logged.
func loadState(e *Env, report func(name, format string, a ...any), checkRange func(name string, v, lo, hi float64, unit string)) (Secret, *x509.CertPool) {
	checkRange("SERVER_STATE_DIAL_TIMEOUT_S", e.StateDialTimeoutS, 0.01, 60, "seconds")
	checkRange("SERVER_STATE_READ_TIMEOUT_S", e.StateReadTimeoutS, 0.01, 60, "seconds")
	checkRange("SERVER_STATE_WRITE_TIMEOUT_S", e.StateWriteTimeoutS, 0.01, 60, "seconds")
	if e.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(e.MetricsAddr); err != nil || port == "" {
			report("SERVER_METRICS_ADDR", "=%q: give host:port, e.g. 0.0.0.0:9090 or 127.0.0.1:9090", e.MetricsAddr)
		}
	}
	if e.StateURL == "" {
		return "", nil
	}
	if _, err := state.CheckURL(e.StateURL); err != nil {
		// Security: the message names the variable, not its value.
		report("SERVER_STATE_URL", ": %v", err)
	}
	var password Secret
	if e.StatePasswordFile != "" {
		b, err := os.ReadFile(e.StatePasswordFile)
		switch {
		case err != nil:
			report("SERVER_STATE_PASSWORD_FILE", "=%s: %v", e.StatePasswordFile, unwrapPath(err))
		case strings.TrimRight(string(b), "\r\n") == "":
			report("SERVER_STATE_PASSWORD_FILE", "=%s is empty: put the Redis password in it", e.StatePasswordFile)
		default:
			password = Secret(strings.TrimRight(string(b), "\r\n"))
		}
	}
	var pool *x509.CertPool
	if e.StateCABundle != "" {
		b, err := vcenter.LoadCABundle(e.StateCABundle)
		if err != nil {
			report("SERVER_STATE_CA_BUNDLE", "=%s: %v", e.StateCABundle, strings.TrimPrefix(unwrapPath(err).Error(), "VCENTER_CA_BUNDLE: "))
		} else {
			pool = b.Pool() // serve --http only: off the stdio start-up path
		}
	}
	return password, pool
}

// loadPolicy reads POLICY_FILE or the two variables.
func loadPolicy(e *Env, report func(name, format string, a ...any), bad map[string]bool) policy.Config {
	if e.PolicyFile != "" {
		if e.TokensToRoles != "" || e.RolesToTools != "" {
			report("POLICY_FILE", " replaces TOKENS_TO_ROLES and ROLES_TO_TOOLS: set only one of them")
			return policy.Config{}
		}
		pc, err := policy.LoadFile(e.PolicyFile)
		if err != nil {
			report("POLICY_FILE", "=%s: %v", e.PolicyFile, err)
		}
		return pc
	}
	pc, err := policy.ParseConfig(string(e.TokensToRoles), e.RolesToTools)
	if err != nil {
		// The error names TOKENS_TO_ROLES or ROLES_TO_TOOLS itself, and
		// never quotes a token.
		for _, name := range []string{"TOKENS_TO_ROLES", "ROLES_TO_TOOLS"} {
			if strings.Contains(err.Error(), name+":") {
				bad[name] = true
			}
		}
		report("", "%v", err)
	}
	return pc
}

// Logger returns the diagnostic logger: JSON lines at LOG_LEVEL to LOG_FILE
// (appended, mode 0600), or to stderr. close closes the file.
func (c Config) Logger(stderr io.Writer) (log zerolog.Logger, close func(), err error) {
	w, close := stderr, func() {}
	if c.LogFile != "" {
		f, err := os.OpenFile(c.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return zerolog.Nop(), close, fmt.Errorf("LOG_FILE=%s: %w", c.LogFile, unwrapPath(err))
		}
		w, close = f, func() { _ = f.Close() }
	}
	return zerolog.New(w).Level(c.Level).With().Timestamp().Logger(), close, nil
}

// AuditLog opens the audit log: AUDIT_LOG_PATH (its missing directories
// created for this user only, mode 0700: the README's own paths do not exist
// on a fresh machine), or stderr; chained under AUDIT_KEY_FILE's key when
// given, its strings passing through scrub.
func (c Config) AuditLog(stderr io.Writer, scrub *redact.Scrubber) (*audit.Log, error) {
	opts := []audit.Option{audit.WithScrubber(scrub), audit.WithKey(c.AuditKey)}
	if c.AuditLogPath == "" {
		return audit.New(stderr, opts...), nil
	}
	if err := os.MkdirAll(filepath.Dir(c.AuditLogPath), 0o700); err != nil {
		return nil, fmt.Errorf("AUDIT_LOG_PATH=%s: create its directory: %w", c.AuditLogPath, err)
	}
	l, err := audit.Open(c.AuditLogPath, opts...)
	if err != nil {
		return nil, fmt.Errorf("AUDIT_LOG_PATH=%s: %w", c.AuditLogPath, err)
	}
	return l, nil
}

// PolicyOptions are the policy's switches: READ_ONLY, AUTH_ENFORCE, the
// toolset selection and the rate limit, the buckets of the shared store when
// there is one (nil: this process's memory).
func (c Config) PolicyOptions(store *state.Store) policy.Options {
	o := policy.Options{
		ReadOnly: c.ReadOnly, AuthEnforce: c.AuthEnforce,
		Toolsets: c.Toolsets, Tools: c.Tools, ExcludeTools: c.ExcludeTools,
		Rate: policy.Rate{Enabled: c.RateLimit, RPS: c.RateRPS, Burst: c.RateBurst},
	}
	if store != nil { // never a typed nil in the interface
		o.Buckets, o.FailOpenReads = store, c.StateFailOpenReads
	}
	return o
}

// StateConfig is the shared state store's configuration (SERVER_STATE_*),
// with the rate of its buckets; failed is told of each failed operation.
func (c Config) StateConfig(rate policy.Rate, log zerolog.Logger, failed func(op string)) state.Config {
	return state.Config{
		URL: c.StateURL, Password: string(c.StatePassword), RootCAs: c.StateRootCAs,
		DialTimeout: Seconds(c.StateDialTimeoutS), ReadTimeout: Seconds(c.StateReadTimeoutS), WriteTimeout: Seconds(c.StateWriteTimeoutS),
		Rate: rate, Failed: failed, Log: log,
	}
}

// State opens the shared state store of serve --http (SERVER_STATE_URL),
// adding its password to the process's secrets; nil, and no client at all,
// for any other command or without the variable. failed counts the store's
// failed operations.
func (c Config) State(log zerolog.Logger, scrub *redact.Scrubber, failed func(op string)) (*state.Store, error) {
	if !c.HTTP || c.StateURL == "" || c.Invalid["SERVER_STATE_URL"] {
		return nil, nil
	}
	// Security: the Redis password joins the process's secrets.
	scrub.Add(string(c.StatePassword))
	return state.Open(c.StateConfig(c.PolicyOptions(nil).Rate, log, failed))
}

// VCenter is the vCenter client's configuration.
func (c Config) VCenter(log zerolog.Logger) vcenter.Config {
	vc := vcenter.Config{
		Host: c.Host, User: c.User, Password: string(c.VCenterPassword), Mode: vcenter.Mode(c.APIMode),
		Insecure: c.Insecure, CABundle: c.CABundle, Timeout: Seconds(c.TimeoutS), Retries: c.Retries,
		Backoff: Seconds(c.BackoffS), Log: log,
	}
	if vc.Retries == 0 {
		vc.Retries = -1 // VCENTER_RETRIES=0 means none; the vcenter default is 3
	}
	return vc
}

// PolicyConfigured reports whether any policy variable is set.
func (e Env) PolicyConfigured() bool {
	return e.TokensToRoles != "" || e.RolesToTools != "" || e.PolicyFile != ""
}

// parseEnv parses m into an Env, rewording caarlos0/env's errors with the
// variable's name and value; a variable that does not parse keeps its
// default and is marked in bad.
func parseEnv(m map[string]string, bad map[string]bool) (Env, Problems) {
	e, err := env.ParseAsWithOptions[Env](env.Options{Environment: m})
	if err == nil {
		return e, nil
	}
	var problems Problems
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return e, Problems{err.Error()}
	}
	t := reflect.TypeFor[Env]()
	for _, one := range agg.Errors {
		var pe env.ParseError
		if !errors.As(one, &pe) {
			problems = append(problems, one.Error())
			continue
		}
		f, _ := t.FieldByName(pe.Name)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		bad[name] = true
		want := map[reflect.Kind]string{reflect.Bool: "true or false", reflect.Int: "a whole number", reflect.Float64: "a number"}[pe.Type.Kind()]
		problems = append(problems, fmt.Sprintf("%s=%q: not %s", name, m[name], want))
		// Keep the default, so that no later check trips over the zero.
		resetToDefault(&e, name)
	}
	return e, problems
}

// resetToDefault sets the field of the variable name to its envDefault (the
// zero value when it has none).
func resetToDefault(e *Env, name string) {
	t := reflect.TypeFor[Env]()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ",")
		if tag != name {
			continue
		}
		d, _ := env.ParseAsWithOptions[Env](env.Options{Environment: map[string]string{}})
		reflect.ValueOf(e).Elem().Field(i).Set(reflect.ValueOf(d).Field(i))
		return
	}
}

// Variables lists every configuration variable, in the order of [Env].
func Variables() []string {
	t := reflect.TypeFor[Env]()
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ",")
		out = append(out, name)
	}
	return out
}

// setVariables names the configuration variables set (non-empty) in m.
func setVariables(m map[string]string) []string {
	var out []string
	for _, name := range Variables() {
		if m[name] != "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// unwrapPath drops the path an *os.PathError repeats: the message names it
// already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func orNil(p Problems) error {
	if len(p) == 0 {
		return nil
	}
	return p
}
