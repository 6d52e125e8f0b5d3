package vcenter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Pool holds one [Client] per allowed vCenter host, created on first use,
// so each host gets one session for the life of the process. All hosts
// share the configuration's credentials and TLS settings.
type Pool struct {
	base    Config
	def     string   // normalised default host
	allowed []string // normalised, sorted

	mu      sync.Mutex // guards clients and closed
	clients map[string]*Client
	closed  bool
}

// NewPool returns a pool whose default host is base.Host and which accepts
// the hosts in allowed (normalised; empty means only the default).
//
// Security: a tool's hostname argument can only select one of these hosts,
// so the model cannot point the server's credentials at another machine.
func NewPool(base Config, allowed []string) (*Pool, error) {
	def, err := NormalizeHost(base.Host)
	if err != nil {
		return nil, err
	}
	if _, err := dialectFor(base.Mode); err != nil && base.Mode != "" {
		return nil, err
	}
	set := []string{def}
	for _, h := range allowed {
		if strings.TrimSpace(h) == "" {
			continue
		}
		n, err := NormalizeHost(h)
		if err != nil {
			return nil, fmt.Errorf("ALLOWED_VCENTER_HOSTS: %w", err)
		}
		set = append(set, n)
	}
	if len(allowed) > 0 && !slices.Contains(normalizedAll(allowed), def) {
		return nil, fmt.Errorf("VCENTER_HOST %s is not in ALLOWED_VCENTER_HOSTS (%s): add it there", def, strings.Join(normalizedAll(allowed), ", "))
	}
	slices.Sort(set)
	// Security: the shared scrubber knows the credentials from the start,
	// not only once a client is made (clients are made on first use).
	base.Scrub.AddCredentials(base.User, base.Password)
	return &Pool{base: base, def: def, allowed: slices.Compact(set), clients: map[string]*Client{}}, nil
}

func normalizedAll(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if n, err := NormalizeHost(h); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Default is the normalised default host.
func (p *Pool) Default() string { return p.def }

// Hosts lists the allowed hosts, normalised and sorted.
func (p *Pool) Hosts() []string { return slices.Clone(p.allowed) }

// Get returns the client for hostname, or for the default host when
// hostname is empty. A host outside the allowed list is refused with
// [ErrHostNotAllowed] before anything is sent.
func (p *Pool) Get(hostname string) (*Client, error) {
	host := p.def
	if hostname != "" {
		n, err := NormalizeHost(hostname)
		if err != nil {
			return nil, err
		}
		host = n
	}
	if !slices.Contains(p.allowed, host) {
		return nil, fmt.Errorf("hostname %s: %w (allowed: %s; set ALLOWED_VCENTER_HOSTS to add one)", quoteShort(hostname), ErrHostNotAllowed, strings.Join(p.allowed, ", "))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errClosed
	}
	if c, ok := p.clients[host]; ok {
		return c, nil
	}
	cfg := p.base
	cfg.Host = host
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	p.clients[host] = c
	return c, nil
}

// Close logs out of every host's sessions. It is safe to call twice.
func (p *Pool) Close(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	p.closed = true
	clients := p.clients
	p.clients = map[string]*Client{}
	p.mu.Unlock()
	var errs []error
	for _, c := range clients {
		errs = append(errs, c.Close(ctx))
	}
	return errors.Join(errs...)
}
