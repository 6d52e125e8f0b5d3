package main

// Benchmarks behind BENCHMARKS.md. Each drives the built binary over stdio,
// as a client does; the simulated vCenter runs in the test process so its
// latency and counters can be set and read. Run them with:
//
//	go test -run '^$' -bench . -benchtime 1x .
//
// Every benchmark takes its own fixed number of samples and reports the
// medians as metrics, so -benchtime 1x is enough.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// benchBinary is the server under test: BENCH_BINARY when set (a binary
// built from another commit, for before/after figures), else this tree's,
// built as releases are.
func benchBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("BENCH_BINARY"); bin != "" {
		return bin
	}
	bin, err := releaseBinary()
	if err != nil {
		b.Fatal(err)
	}
	return bin
}

// connectBinary starts the binary with env and returns a connected client.
func connectBinary(b *testing.B, bin string, env []string, args ...string) (*mcp.ClientSession, *exec.Cmd) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = benchEnv(b, env...)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return cs, cmd
}

// benchEnv is the environment of a server under benchmark: a PATH, its own
// HOME, warnings only, no rate limit, then env.
func benchEnv(b *testing.B, env ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "LOG_LEVEL=warn", "RATE_LIMIT=false"}, env...)
}

// benchSimEnv is simEnv for benchmarks.
func benchSimEnv(b *testing.B, opts vcentersim.Options) (*vcentersim.Server, []string) {
	b.Helper()
	sim := vcentersim.NewServer(opts)
	b.Cleanup(sim.Close)
	ca := b.TempDir() + "/ca.pem"
	if err := os.WriteFile(ca, sim.CACertPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	return sim, []string{"VCENTER_HOST=" + sim.Host(), "VCENTER_USER=" + sim.User(), "VCENTER_PASSWORD=" + sim.Password(),
		"VCENTER_CA_BUNDLE=" + ca, "AUTH_ENFORCE=false", "AUDIT_LOG_PATH=" + b.TempDir() + "/audit.jsonl"}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkColdStart: spawn → initialize → tools/list, median of 20. The
// server sends nothing to vCenter before the first tool call, so "vcenter"
// needs no vCenter; "simulate" also starts the embedded simulator.
func BenchmarkColdStart(b *testing.B) {
	bin := benchBinary(b)
	for _, mode := range []struct {
		name string
		env  []string
		args []string
	}{
		{"vcenter", []string{"VCENTER_HOST=vcenter.example.com", "VCENTER_USER=u", "VCENTER_PASSWORD=p", "AUTH_ENFORCE=false"}, nil},
		{"simulate", nil, []string{"--simulate"}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				var samples []time.Duration
				for range 20 {
					start := time.Now()
					cs, _ := connectBinary(b, bin, mode.env, mode.args...)
					if _, err := cs.ListTools(context.Background(), nil); err != nil {
						b.Fatal(err)
					}
					samples = append(samples, time.Since(start))
					cs.Close()
				}
				b.ReportMetric(ms(median(samples)), "ms-median")
			}
		})
	}
}

// BenchmarkGetVMDetails compares get_vm_details over stdio with one raw
// HTTP GET of the same VM from the simulator, at several simulated vCenter
// latencies; ratio = stdio median / raw median.
func BenchmarkGetVMDetails(b *testing.B) {
	bin := benchBinary(b)
	for _, latency := range []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", latency), func(b *testing.B) {
			sim, env := benchSimEnv(b, vcentersim.Options{})
			cs, _ := connectBinary(b, bin, env)
			defer cs.Close()
			call := func() {
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_vm_details", Arguments: map[string]any{"vm_id": "vm-76"}})
				if err != nil || res.IsError {
					b.Fatal(err, res)
				}
			}
			call() // log in, warm the name cache
			raw := rawGetVM(b, sim, "vm-76")
			raw()
			sim.SetLatency(latency, 0)
			for b.Loop() {
				var mcpT, rawT []time.Duration
				for range 50 {
					t0 := time.Now()
					call()
					mcpT = append(mcpT, time.Since(t0))
					t0 = time.Now()
					raw()
					rawT = append(rawT, time.Since(t0))
				}
				b.ReportMetric(ms(median(mcpT)), "ms-stdio")
				b.ReportMetric(ms(median(rawT)), "ms-raw")
				b.ReportMetric(float64(median(mcpT))/float64(median(rawT)), "ratio")
			}
		})
	}
}

func rawLogin(b *testing.B, sim *vcentersim.Server) string {
	req, _ := http.NewRequest(http.MethodPost, sim.URL+"/api/session", nil)
	req.SetBasicAuth(sim.User(), sim.Password())
	resp, err := sim.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok string
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		b.Fatal(err)
	}
	return tok
}

// BenchmarkListVMs20k lists 20,000 VMs (five times vCenter's per-query cap)
// with 2 ms of simulated latency per request: the time of the first page
// (which fetches the whole listing) and the requests it sent.
func BenchmarkListVMs20k(b *testing.B) {
	bin := benchBinary(b)
	sim, env := benchSimEnv(b, vcentersim.Options{VMs: 20000})
	cs, _ := connectBinary(b, bin, env)
	defer cs.Close()
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"}); err != nil {
		b.Fatal(err)
	}
	sim.SetLatency(2*time.Millisecond, 0)
	for b.Loop() {
		var samples []time.Duration
		requests := 0
		for range 5 { // a first page (no cursor) always lists afresh
			sim.ResetCounters()
			t0 := time.Now()
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_vms", Arguments: map[string]any{"limit": 1000}})
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
			samples = append(samples, time.Since(t0))
			requests = sim.Counters().Requests
		}
		b.ReportMetric(ms(median(samples)), "ms-median")
		b.ReportMetric(float64(requests), "requests")
	}
}

// BenchmarkFootprint: logins per 1000 calls, the size of tools/list and
// the server's resident memory after 1000 calls.
func BenchmarkFootprint(b *testing.B) {
	bin := benchBinary(b)
	sim, env := benchSimEnv(b, vcentersim.Options{})
	cs, cmd := connectBinary(b, bin, env)
	defer cs.Close()
	for b.Loop() {
		list, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := json.Marshal(list)
		tools := []string{"list_vms", "get_vm_details", "list_hosts", "list_vm_snapshots", "get_datastore_usage", "whoami", "power_on_vm", "power_off_vm"}
		for i := range 1000 {
			name := tools[i%len(tools)]
			args := map[string]any{}
			if strings.Contains(name, "vm") && name != "list_vms" {
				args["vm_name"] = "web-04"
			}
			if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(sim.Counters().Logins["api"]), "logins/1000calls")
		b.ReportMetric(float64(len(raw)), "tools/list-bytes")
		if rss := rssMiB(cmd.Process.Pid); rss > 0 {
			b.ReportMetric(rss, "MiB-RSS")
		}
	}
}

// rssMiB reads a process's resident set size from /proc (Linux only).
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// rawGetVM logs in to sim and returns the floor of a VM read: one GET of
// the VM with that session, its answer decoded, as a bare client would.
func rawGetVM(b *testing.B, sim *vcentersim.Server, vm string) func() {
	token := rawLogin(b, sim)
	return func() {
		req, _ := http.NewRequest(http.MethodGet, sim.URL+"/api/vcenter/vm/"+vm, nil)
		req.Header.Set("vmware-api-session-id", token)
		resp, err := sim.Client().Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err, resp)
		}
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
	}
}
