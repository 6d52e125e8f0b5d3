package vcentersim

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Test controls. They are Go methods only: nothing here is reachable over
// HTTP. Each takes the server's mutex, so they are safe to call while
// requests are in flight, and each read returns a copy.

// Counters is a snapshot of what the server has received since it started or
// since [Server.ResetCounters].
type Counters struct {
	Requests int // every request, faulted or not
	Faults   int // requests an injected fault answered
	// Abandoned counts requests whose client went away before the answer
	// (a cancelled call, a client timeout) while the server held them: in a
	// hang fault or in the latency delay.
	Abandoned int

	// Routes counts requests per operation, keyed by method and path pattern
	// without the action: "GET /api/vcenter/vm", "POST /api/vcenter/vm/{vm}/power",
	// "POST /rest/vcenter/vm/{vm}/power/start",
	// "POST /sdk/vim25/{release}/VirtualMachine/{moId}/CreateSnapshotEx_Task".
	// Requests that name no operation count under "UNMATCHED".
	Routes map[string]int

	// Logins, FailedLogins and Logouts count per surface: "api", "rest", "vijson".
	Logins       map[string]int
	FailedLogins map[string]int
	Logouts      map[string]int
}

func newCounters() Counters {
	return Counters{Routes: map[string]int{}, Logins: map[string]int{}, FailedLogins: map[string]int{}, Logouts: map[string]int{}}
}

func (c Counters) clone() Counters {
	return Counters{
		Requests: c.Requests, Faults: c.Faults, Abandoned: c.Abandoned, Routes: maps.Clone(c.Routes),
		Logins: maps.Clone(c.Logins), FailedLogins: maps.Clone(c.FailedLogins), Logouts: maps.Clone(c.Logouts),
	}
}

// Request is one request as the server received it.
type Request struct {
	Method     string
	RequestURI string // as sent, path and query still escaped
	Path       string // escaped path
	RawQuery   string
	Route      string // Counters.Routes key, or "UNMATCHED"
	Faulted    bool   // an injected fault answered it
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// ResetCounters zeroes the counters and empties the request log.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newCounters()
	s.requests.reset()
}

// Requests returns the requests received since start or the last
// ResetCounters, in arrival order: the most recent [Options.RequestLog]
// (100,000 by default) of them. Counters.Requests tells how many there were.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests.all()
}

// requestLog keeps the most recent max requests in a ring. The Server's
// mutex guards it.
type requestLog struct {
	max  int
	buf  []Request // grows to max, then wraps
	next int       // where the next request goes once buf is full
}

func (l *requestLog) add(r Request) {
	if len(l.buf) < l.max {
		l.buf = append(l.buf, r)
		return
	}
	l.buf[l.next] = r
	l.next = (l.next + 1) % l.max
}

// all returns the kept requests, oldest first.
func (l *requestLog) all() []Request {
	return slices.Concat(l.buf[l.next:], l.buf[:l.next])
}

func (l *requestLog) reset() {
	l.buf, l.next = nil, 0
}

// VM returns a copy of the VM with the given id.
func (s *Server) VM(id string) (VM, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleGuests()
	v := s.inv.vms[id]
	if v == nil {
		return VM{}, false
	}
	return s.inv.export(v), true
}

// VMs returns copies of every VM, in id order; templates are left out
// ([Server.Templates] lists them).
func (s *Server) VMs() []VM {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleGuests()
	out := make([]VM, 0, len(s.inv.vmOrder))
	for _, v := range s.inv.vmOrder {
		if !v.Template {
			out = append(out, s.inv.export(v))
		}
	}
	return out
}

// Templates returns copies of every classic VM template, in id order.
func (s *Server) Templates() []VM {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []VM
	for _, v := range s.inv.vmOrder {
		if v.Template {
			out = append(out, s.inv.export(v))
		}
	}
	return out
}

// Snapshots returns the VM's snapshot tree flattened depth first, parents
// before children; nil for an unknown VM or one without snapshots.
func (s *Server) Snapshots(vmID string) []Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.inv.vms[vmID]
	if v == nil {
		return nil
	}
	var out []Snapshot
	for _, sn := range v.allSnapshots() {
		out = append(out, sn.export(v.current))
	}
	return out
}

// Task returns a copy of the task with the given id ("task-3").
func (s *Server) Task(id string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[id]
	if t == nil {
		return Task{}, false
	}
	return t.Task, true
}

// ActiveSessions counts the sessions still alive on the simulator's clock,
// on every surface.
func (s *Server) ActiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for token := range s.sessions {
		if s.liveSession(token) != nil {
			n++
		}
	}
	return n
}

// ExpireSessions ends every session of every surface, as a vpxd restart or
// an idle timeout would: the next request with any token gets 401 or
// NotAuthenticated.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// SetLatency delays every later request by fixed plus a random part of jitter.
func (s *Server) SetLatency(fixed, jitter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.jitter = fixed, jitter
}

// CompleteTasks ends every running task now, as if its last poll had come:
// it succeeds and its effect is applied, unless it was bound to fail (by
// FailNextTask, or by its own precondition such as quiescing without Tools).
// A task that waits on the inventory (maintenance mode with powered-on VMs
// left on the host) keeps waiting.
func (s *Server) CompleteTasks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleGuests()
	for _, t := range s.runningTasks() {
		s.complete(t)
	}
}

// FailNextTask makes the next task started end in error with a fault of type
// faultType (a vim25 fault name such as "FileFault") and the given message;
// its effect is not applied.
func (s *Server) FailNextTask(faultType, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if message == "" {
		message = "Simulated " + faultType + " injected by vcentersim."
	}
	s.failNext = newFault(faultType, message)
}

// HangTasks holds tasks running (true) until CompleteTasks or HangTasks(false);
// their progress still rises with each poll, short of 100. Options.ManualTasks
// sets the initial value.
func (s *Server) HangTasks(hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangTasks = hang
}

// UpdateVM applies f to a copy of the VM and stores the result, for test
// setup: a power state, Tools, hardware or placement. The ID and the derived
// fields (Cluster, Datacenter, Datastores) cannot change. A new power state
// is taken as given, ToolsRunning included; powering on resets the boot time
// and the memory hot-add limit as a real power-on would. The update is
// refused, and nothing changes, if the result is inconsistent.
func (s *Server) UpdateVM(id string, f func(*VM)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleGuests()
	v := s.inv.vms[id]
	if v == nil {
		return fmt.Errorf("vcentersim: update VM %s: no such VM", id)
	}
	next := s.inv.export(v)
	f(&next)
	next.ID = id
	if err := s.inv.checkVM(&next); err != nil {
		return fmt.Errorf("vcentersim: update VM %s: %w", id, err)
	}
	if next.PowerState != v.PowerState {
		tools := next.ToolsRunning
		v.setPower(next.PowerState, s.now(), next.CleanPowerOff)
		next.ToolsRunning = tools
		delete(s.shutdownDue, id)
	}
	v.VM = next
	return nil
}

// AddVM files a new VM built from spec and returns its id. Host is
// required; an empty Folder means the datacenter's root VM folder, an empty
// ResourcePool the root pool of the host's cluster, and empty hardware and
// device fields take defaults (1 CPU, 1024 MiB, VMX_19, BIOS, generated
// device keys, labels, file names, UUIDs and MAC addresses).
func (s *Server) AddVM(spec VM) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.inv.hosts[spec.Host]
	if h == nil {
		return "", fmt.Errorf("vcentersim: add VM %q: unknown host %q", spec.Name, spec.Host)
	}
	spec.Folder = cmp.Or(spec.Folder, s.inv.datacenters[h.datacenter].vmFolder)
	spec.ResourcePool = cmp.Or(spec.ResourcePool, s.inv.rootPoolOf(h))
	spec.PowerState = cmp.Or(spec.PowerState, PoweredOff)
	spec.CPUCount = max(spec.CPUCount, 1)
	spec.CoresPerSocket = max(spec.CoresPerSocket, 1)
	spec.MemoryMiB = cmp.Or(spec.MemoryMiB, 1024)
	spec.HardwareVersion = cmp.Or(spec.HardwareVersion, "VMX_19")
	spec.Firmware = cmp.Or(spec.Firmware, "BIOS")
	spec.GuestOS = cmp.Or(spec.GuestOS, "OTHER_3X_LINUX_64")
	spec.HostName = cmp.Or(spec.HostName, spec.Name)
	spec.Disks, spec.NICs = slices.Clone(spec.Disks), slices.Clone(spec.NICs)
	for i := range spec.Disks {
		d := &spec.Disks[i]
		d.Key = cmp.Or(d.Key, 2000+i)
		d.Label = cmp.Or(d.Label, fmt.Sprintf("Hard disk %d", i+1))
		d.File = cmp.Or(d.File, fmt.Sprintf("%s/%s_%d.vmdk", spec.Name, spec.Name, i))
	}
	for i := range spec.NICs {
		n := &spec.NICs[i]
		n.Key = cmp.Or(n.Key, 4000+i)
		n.Label = cmp.Or(n.Label, fmt.Sprintf("Network adapter %d", i+1))
		if !n.Connected {
			n.StartConnected = true // the default of a new adapter
		}
	}
	if spec.CDROMs == nil {
		spec.CDROMs = []CDROM{defaultCDROM()}
	}
	spec.CDROMs = slices.Clone(spec.CDROMs)
	if err := s.inv.checkVM(&spec); err != nil {
		return "", fmt.Errorf("vcentersim: add VM %q: %w", spec.Name, err)
	}
	v := &vm{VM: spec}
	s.inv.file(v, s.now())
	return v.ID, nil
}

// RemoveVM deletes a VM and its snapshots whatever its state, for test setup.
func (s *Server) RemoveVM(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inv.vms[id] == nil {
		return fmt.Errorf("vcentersim: remove VM %s: no such VM", id)
	}
	s.inv.deleteVM(id)
	delete(s.shutdownDue, id)
	return nil
}

// checkVM validates a VM record a test hands in. Caller holds mu.
func (inv *inventory) checkVM(v *VM) error {
	h := inv.hosts[v.Host]
	f := inv.folders[v.Folder]
	p := inv.pools[v.ResourcePool]
	switch {
	case h == nil:
		return fmt.Errorf("unknown host %q", v.Host)
	case f == nil || f.kind != folderVM || f.datacenter != h.datacenter:
		return fmt.Errorf("folder %q is not a VM folder of the host's datacenter", v.Folder)
	case p == nil || p.owner != h.owner():
		return fmt.Errorf("resource pool %q does not belong to the host's cluster", v.ResourcePool)
	case v.PowerState != PoweredOn && v.PowerState != PoweredOff && v.PowerState != Suspended:
		return fmt.Errorf("unknown power state %q", v.PowerState)
	case v.ToolsRunning && (v.PowerState != PoweredOn || !v.ToolsInstalled):
		return errors.New("VMware Tools can run only when installed and the VM is powered on")
	case v.CPUCount < 1 || v.CoresPerSocket < 1 || v.CPUCount%v.CoresPerSocket != 0:
		return fmt.Errorf("CPU count %d is not a positive multiple of cores per socket %d", v.CPUCount, v.CoresPerSocket)
	case v.MemoryMiB < 4:
		return fmt.Errorf("memory %d MiB is too small", v.MemoryMiB)
	}
	for i, d := range v.Disks {
		if inv.datastores[d.Datastore] == nil {
			return fmt.Errorf("disk %d: unknown datastore %q", i, d.Datastore)
		}
	}
	for i, n := range v.NICs {
		if inv.networks[n.Network] == nil {
			return fmt.Errorf("NIC %d: unknown network %q", i, n.Network)
		}
	}
	return nil
}
