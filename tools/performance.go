// Performance tools read vCenter's statistics (PerformanceManager over
// VI/JSON) for one VM or one host: averages, maxima and latest values over a
// period, with units, and optionally a downsampled series.

package tools

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// perfAPI reads performance statistics and host summaries.
type perfAPI interface {
	QueryPerf(ctx context.Context, q vcenter.PerfQuery) (vcenter.PerfResult, error)
	HistoricalIntervals(ctx context.Context) ([]vcenter.PerfInterval, error)
	HostStatus(ctx context.Context, host string) (vcenter.HostStatus, error)
}

// periods maps the period argument to vCenter's intervals.
var periods = map[string]struct {
	interval, maxSample int
	label               string
}{
	"realtime": {vcenter.IntervalRealtime, 180, "last hour, 20 s samples"},
	"day":      {vcenter.IntervalDay, 0, "last day, 5 min samples"},
	"week":     {vcenter.IntervalWeek, 0, "last week, 30 min samples"},
	"month":    {vcenter.IntervalMonth, 0, "last month, 2 h samples"},
}

var periodNames = []string{"realtime", "day", "week", "month"}

// maxSeriesPoints bounds a returned series per metric.
const maxSeriesPoints = 60

// metricDef is one reported metric: the counter behind it and how its raw
// values become the reported unit.
type metricDef struct {
	name, counter, unit string
	// convert maps a raw sample; interval is the sampling period in
	// seconds, cpus the VM's vCPUs (the host's cores).
	convert func(v float64, interval, cpus int) float64
}

func hundredths(v float64, _, _ int) float64 { return v / 100 }
func kbToMB(v float64, _, _ int) float64     { return v / 1024 }
func asIs(v float64, _, _ int) float64       { return v }

// readyPct turns cpu.ready.summation (ms of ready time summed over the
// vCPUs in the interval) into percent of the interval per vCPU, the
// figure VMware's guidance compares with 5 % (contract §2.1).
func readyPct(v float64, interval, cpus int) float64 {
	return v / (float64(interval) * 1000) * 100 / float64(max(cpus, 1))
}

var perfMetrics = []metricDef{
	{"cpu_usage", "cpu.usage.average", "%", hundredths},
	{"cpu_ready", "cpu.ready.summation", "% per CPU", readyPct},
	{"mem_active", "mem.active.average", "MB", kbToMB},
	{"mem_consumed", "mem.consumed.average", "MB", kbToMB},
	{"mem_ballooned", "mem.vmmemctl.average", "MB", kbToMB},
	{"mem_swapped", "mem.swapped.average", "MB", kbToMB},
	{"disk_latency_max", "disk.maxTotalLatency.latest", "ms", asIs},
	{"disk_read", "disk.read.average", "KBps", asIs},
	{"disk_write", "disk.write.average", "KBps", asIs},
	{"net_rx", "net.received.average", "KBps", asIs},
	{"net_tx", "net.transmitted.average", "KBps", asIs},
}

type metricOut struct {
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Avg    float64   `json:"avg"`
	Max    float64   `json:"max"`
	Latest float64   `json:"latest"`
	Series []float64 `json:"series,omitempty"`
}

type perfSummaryOut struct {
	Period      string      `json:"period"`
	IntervalS   int         `json:"interval_s"` // the sampling period vCenter used
	From        string      `json:"from"`
	To          string      `json:"to"`
	Samples     int         `json:"samples"`
	Metrics     []metricOut `json:"metrics"`
	SeriesTimes []string    `json:"series_times,omitempty"` // shared by every metric's series
	Unavailable []string    `json:"unavailable,omitempty"`  // metrics vCenter has no data for, and why
}

// perfSummary is a computed answer: what the tools return, plus raw
// figures investigate_vm reads.
type perfSummary struct {
	out perfSummaryOut
	by  map[string]metricOut
}

// queryPerf asks vCenter for metrics (all when nil) of entity over period.
func queryPerf(ctx context.Context, vc perfAPI, entity vcenter.EntityRef, what, period string, metrics []metricDef) (vcenter.PerfResult, error) {
	p, ok := periods[period]
	if !ok {
		return vcenter.PerfResult{}, argErrorf("period must be one of %s", strings.Join(periodNames, ", "))
	}
	if metrics == nil {
		metrics = perfMetrics
	}
	counters := make([]string, len(metrics))
	for i, m := range metrics {
		counters[i] = m.counter
	}
	res, err := vc.QueryPerf(ctx, vcenter.PerfQuery{Entity: entity, Interval: p.interval, MaxSamples: p.maxSample, Counters: counters})
	if errors.Is(err, vcenter.ErrUnknownCounter) {
		return res, fail("read performance of "+what, err, "this vCenter's counter catalogue lacks every counter this tool reads; check its statistics configuration with the vCenter administrator")
	}
	if err != nil {
		return res, fail("read performance of "+what, err, perfNext(err))
	}
	return res, nil
}

// summarisePerf turns a non-empty answer into the reported metrics (all
// when nil). cpus scales CPU ready to a per-vCPU figure.
func summarisePerf(res vcenter.PerfResult, metrics []metricDef, period string, cpus int, series bool) perfSummary {
	if metrics == nil {
		metrics = perfMetrics
	}
	sum := perfSummary{by: map[string]metricOut{}, out: perfSummaryOut{
		Period: period, IntervalS: res.Interval, From: stamp(res.Times[0].Add(-time.Duration(res.Interval) * time.Second)),
		To: stamp(res.Times[len(res.Times)-1]), Samples: len(res.Times), Metrics: make([]metricOut, 0, len(metrics)),
	}}
	step := (len(res.Times) + maxSeriesPoints - 1) / maxSeriesPoints
	if series {
		for i := 0; i < len(res.Times); i += step {
			sum.out.SeriesTimes = append(sum.out.SeriesTimes, stamp(res.Times[min(i+step, len(res.Times))-1]))
		}
	}
	for _, m := range metrics {
		values, ok := res.Series[m.counter]
		if !ok {
			sum.out.Unavailable = append(sum.out.Unavailable, unavailable(m, res, period))
			continue
		}
		mo := summarise(m, values, res.Interval, cpus)
		if series {
			mo.Series = downsample(m, values, res.Interval, cpus, step)
		}
		sum.out.Metrics = append(sum.out.Metrics, mo)
		sum.by[m.name] = mo
	}
	return sum
}

// summarise computes avg, max and latest over the samples vCenter has (a
// missing sample is -1), rounded to two decimals.
func summarise(m metricDef, values []int64, interval, cpus int) metricOut {
	out := metricOut{Name: m.name, Unit: m.unit}
	var total float64
	n := 0
	for _, v := range values {
		if v < 0 {
			continue
		}
		x := m.convert(float64(v), interval, cpus)
		total += x
		if n == 0 || x > out.Max {
			out.Max = x
		}
		out.Latest = x
		n++
	}
	if n > 0 {
		out.Avg = total / float64(n)
	}
	out.Avg, out.Max, out.Latest = round2(out.Avg), round2(out.Max), round2(out.Latest)
	return out
}

// downsample averages consecutive samples in buckets of step.
func downsample(m metricDef, values []int64, interval, cpus, step int) []float64 {
	out := make([]float64, 0, maxSeriesPoints)
	for i := 0; i < len(values); i += step {
		var total float64
		n := 0
		for _, v := range values[i:min(i+step, len(values))] {
			if v >= 0 {
				total += m.convert(float64(v), interval, cpus)
				n++
			}
		}
		if n == 0 {
			out = append(out, -1)
			continue
		}
		out = append(out, round2(total/float64(n)))
	}
	return out
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// unavailable says why a metric has no values: the catalogue lacks its
// counter, or the period's interval does not collect it.
func unavailable(m metricDef, res vcenter.PerfResult, period string) string {
	for _, u := range res.Unknown {
		if u == m.counter {
			return fmt.Sprintf("%s: this vCenter has no counter %s", m.name, m.counter)
		}
	}
	pc := res.Counters[m.counter]
	if period != "realtime" && pc.Level > 1 {
		return fmt.Sprintf("%s: %s is collected at statistics level %d, which this vCenter keeps in realtime only; use period realtime, or raise the %s interval's level", m.name, m.counter, pc.Level, period)
	}
	return fmt.Sprintf("%s: vCenter returned no values for %s", m.name, m.counter)
}

// noSamples explains an answer without samples: the entity is off, or the
// period's interval is disabled or keeps nothing yet.
func noSamples(ctx context.Context, vc perfAPI, what, period string, interval int, live bool) error {
	if !live {
		return argErrorf("%s is not running, so vCenter has no %s samples for it (it collects only while a VM is on or a host connected). Next: check its state with get_vm_details or list_hosts; period day or week may hold samples from before", what, period)
	}
	if period != "realtime" {
		if ivs, err := vc.HistoricalIntervals(ctx); err == nil {
			for _, iv := range ivs {
				if iv.Period == interval && !iv.Enabled {
					return fmt.Errorf("%s: the %q statistics interval is disabled on this vCenter, so it keeps no %s samples. Next: use period realtime, or ask the vCenter administrator to enable it (vCenter > Configure > Statistics)", what, iv.Name, period)
				}
			}
		}
		return fmt.Errorf("%s: vCenter has no %s samples yet (historical statistics roll up after collection, and only at the interval's statistics level). Next: use period realtime, or ask the vCenter administrator to check the statistics level (vCenter > Configure > Statistics)", what, period)
	}
	return fmt.Errorf("%s: vCenter returned no realtime samples. Next: try again in a minute; if it persists, check with `vsphere-mcp-pro doctor`", what)
}

// perfNext is the next step after a failed statistics read.
func perfNext(err error) string {
	if errors.Is(err, vcenter.ErrNoVIJSON) {
		return "performance, events, alarms and tasks are read through VI/JSON, which vCenter 8.0 GA lacks: upgrade vCenter to 8.0 U1 or later"
	}
	return ""
}

// perfLine is a one-line summary of the main figures.
func perfLine(s perfSummary) string {
	var parts []string
	for _, name := range []string{"cpu_usage", "cpu_ready", "mem_ballooned", "disk_latency_max"} {
		if m, ok := s.by[name]; ok {
			parts = append(parts, fmt.Sprintf("%s avg %.1f %s (max %.1f)", strings.ReplaceAll(name, "_", " "), m.Avg, m.Unit, m.Max))
		}
	}
	return strings.Join(parts, ", ")
}

// --- get_vm_performance ---

type perfArgs struct {
	Period string `json:"period,omitempty" jsonschema:"realtime (last hour; default), day, week or month"`
	Series bool   `json:"series,omitempty" jsonschema:"add a series of at most 60 points per metric"`
}

type getVMPerformanceIn struct {
	vmArgs
	perfArgs
}

type vmPerformanceOut struct {
	Summary string `json:"summary"`
	VM      vmRef  `json:"vm"`
	perfSummaryOut
}

func getVMPerformance(d Deps) Tool {
	return spec[getVMPerformanceIn, vmPerformanceOut]{
		Name: "get_vm_performance", Title: "Get VM performance",
		Description: "A VM's CPU usage and ready, memory active/consumed/ballooned/swapped, disk latency and throughput, network rx/tx: avg, max and latest over a period, with units; optional series.",
		Toolset:     ToolsetObservability, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `PerformanceManager.perfCounter` (once), `QueryPerf`; `GET /api/vcenter/vm?names=…`",
			On: "the VM (System.View is enough to read statistics)"},
		Example: `{"vm_name": "build-01"}`,
		Schema:  func(in, _ *schema) { in.enum("period", periodNames...) },
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in getVMPerformanceIn) (*mcp.CallToolResult, vmPerformanceOut, error) {
			vc, vm, err := resolveVM(ctx, d, in.vmArgs, needSummary)
			if err != nil {
				return nil, vmPerformanceOut{}, err
			}
			period := cmpOr(in.Period, "realtime")
			what := label(vm.Name, vm.ID)
			res, err := queryPerf(ctx, vc, vcenter.EntityRef{Kind: vcenter.KindVM, ID: vm.ID}, what, period, nil)
			if err != nil {
				return nil, vmPerformanceOut{}, err
			}
			if len(res.Times) == 0 {
				return nil, vmPerformanceOut{}, noSamples(ctx, vc, what, period, periods[period].interval, vm.PowerState == vcenter.PoweredOn)
			}
			s := summarisePerf(res, nil, period, vm.CPUCount, in.Series)
			out := vmPerformanceOut{VM: vmRef{vm.ID, vm.Name}, perfSummaryOut: s.out}
			out.Summary = fmt.Sprintf("%s, %s (%s): %s", what, period, periods[period].label, perfLine(s))
			return nil, out, nil
		},
	}.tool()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// --- get_host_performance ---

type getHostPerformanceIn struct {
	hostArgs
	HostID   string `json:"host_id,omitempty"`
	HostName string `json:"host_name,omitempty"`
	perfArgs
}

type capacityOut struct {
	CPUUsedMHz     int64   `json:"cpu_used_mhz"`
	CPUCapacityMHz int64   `json:"cpu_capacity_mhz"`
	CPUUsedPct     float64 `json:"cpu_used_pct"`
	MemUsedMB      int64   `json:"mem_used_mb"`
	MemTotalMB     int64   `json:"mem_total_mb"`
	MemUsedPct     float64 `json:"mem_used_pct"`
}

type hostPerformanceOut struct {
	Summary         string      `json:"summary"`
	Host            vmRef       `json:"host"`
	ConnectionState string      `json:"connection_state"`
	Maintenance     bool        `json:"maintenance"`
	Hardware        string      `json:"hardware,omitempty"`
	Now             capacityOut `json:"now"` // quick stats, a ~20 s snapshot
	perfSummaryOut
}

func getHostPerformance(d Deps) Tool {
	return spec[getHostPerformanceIn, hostPerformanceOut]{
		Name: "get_host_performance", Title: "Get host performance",
		Description: "A host's CPU and memory used against capacity now, and its CPU, ready, memory, disk latency and network statistics over a period (avg, max, latest).",
		Toolset:     ToolsetObservability, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `HostSystem.summary`, `PerformanceManager.QueryPerf`; `GET /api/vcenter/host?names=…`", On: "the host"},
		Example:    `{"host_name": "esx-ldn-04.corp.local"}`,
		Schema:     func(in, _ *schema) { in.enum("period", periodNames...) },
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in getHostPerformanceIn) (*mcp.CallToolResult, hostPerformanceOut, error) {
			vc, host, err := resolveHost(ctx, d, in.hostArgs, in.HostID, in.HostName)
			if err != nil {
				return nil, hostPerformanceOut{}, err
			}
			period := cmpOr(in.Period, "realtime")
			if _, ok := periods[period]; !ok {
				return nil, hostPerformanceOut{}, argErrorf("period must be one of %s", strings.Join(periodNames, ", "))
			}
			// The summary and the statistics are independent: one round trip.
			var (
				st    vcenter.HostStatus
				stErr error
				res   vcenter.PerfResult
				pErr  error
				wg    sync.WaitGroup
			)
			wg.Go(func() { st, stErr = vc.HostStatus(ctx, host.ID) })
			wg.Go(func() { res, pErr = queryPerf(ctx, vc, host, cmpOr(host.Name, host.ID), period, nil) })
			wg.Wait()
			if stErr != nil {
				return nil, hostPerformanceOut{}, fail("read host "+host.ID, stErr, hostNext(stErr))
			}
			what := label(st.Name, st.ID)
			audit.NoteTarget(ctx, st.ID, st.Name)
			if pErr != nil {
				return nil, hostPerformanceOut{}, pErr
			}
			if len(res.Times) == 0 {
				return nil, hostPerformanceOut{}, noSamples(ctx, vc, what, period, periods[period].interval, st.ConnectionState == "connected")
			}
			result := summarisePerf(res, nil, period, st.CPUCores, in.Series)
			out := hostPerformanceOut{Host: vmRef{st.ID, st.Name}, ConnectionState: st.ConnectionState, Maintenance: st.Maintenance,
				Hardware: strings.TrimSpace(st.Vendor + " " + st.Model), perfSummaryOut: result.out}
			out.Now = capacityOut{CPUUsedMHz: st.CPUUsageMHz, CPUCapacityMHz: st.CPUCapacityMHz, MemUsedMB: st.MemoryUsageMB, MemTotalMB: st.MemoryBytes >> 20}
			if st.CPUCapacityMHz > 0 {
				out.Now.CPUUsedPct = round2(float64(st.CPUUsageMHz) / float64(st.CPUCapacityMHz) * 100)
			}
			if out.Now.MemTotalMB > 0 {
				out.Now.MemUsedPct = round2(float64(st.MemoryUsageMB) / float64(out.Now.MemTotalMB) * 100)
			}
			out.Summary = fmt.Sprintf("%s now: CPU %.1f %% of %d MHz, memory %.1f %% of %d MB; %s: %s", what, out.Now.CPUUsedPct, st.CPUCapacityMHz,
				out.Now.MemUsedPct, out.Now.MemTotalMB, period, perfLine(result))
			return nil, out, nil
		},
	}.tool()
}

// resolveHost connects and resolves a host named by host_id or exact
// host_name (exactly one), noting it for the audit line.
func resolveHost(ctx context.Context, d Deps, a hostArgs, id, name string) (VCenter, vcenter.EntityRef, error) {
	switch {
	case id != "" && name != "":
		return nil, vcenter.EntityRef{}, argErrorf("give host_id or host_name, not both")
	case id == "" && name == "":
		return nil, vcenter.EntityRef{}, argErrorf("give host_id (like host-12) or host_name (the exact name); list_hosts shows both")
	}
	vc, err := connect(ctx, d, a.Hostname)
	if err != nil {
		return nil, vcenter.EntityRef{}, err
	}
	if id != "" {
		if err := vcenter.ValidateID(vcenter.KindHost, id); err != nil {
			return nil, vcenter.EntityRef{}, &argError{err.Error()}
		}
		audit.NoteTarget(ctx, id, "")
		return vc, vcenter.EntityRef{Kind: vcenter.KindHost, ID: id}, nil
	}
	hosts, _, err := vc.ListHosts(ctx, vcenter.HostFilter{Names: []string{name}})
	if err != nil {
		return nil, vcenter.EntityRef{}, explain(err)
	}
	switch len(hosts) {
	case 0:
		return nil, vcenter.EntityRef{}, argErrorf("no host is named %q (names are exact; list_hosts shows them)", truncate(name, 80))
	case 1:
		audit.NoteTarget(ctx, hosts[0].ID, hosts[0].Name)
		return vc, vcenter.EntityRef{Kind: vcenter.KindHost, ID: hosts[0].ID, Name: hosts[0].Name}, nil
	}
	var ids []string
	for _, h := range hosts {
		ids = append(ids, h.ID)
	}
	return nil, vcenter.EntityRef{}, argErrorf("%d hosts are named %q: %s. Next: call again with host_id", len(hosts), truncate(name, 80), strings.Join(ids, ", "))
}

// hostNext is the next step after a failed host read.
func hostNext(err error) string {
	switch {
	case errors.Is(err, vcenter.ErrNotFound):
		return "no such host: list_hosts shows the hosts and their ids"
	case errors.Is(err, vcenter.ErrNoVIJSON):
		return perfNext(err)
	}
	return ""
}
