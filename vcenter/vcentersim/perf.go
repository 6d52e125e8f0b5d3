package vcentersim

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// PerformanceManager (contract §2). Samples are not stored: each is a
// deterministic function of the entity, the counter, the interval and the
// sample's time stamp, with the story's anomalies laid over it, so every
// interval has a full history whatever the clock says and a test can ask
// [Server.PerfSeries] for exactly what a query returns.

// perfCounter is one counter of the catalogue; the keys are those of
// govmomi's vpx capture of a real vCenter (contract §2.1).
type perfCounter struct {
	key                  int32
	group, name, rollup  string
	label, summary, unit string
	unitLabel            string
	stats                string
	level, perDevice     int
	device               bool // has per-device instances
}

func (p perfCounter) fullName() string { return p.group + "." + p.name + "." + p.rollup }

var perfCounters = []perfCounter{
	{2, "cpu", "usage", "average", "Usage", "CPU usage as a percentage during the interval", "percent", "%", "rate", 1, 3, true},
	{6, "cpu", "usagemhz", "average", "Usage in MHz", "CPU usage in megahertz during the interval", "megaHertz", "MHz", "rate", 1, 3, true},
	{12, "cpu", "ready", "summation", "Ready", "Time that the virtual machine was ready, but could not get scheduled to run on the physical CPU", "millisecond", "ms", "delta", 1, 3, true},
	{24, "mem", "usage", "average", "Usage", "Memory usage as percentage of total configured or available memory", "percent", "%", "absolute", 1, 4, false},
	{33, "mem", "active", "average", "Active", "Amount of guest physical memory that is being actively read or written", "kiloBytes", "KB", "absolute", 2, 4, false},
	{70, "mem", "swapped", "average", "Swapped", "Current amount of guest physical memory swapped out to the swap file", "kiloBytes", "KB", "absolute", 2, 4, false},
	{90, "mem", "vmmemctl", "average", "Balloon", "Amount of guest physical memory reclaimed by the balloon driver", "kiloBytes", "KB", "absolute", 1, 4, false},
	{98, "mem", "consumed", "average", "Consumed", "Amount of host physical memory consumed for backing up guest physical memory pages", "kiloBytes", "KB", "absolute", 1, 4, false},
	{130, "disk", "read", "average", "Read rate", "Average number of kilobytes read from the disk each second", "kiloBytesPerSecond", "KBps", "rate", 2, 2, true},
	{131, "disk", "write", "average", "Write rate", "Average number of kilobytes written to disk each second", "kiloBytesPerSecond", "KBps", "rate", 2, 2, true},
	{133, "disk", "maxTotalLatency", "latest", "Highest latency", "Highest latency value across all disks used by the host", "millisecond", "ms", "absolute", 1, 3, false},
	{143, "net", "usage", "average", "Usage", "Network utilization (combined transmit-rates and receive-rates) during the interval", "kiloBytesPerSecond", "KBps", "rate", 1, 3, true},
	{148, "net", "received", "average", "Data receive rate", "Average rate at which data was received during the interval", "kiloBytesPerSecond", "KBps", "rate", 2, 3, true},
	{149, "net", "transmitted", "average", "Data transmit rate", "Average rate at which data was transmitted during the interval", "kiloBytesPerSecond", "KBps", "rate", 2, 3, true},
}

func counterByKey(key int32) (perfCounter, bool) {
	for _, c := range perfCounters {
		if c.key == key {
			return c, true
		}
	}
	return perfCounter{}, false
}

func (p perfCounter) wire() map[string]any {
	desc := func(label, summary, key string) map[string]any {
		return map[string]any{"_typeName": "ElementDescription", "label": label, "summary": summary, "key": key}
	}
	group := map[string]string{"cpu": "CPU", "mem": "Memory", "disk": "Disk", "net": "Network"}[p.group]
	return map[string]any{
		"_typeName": "PerfCounterInfo", "key": p.key,
		"nameInfo":   desc(p.label, p.summary, p.name),
		"groupInfo":  desc(group, group, p.group),
		"unitInfo":   desc(p.unitLabel, p.unit, p.unit),
		"rollupType": p.rollup, "statsType": p.stats, "level": p.level, "perDeviceLevel": p.perDevice,
	}
}

// realtimeInterval is the refresh rate of VMs and hosts; realtimeSamples
// how many it keeps (one hour).
const (
	realtimeInterval = 20
	realtimeSamples  = 180
)

// perfInterval is a historical interval (PerfInterval).
type perfInterval struct {
	key, period, samples int
	name                 string
	level                int
	enabled              bool
}

func defaultIntervals() []perfInterval {
	return []perfInterval{
		{1, 300, 288, "Past day", 1, true},
		{2, 1800, 336, "Past week", 1, true},
		{3, 7200, 360, "Past month", 1, true},
		{4, 86400, 365, "Past year", 1, true},
	}
}

// intervalFor picks the interval a query gets: realtime for 20 (or none),
// else the configured interval of that period, else the nearest above it,
// else the longest (contract §2.4 choice). ok is false for a disabled one.
func (s *Server) intervalFor(asked int) (period, samples, level int, enabled bool) {
	if asked <= realtimeInterval {
		return realtimeInterval, realtimeSamples, 4, true
	}
	iv := s.obs.intervals
	pick := iv[len(iv)-1]
	for _, x := range iv {
		if x.period >= asked {
			pick = x
			break
		}
	}
	return pick.period, pick.samples, pick.level, pick.enabled
}

// anomaly lays a level over a counter from a time on: the story's
// trouble (CPU ready after the HA restart, ballooning after a reset).
type anomaly struct {
	counter string // full name
	from    time.Time
	base    float64 // in the counter's unit (percent for cpu.usage, % per vCPU for ready)
	spread  float64
}

// perfEntity is what the value function needs of a VM or a host.
type perfEntity struct {
	id       string
	isHost   bool
	cpus     int     // vCPUs, or host cores
	memKB    float64 // configured memory, or host memory
	capacity float64 // MHz
}

// perfEntityOf returns the entity for a MoRef and whether it has samples
// now: a VM only while powered on, a host only while connected.
func (s *Server) perfEntityOf(typ, id string) (perfEntity, bool, bool) {
	switch typ {
	case "VirtualMachine":
		v := s.inv.vms[id]
		if v == nil {
			return perfEntity{}, false, false
		}
		e := perfEntity{id: id, cpus: v.CPUCount, memKB: float64(v.MemoryMiB) * 1024, capacity: float64(2400 * v.CPUCount)}
		return e, true, v.PowerState == PoweredOn
	case "HostSystem":
		h := s.inv.hosts[id]
		if h == nil {
			return perfEntity{}, false, false
		}
		hw := hostHardware(h)
		e := perfEntity{id: id, isHost: true, cpus: hw.cores, memKB: float64(hw.memBytes / 1024), capacity: float64(hw.cores * hw.mhz)}
		return e, true, h.connection == "CONNECTED"
	}
	return perfEntity{}, false, false
}

// value is one sample: the counter's value over the interval ending at ts
// (Unix seconds), in the counter's unit.
func (s *Server) perfValue(e perfEntity, c perfCounter, interval int, ts int64) int64 {
	at := time.Unix(ts, 0)
	n := func(k int64) float64 { return noise(e.id, int64(c.key), int64(interval), ts, k) }
	level := func(name string, base, spread float64) float64 {
		for _, a := range s.obs.anomalies[e.id] {
			if a.counter == name && !at.Before(a.from) {
				base, spread = a.base, a.spread
			}
		}
		return base + spread*n(1)
	}
	h := func(k int64) float64 { return noise(e.id, k) } // per-entity constants
	daily := math.Sin(2 * math.Pi * float64(ts%86400) / 86400)
	cpuPct := math.Max(1, math.Min(100, level("cpu.usage.average", 10+30*h(1)+8*daily, 6)))
	var v float64
	switch c.fullName() {
	case "cpu.usage.average":
		v = cpuPct * 100 // hundredths of a percent
	case "cpu.usagemhz.average":
		v = cpuPct / 100 * e.capacity
	case "cpu.ready.summation":
		// ms of ready time summed over the vCPUs in the interval.
		vcpus := float64(e.cpus)
		if e.isHost {
			vcpus = float64(e.cpus) * 0.6
		}
		v = level("cpu.ready.summation", 0.3, 1.2) / 100 * float64(interval) * 1000 * vcpus
	case "mem.usage.average":
		v = level("mem.consumed.average", 0.6+0.3*h(2), 0.04) * 10000
	case "mem.consumed.average":
		v = level("mem.consumed.average", 0.6+0.3*h(2), 0.04) * e.memKB
	case "mem.active.average":
		v = (0.15 + 0.25*h(3) + 0.05*n(2)) * e.memKB
	case "mem.vmmemctl.average":
		v = level("mem.vmmemctl.average", 0, 0)
	case "mem.swapped.average":
		v = level("mem.swapped.average", 0, 0)
	case "disk.maxTotalLatency.latest":
		v = level("disk.maxTotalLatency.latest", 1, 3)
	case "disk.read.average":
		v = 200 + 1800*h(4) + 300*n(3)
	case "disk.write.average":
		v = 150 + 1200*h(5) + 300*n(4)
	case "net.received.average":
		v = netRate(h, n, 6)
	case "net.transmitted.average":
		v = netRate(h, n, 7)
	case "net.usage.average":
		v = netRate(h, n, 6) + netRate(h, n, 7)
	}
	if e.isHost && c.group != "mem" && c.group != "cpu" {
		v *= 12 // a host carries many VMs' I/O
	}
	return int64(math.Round(v))
}

// netRate is a NIC rate in KBps: a per-entity level with jitter.
func netRate(h, n func(int64) float64, k int64) float64 {
	return math.Round(50 + 2950*h(k) + 200*n(k))
}

// samples lists the time stamps an interval keeps now, oldest first: each
// ends its interval, the newest at or before now.
func samples(now time.Time, period, count int) []int64 {
	latest := now.Unix() / int64(period) * int64(period)
	out := make([]int64, count)
	for i := range out {
		out[i] = latest - int64(count-1-i)*int64(period)
	}
	return out
}

// PerfSample is one performance sample: its time stamp and value.
type PerfSample struct {
	Time  time.Time
	Value int64
}

// PerfSeries returns the samples QueryPerf serves now for an entity
// ("vm-89", "host-21"), a counter ("cpu.ready.summation") and an interval
// (20, 300, 1800, 7200, 86400), over the interval's whole retention, oldest
// first: nil when the entity has none (a powered-off VM, a disconnected
// host, a counter the interval does not collect).
func (s *Server) PerfSeries(entity, counter string, intervalID int) []PerfSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := s.inv.vimType(entity)
	e, ok, live := s.perfEntityOf(typ, entity)
	if !ok || !live {
		return nil
	}
	period, count, level, enabled := s.intervalFor(intervalID)
	for _, c := range perfCounters {
		if c.fullName() != counter {
			continue
		}
		if !enabled || c.level > level {
			return nil
		}
		var out []PerfSample
		for _, ts := range samples(s.now(), period, count) {
			out = append(out, PerfSample{time.Unix(ts, 0).UTC(), s.perfValue(e, c, period, ts)})
		}
		return out
	}
	return nil
}

// SetHistoricalInterval changes a historical interval (300, 1800, 7200 or
// 86400 seconds): disabled, or at a statistics level from 1 to 4. On a
// vCenter at the default level 1 the level-2 counters exist in realtime only.
func (s *Server) SetHistoricalInterval(period int, enabled bool, level int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.obs.intervals {
		if s.obs.intervals[i].period == period {
			if level < 1 || level > 4 {
				return fmt.Errorf("vcentersim: statistics level %d: want 1 to 4", level)
			}
			s.obs.intervals[i].enabled, s.obs.intervals[i].level = enabled, level
			return nil
		}
	}
	return fmt.Errorf("vcentersim: no historical interval of %d s", period)
}

// metricID is a PerfMetricId.
type metricID struct {
	CounterID int32  `json:"counterId"`
	Instance  string `json:"instance"`
}

// available lists the metrics an entity has for an interval: every
// counter the interval collects, the aggregate and, in realtime, the
// per-device instances.
func (s *Server) available(e perfEntity, period, level int) []metricID {
	var out []metricID
	for _, c := range perfCounters {
		if c.level > level {
			continue
		}
		out = append(out, metricID{c.key, ""})
		if period == realtimeInterval && c.device && !e.isHost {
			for _, d := range s.devicesOf(e, c) {
				out = append(out, metricID{c.key, d})
			}
		}
	}
	return out
}

// devicesOf names a VM's device instances for a counter: vCPUs, disks, NICs.
func (s *Server) devicesOf(e perfEntity, c perfCounter) []string {
	v := s.inv.vms[e.id]
	if v == nil {
		return nil
	}
	var out []string
	switch c.group {
	case "cpu":
		for i := range v.CPUCount {
			out = append(out, strconv.Itoa(i))
		}
	case "disk":
		for i := range v.Disks {
			out = append(out, fmt.Sprintf("scsi0:%d", i))
		}
	case "net":
		for _, nic := range v.NICs {
			out = append(out, strconv.Itoa(nic.Key))
		}
	}
	return out
}

func handlePerfCounter(s *Server, _ *call) (any, *vimFault) {
	out := make([]map[string]any, 0, len(perfCounters))
	for _, c := range perfCounters {
		out = append(out, c.wire())
	}
	return out, nil
}

func handleHistoricalInterval(s *Server, _ *call) (any, *vimFault) {
	out := []map[string]any{}
	for _, iv := range s.obs.intervals {
		out = append(out, map[string]any{"_typeName": "PerfInterval", "key": iv.key, "samplingPeriod": iv.period,
			"name": iv.name, "length": iv.period * iv.samples, "level": iv.level, "enabled": iv.enabled})
	}
	return out, nil
}

func handleQueryPerfCounter(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"counterId": true})
	if fault != nil {
		return nil, fault
	}
	var ids []int32
	if json.Unmarshal(p["counterId"], &ids) != nil {
		return nil, faultInvalidArgument("counterId")
	}
	out := []map[string]any{}
	for _, id := range ids {
		if pc, ok := counterByKey(id); ok {
			out = append(out, pc.wire())
		}
	}
	return out, nil
}

func handleQueryPerfCounterByLevel(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"level": true})
	if fault != nil {
		return nil, fault
	}
	var level int
	if json.Unmarshal(p["level"], &level) != nil || level < 1 || level > 4 {
		return nil, faultInvalidArgument("level")
	}
	out := []map[string]any{}
	for _, pc := range perfCounters {
		if pc.level <= level {
			out = append(out, pc.wire())
		}
	}
	return out, nil
}

// handleQueryAvailablePerfMetric is PerformanceManager.QueryAvailablePerfMetric.
// A powered-off VM has no realtime metrics (contract §2.3).
func handleQueryAvailablePerfMetric(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"entity": true, "beginTime": false, "endTime": false, "intervalId": false})
	if fault != nil {
		return nil, fault
	}
	var entity moRef
	if json.Unmarshal(p["entity"], &entity) != nil {
		return nil, faultInvalidArgument("entity")
	}
	e, ok, live := s.perfEntityOf(entity.Type, entity.Value)
	if !ok {
		return nil, faultNotFound(entity.Type, entity.Value)
	}
	interval := realtimeInterval
	if p.has("intervalId") && json.Unmarshal(p["intervalId"], &interval) != nil {
		return nil, faultInvalidArgument("intervalId")
	}
	period, _, level, enabled := s.intervalFor(interval)
	out := []map[string]any{}
	if !live || !enabled {
		return out, nil
	}
	for _, m := range s.available(e, period, level) {
		out = append(out, map[string]any{"_typeName": "PerfMetricId", "counterId": m.CounterID, "instance": m.Instance})
	}
	return out, nil
}

// querySpec is a PerfQuerySpec.
type querySpec struct {
	Entity     *moRef     `json:"entity"`
	StartTime  *time.Time `json:"startTime"`
	EndTime    *time.Time `json:"endTime"`
	MaxSample  int        `json:"maxSample"`
	MetricID   []metricID `json:"metricId"`
	IntervalID int        `json:"intervalId"`
	Format     string     `json:"format"`
}

// handleQueryPerf is PerformanceManager.QueryPerf (contract §2.4): one
// PerfEntityMetric per spec whose entity exists; an entity without data in
// the window comes back with its entity only.
func handleQueryPerf(s *Server, c *call) (any, *vimFault) {
	p, fault := decodeParams(c.body, map[string]bool{"querySpec": true})
	if fault != nil {
		return nil, fault
	}
	var specs []querySpec
	if json.Unmarshal(p["querySpec"], &specs) != nil {
		return nil, faultInvalidArgument("querySpec")
	}
	out := []map[string]any{}
	for _, q := range specs {
		if q.Entity == nil {
			return nil, faultInvalidArgument("querySpec.entity")
		}
		if q.Format != "" && q.Format != "normal" {
			return nil, newFault("NotSupported", "The operation is not supported on the object.")
		}
		e, ok, live := s.perfEntityOf(q.Entity.Type, q.Entity.Value)
		if !ok {
			continue // unknown entities are left out (contract §2.4)
		}
		result := map[string]any{"_typeName": "PerfEntityMetric", "entity": ref(q.Entity.Type, q.Entity.Value)}
		out = append(out, result)
		period, count, level, enabled := s.intervalFor(q.IntervalID)
		if !live || !enabled {
			continue
		}
		var stamps []int64
		for _, ts := range samples(s.now(), period, count) {
			if q.StartTime != nil && ts <= q.StartTime.Unix() || q.EndTime != nil && ts > q.EndTime.Unix() {
				continue
			}
			stamps = append(stamps, ts)
		}
		if period == realtimeInterval && q.MaxSample > 0 && len(stamps) > q.MaxSample {
			stamps = stamps[len(stamps)-q.MaxSample:]
		}
		if len(stamps) == 0 {
			continue
		}
		metrics := q.MetricID
		if metrics == nil {
			metrics = s.available(e, period, level)
		}
		var values []map[string]any
		for _, m := range s.expand(e, metrics, period, level) {
			pc, _ := counterByKey(m.CounterID)
			series := make([]int64, len(stamps))
			for i, ts := range stamps {
				series[i] = s.perfValue(e, pc, period, ts)
				if m.Instance != "" { // a device's share of the aggregate
					series[i] = int64(math.Round(float64(series[i]) / float64(max(1, len(s.devicesOf(e, pc))))))
				}
			}
			values = append(values, map[string]any{"_typeName": "PerfMetricIntSeries",
				"id": map[string]any{"_typeName": "PerfMetricId", "counterId": m.CounterID, "instance": m.Instance}, "value": series})
		}
		if len(values) == 0 {
			continue
		}
		info := make([]map[string]any, len(stamps))
		for i, ts := range stamps {
			info[i] = map[string]any{"_typeName": "PerfSampleInfo", "timestamp": vimTime(time.Unix(ts, 0)), "interval": period}
		}
		result["sampleInfo"], result["value"] = info, values
	}
	return out, nil
}

// expand keeps the asked metrics the entity has at this interval: "*"
// stands for the aggregate and every device; counters the catalogue lacks,
// or the interval does not collect, are left out (contract §2.2, §2.4).
func (s *Server) expand(e perfEntity, asked []metricID, period, level int) []metricID {
	have := map[metricID]bool{}
	for _, m := range s.available(e, period, level) {
		have[m] = true
	}
	var out []metricID
	seen := map[metricID]bool{}
	add := func(m metricID) {
		if have[m] && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, m := range asked {
		if m.Instance != "*" {
			add(m)
			continue
		}
		for _, a := range s.available(e, period, level) {
			if a.CounterID == m.CounterID {
				add(a)
			}
		}
	}
	return out
}
