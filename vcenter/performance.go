package vcenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// PerformanceManager (vcenter-api-observability.md §2). Counter keys are
// assigned per vCenter, so names are mapped to keys from the perfCounter
// catalogue, read once per client.

// PerfCounter is one counter of vCenter's catalogue.
type PerfCounter struct {
	Key   int32
	Name  string // group.name.rollup, e.g. "cpu.ready.summation"
	Unit  string // unitInfo.key: percent, millisecond, kiloBytes, kiloBytesPerSecond, megaHertz
	Stats string // rate, delta, absolute
	Level int    // the statistics level that collects it
}

type counterCatalog struct {
	byName map[string]PerfCounter
	byKey  map[int32]PerfCounter
}

// ErrUnknownCounter is matched by [*UnknownCounterError].
var ErrUnknownCounter = errors.New("unknown performance counter")

// UnknownCounterError names counters the vCenter's catalogue lacks.
type UnknownCounterError struct{ Names []string }

func (e *UnknownCounterError) Error() string {
	return "this vCenter has no performance counter " + strings.Join(e.Names, ", ")
}

// Is makes the error match [ErrUnknownCounter].
func (e *UnknownCounterError) Is(target error) bool { return target == ErrUnknownCounter }

const perfWhat = "performance statistics"

// PerfCounters returns vCenter's counter catalogue by name. It is read once
// per client; a failed read is tried again on the next call.
func (c *Client) PerfCounters(ctx context.Context) (map[string]PerfCounter, error) {
	cat, err := c.counters(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]PerfCounter, len(cat.byName))
	for k, v := range cat.byName {
		out[k] = v
	}
	return out, nil
}

func (c *Client) counters(ctx context.Context) (*counterCatalog, error) {
	o := &c.obs
	o.mu.Lock()
	cat := o.counters
	o.mu.Unlock()
	if cat != nil {
		return cat, nil
	}
	m, err := c.obsManagers(ctx, perfWhat)
	if err != nil {
		return nil, err
	}
	o.load.Lock()
	defer o.load.Unlock()
	o.mu.Lock()
	cat = o.counters
	o.mu.Unlock()
	if cat != nil {
		return cat, nil
	}
	type desc struct {
		Key string `json:"key"`
	}
	var infos []struct {
		Key        int32  `json:"key"`
		NameInfo   desc   `json:"nameInfo"`
		GroupInfo  desc   `json:"groupInfo"`
		UnitInfo   desc   `json:"unitInfo"`
		RollupType string `json:"rollupType"`
		StatsType  string `json:"statsType"`
		Level      int    `json:"level"`
	}
	if err := c.vimRead(ctx, perfWhat, http.MethodGet, "PerformanceManager", m.perf, "perfCounter", nil, &infos, true); err != nil {
		return nil, fmt.Errorf("read the performance counter catalogue: %w", err)
	}
	cat = &counterCatalog{byName: map[string]PerfCounter{}, byKey: map[int32]PerfCounter{}}
	for _, in := range infos {
		pc := PerfCounter{Key: in.Key, Name: sanitize(in.GroupInfo.Key+"."+in.NameInfo.Key+"."+in.RollupType, 128),
			Unit: sanitize(in.UnitInfo.Key, 32), Stats: sanitize(in.StatsType, 16), Level: in.Level}
		if _, dup := cat.byName[pc.Name]; !dup {
			cat.byName[pc.Name] = pc
		}
		cat.byKey[pc.Key] = pc
	}
	o.mu.Lock()
	o.counters = cat
	o.mu.Unlock()
	return cat, nil
}

// Sampling periods of the performance intervals (contract §2.2).
const (
	IntervalRealtime = 20    // last hour
	IntervalDay      = 300   // "Past day"
	IntervalWeek     = 1800  // "Past week"
	IntervalMonth    = 7200  // "Past month"
	IntervalYear     = 86400 // "Past year"
)

// PerfQuery asks for the aggregate instance of some counters of one entity.
type PerfQuery struct {
	Entity   EntityRef
	Interval int      // sampling period in seconds; see the Interval constants
	Counters []string // names, "cpu.usage.average"
	// MaxSamples keeps the newest samples; vCenter honours it for realtime
	// only. Zero for all.
	MaxSamples int
	// Start (exclusive) and End (inclusive) bound the samples; zero for the
	// whole retention of the interval.
	Start, End time.Time
}

// PerfResult is the answer to a [PerfQuery]. A series value of -1 is a
// missing sample.
type PerfResult struct {
	// Interval is the sampling period vCenter used, which may differ from
	// the one asked (the best interval available, contract §2.4).
	Interval int
	Times    []time.Time // ascending
	Series   map[string][]int64
	Counters map[string]PerfCounter
	// Unknown are asked counters the catalogue lacks; NoData those it has
	// but vCenter returned no values for (not collected at this interval's
	// statistics level, or not available for the entity).
	Unknown, NoData []string
}

// QueryPerf runs one PerformanceManager.QueryPerf. Every asked counter is
// resolved through the catalogue first; when none is known the error is an
// [*UnknownCounterError]. An entity without samples in the window gives a
// result without Times.
func (c *Client) QueryPerf(ctx context.Context, q PerfQuery) (PerfResult, error) {
	if err := q.Entity.validate(); err != nil {
		return PerfResult{}, err
	}
	cat, err := c.counters(ctx)
	if err != nil {
		return PerfResult{}, err
	}
	res := PerfResult{Series: map[string][]int64{}, Counters: map[string]PerfCounter{}}
	type metricID struct {
		TypeName  string `json:"_typeName"`
		CounterID int32  `json:"counterId"`
		Instance  string `json:"instance"`
	}
	var ids []metricID
	for _, name := range q.Counters {
		pc, ok := cat.byName[name]
		if !ok {
			res.Unknown = append(res.Unknown, name)
			continue
		}
		res.Counters[name] = pc
		ids = append(ids, metricID{"PerfMetricId", pc.Key, ""})
	}
	if len(ids) == 0 {
		return res, &UnknownCounterError{Names: res.Unknown}
	}
	m, err := c.obsManagers(ctx, perfWhat)
	if err != nil {
		return PerfResult{}, err
	}
	spec := map[string]any{"_typeName": "PerfQuerySpec", "entity": q.Entity.moRef(), "metricId": ids,
		"intervalId": q.Interval, "format": "normal"}
	if q.MaxSamples > 0 {
		spec["maxSample"] = q.MaxSamples
	}
	if !q.Start.IsZero() {
		spec["startTime"] = vimTimeOf(q.Start)
	}
	if !q.End.IsZero() {
		spec["endTime"] = vimTimeOf(q.End)
	}
	var answer []struct {
		Entity     moRef `json:"entity"`
		SampleInfo []struct {
			Timestamp vimStamp `json:"timestamp"`
			Interval  int      `json:"interval"`
		} `json:"sampleInfo"`
		Value []struct {
			ID struct {
				CounterID int32  `json:"counterId"`
				Instance  string `json:"instance"`
			} `json:"id"`
			Value []int64 `json:"value"`
		} `json:"value"`
	}
	body := map[string]any{"querySpec": []any{spec}}
	if err := c.vimRead(ctx, perfWhat, http.MethodPost, "PerformanceManager", m.perf, "QueryPerf", body, &answer, true); err != nil {
		return PerfResult{}, fmt.Errorf("query performance of %s: %w", q.Entity.ID, err)
	}
	// Results pair with specs by entity, never by position (contract §2.4).
	for _, a := range answer {
		if a.Entity.Value != q.Entity.ID {
			continue
		}
		// Samples pair with sampleInfo by index; sort them by time, as the
		// order differs between vCenter and govmomi (contract §8).
		order := make([]int, len(a.SampleInfo))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return a.SampleInfo[x].Timestamp.Compare(a.SampleInfo[y].Timestamp.Time) })
		for _, i := range order {
			res.Times = append(res.Times, a.SampleInfo[i].Timestamp.Time)
			if res.Interval == 0 {
				res.Interval = a.SampleInfo[i].Interval
			}
		}
		for _, v := range a.Value {
			pc, ok := cat.byKey[v.ID.CounterID]
			if !ok || v.ID.Instance != "" || len(v.Value) != len(a.SampleInfo) {
				continue
			}
			series := make([]int64, len(order))
			for j, i := range order {
				series[j] = v.Value[i]
			}
			res.Series[pc.Name] = series
		}
	}
	if res.Interval == 0 {
		res.Interval = q.Interval
	}
	for _, name := range q.Counters {
		if _, asked := res.Counters[name]; asked && res.Series[name] == nil {
			res.NoData = append(res.NoData, name)
		}
	}
	return res, nil
}

// PerfInterval is one historical interval (PerformanceManager.historicalInterval).
type PerfInterval struct {
	Period  int // samplingPeriod, seconds
	Name    string
	Length  int // seconds kept
	Level   int // statistics level collected
	Enabled bool
}

// HistoricalIntervals reads the historical intervals, which say why a
// period has no data: disabled, or a level too low for a counter.
func (c *Client) HistoricalIntervals(ctx context.Context) ([]PerfInterval, error) {
	m, err := c.obsManagers(ctx, perfWhat)
	if err != nil {
		return nil, err
	}
	var ivs []struct {
		SamplingPeriod int    `json:"samplingPeriod"`
		Name           string `json:"name"`
		Length         int    `json:"length"`
		Level          int    `json:"level"`
		Enabled        bool   `json:"enabled"`
	}
	if err := c.vimRead(ctx, perfWhat, http.MethodGet, "PerformanceManager", m.perf, "historicalInterval", nil, &ivs, true); err != nil {
		return nil, fmt.Errorf("read the historical intervals: %w", err)
	}
	out := make([]PerfInterval, 0, len(ivs))
	for _, iv := range ivs {
		out = append(out, PerfInterval{Period: iv.SamplingPeriod, Name: sanitize(iv.Name, 64), Length: iv.Length, Level: iv.Level, Enabled: iv.Enabled})
	}
	return out, nil
}
