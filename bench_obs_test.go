package main

// Benchmarks of the observability tools behind BENCHMARKS.md, over stdio
// against the built binary like bench_test.go:
//
//	go test -run '^$' -bench 'VMPerformance|ListEvents100k|InvestigateVM' -benchtime 1x .

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// obsCall calls a tool and returns the size of its text and its time.
func obsCall(b *testing.B, cs *mcp.ClientSession, name string, args map[string]any) (int, time.Duration) {
	b.Helper()
	t0 := time.Now()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	took := time.Since(t0)
	if err != nil || res.IsError {
		raw, _ := json.Marshal(res)
		b.Fatalf("%s: %v %s", name, err, raw)
	}
	n := 0
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			n += len(t.Text)
		}
	}
	return n, took
}

// BenchmarkVMPerformance: get_vm_performance after the first call (which
// reads the counter catalogue): vCenter requests per call, result size
// without series, and time at 2 ms simulated latency; median of 20.
func BenchmarkVMPerformance(b *testing.B) {
	bin := benchBinary(b)
	sim, env := benchSimEnv(b, vcentersim.Options{})
	cs, _ := connectBinary(b, bin, append(env, "VSPHERE_TOOLSETS=all"))
	defer cs.Close()
	args := map[string]any{"vm_name": "build-01"}
	obsCall(b, cs, "get_vm_performance", args)
	sim.SetLatency(2*time.Millisecond, 0)
	for b.Loop() {
		var took []time.Duration
		requests, size := 0, 0
		for range 20 {
			sim.ResetCounters()
			n, d := obsCall(b, cs, "get_vm_performance", args)
			took = append(took, d)
			requests, size = max(requests, sim.Counters().Requests), max(size, n)
		}
		b.ReportMetric(ms(median(took)), "ms-median")
		b.ReportMetric(float64(requests), "requests/call")
		b.ReportMetric(float64(size), "result-bytes")
	}
}

// BenchmarkListEvents100k: list_events over 100,000 events for the root
// folder at 2 ms simulated latency: the first page (no filter, limit 100),
// median of 10; then the server's resident memory after that page and after
// paging through all 100,000 events, which must not grow with the log.
func BenchmarkListEvents100k(b *testing.B) {
	bin := benchBinary(b)
	sim, env := benchSimEnv(b, vcentersim.Options{Events: 100_000})
	cs, cmd := connectBinary(b, bin, append(env, "VSPHERE_TOOLSETS=all"))
	defer cs.Close()
	obsCall(b, cs, "list_events", map[string]any{}) // log in, read ServiceContent
	sim.SetLatency(2*time.Millisecond, 0)
	for b.Loop() {
		var took []time.Duration
		requests := 0
		for range 10 {
			sim.ResetCounters()
			_, d := obsCall(b, cs, "list_events", map[string]any{})
			took = append(took, d)
			requests = max(requests, sim.Counters().Requests)
		}
		b.ReportMetric(ms(median(took)), "ms-first-page")
		b.ReportMetric(float64(requests), "requests/page")
		rssFirst := rssMiB(cmd.Process.Pid)
		sim.SetLatency(0, 0) // paging through: memory, not time
		seen, cursor := 0, ""
		for {
			args := map[string]any{"limit": 1000}
			if cursor != "" {
				args["cursor"] = cursor
			}
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_events", Arguments: args})
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
			var p struct {
				Returned   int    `json:"returned"`
				NextCursor string `json:"next_cursor"`
			}
			raw, _ := json.Marshal(res.StructuredContent)
			_ = json.Unmarshal(raw, &p)
			seen += p.Returned
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if seen != 100_000 {
			b.Fatalf("paged through %d events, want 100000", seen)
		}
		sim.SetLatency(2*time.Millisecond, 0)
		if rssFirst > 0 {
			b.ReportMetric(rssFirst, "MiB-RSS-first-page")
			b.ReportMetric(rssMiB(cmd.Process.Pid), "MiB-RSS-after-all")
		}
		b.ReportMetric(float64(sim.OpenEventCollectors()), "collectors-left")
	}
}

// BenchmarkInvestigateVM: investigate_vm on the story's VM after a first
// call that warms the caches (counter catalogue, alarm definitions, names):
// requests, result size, and time at 0 and 2 ms of simulated latency per
// request, medians of 20. The time the latency adds, in units of it, is the
// number of round trips the call waits for; the rest is CPU (client, MCP
// and, on the same two cores, the simulator).
func BenchmarkInvestigateVM(b *testing.B) {
	bin := benchBinary(b)
	sim, env := benchSimEnv(b, vcentersim.Options{})
	cs, _ := connectBinary(b, bin, append(env, "VSPHERE_TOOLSETS=all"))
	defer cs.Close()
	const latency = 2 * time.Millisecond
	for _, tt := range []struct {
		name string
		args map[string]any
	}{{"by-name", map[string]any{"vm_name": "build-01"}}, {"by-id", map[string]any{"vm_id": "vm-89"}}} {
		b.Run(tt.name, func(b *testing.B) {
			sim.SetLatency(0, 0)
			obsCall(b, cs, "investigate_vm", tt.args)
			for b.Loop() {
				requests, size := 0, 0
				at := map[time.Duration]time.Duration{}
				for _, l := range []time.Duration{0, latency} {
					sim.SetLatency(l, 0)
					var took []time.Duration
					for range 20 {
						sim.ResetCounters()
						n, d := obsCall(b, cs, "investigate_vm", tt.args)
						took = append(took, d)
						requests, size = max(requests, sim.Counters().Requests), max(size, n)
					}
					at[l] = median(took)
				}
				b.ReportMetric(ms(at[latency]), "ms-median")
				b.ReportMetric(ms(at[0]), "ms-median-no-latency")
				b.ReportMetric(float64(at[latency]-at[0])/float64(latency), "round-trips")
				b.ReportMetric(float64(requests), "requests")
				b.ReportMetric(float64(size), "result-bytes")
			}
		})
	}
}
