package main

// Listing benchmarks (issue 14, "lists"): list_vms over stdio through the
// built binary against 20,000 and 50,000 simulated VMs at 2 ms per request,
// beside a raw client that runs the same split plan with net/http. Run with:
//
//	go test -run '^$' -bench ListVMsScale -benchtime 1x .
//
// BENCH_BINARY=/path/to/binary measures that binary instead of building one
// (for "before" figures from another commit).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// BenchmarkListVMsScale lists every VM of a scaled inventory: the first page
// of 1000 (which fetches the whole listing) and all pages, following
// next_cursor to the end, through two clients of two server processes each
// round: a go-sdk client (as a Go assistant would; its own decoding of each
// ~200 kB page is in the figure) and a bare pipe client (JSON-RPC lines
// written and read directly, each page decoded once with encoding/json, as
// BenchmarkStartup measures start-up). Metrics are medians over the rounds:
// ms-first-page, ms-all-pages, ms-server-cpu-all-pages (the server
// process's CPU time over all pages: steadier than wall time on a shared
// machine) for the go-sdk client; ms-first-page-pipe, ms-all-pages-pipe for
// the pipe client; requests (to vCenter, all pages), ms-raw (the raw
// client's listing) and ratio (ms-all-pages-pipe / ms-raw); and the go-sdk
// client's server's peak resident memory (VmHWM): before the first
// listing, after its first page and after every round.
func BenchmarkListVMsScale(b *testing.B) {
	bin := benchBinary(b)
	for _, n := range []int{20000, 50000} {
		b.Run(fmt.Sprintf("vms=%d", n), func(b *testing.B) {
			sim, env := benchSimEnv(b, vcentersim.Options{VMs: n})
			cs, cmd := connectBinary(b, bin, env)
			defer cs.Close()
			if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"}); err != nil {
				b.Fatal(err)
			}
			pipe := startPipe(b, bin, env)
			raw := &rawSplitLister{sim: sim, token: rawLogin(b, sim), par: 6}
			if got := len(raw.listAll(b)); got != n { // also warms the raw client's connections
				b.Fatalf("raw client listed %d VMs, want %d", got, n)
			}
			idle := procStatusMiB(cmd.Process.Pid, "VmHWM:")
			sim.SetLatency(2*time.Millisecond, 0)
			rounds := 5
			if n > 20000 {
				rounds = 3
			}
			for b.Loop() {
				var first, all, firstPipe, allPipe, rawT, cpu []time.Duration
				requests, pages := 0, 0
				hwmFirst := 0.0
				for round := range rounds {
					sim.ResetCounters()
					cpu0 := cpuTime(cmd.Process.Pid)
					t0 := time.Now()
					seen := make(map[string]bool, n)
					cursor := ""
					pages = 0
					for {
						args := map[string]any{"limit": 1000}
						if cursor != "" {
							args["cursor"] = cursor
						}
						res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_vms", Arguments: args})
						if err != nil || res.IsError {
							b.Fatal(err, res)
						}
						if pages == 0 {
							first = append(first, time.Since(t0))
							if round == 0 {
								hwmFirst = procStatusMiB(cmd.Process.Pid, "VmHWM:")
							}
						}
						pages++
						var p listPage
						if len(res.Content) != 1 {
							b.Fatalf("%d content blocks", len(res.Content))
						}
						if err := json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &p); err != nil {
							b.Fatal(err)
						}
						for _, it := range p.Items {
							seen[it.ID] = true
						}
						if cursor = p.NextCursor; cursor == "" {
							break
						}
					}
					all = append(all, time.Since(t0))
					cpu = append(cpu, cpuTime(cmd.Process.Pid)-cpu0)
					requests = sim.Counters().Requests
					if len(seen) != n {
						b.Fatalf("paged through %d distinct VMs, want %d", len(seen), n)
					}
					f, a := pipe.listAll(b, n)
					firstPipe, allPipe = append(firstPipe, f), append(allPipe, a)
					t0 = time.Now()
					if got := len(raw.listAll(b)); got != n {
						b.Fatalf("raw client listed %d VMs, want %d", got, n)
					}
					rawT = append(rawT, time.Since(t0))
				}
				b.ReportMetric(ms(median(first)), "ms-first-page")
				b.ReportMetric(ms(median(all)), "ms-all-pages")
				b.ReportMetric(ms(median(firstPipe)), "ms-first-page-pipe")
				b.ReportMetric(ms(median(allPipe)), "ms-all-pages-pipe")
				b.ReportMetric(ms(median(rawT)), "ms-raw")
				b.ReportMetric(float64(median(allPipe))/float64(median(rawT)), "ratio")
				b.ReportMetric(ms(median(cpu)), "ms-server-cpu-all-pages")
				b.ReportMetric(float64(requests), "requests")
				b.ReportMetric(float64(pages), "pages")
				if hwm := procStatusMiB(cmd.Process.Pid, "VmHWM:"); hwm > 0 {
					b.ReportMetric(idle, "MiB-peak-RSS-before")
					b.ReportMetric(hwmFirst, "MiB-peak-RSS-first-page")
					b.ReportMetric(hwm, "MiB-peak-RSS")
				}
			}
		})
	}
}

// listPage is what the benchmarks read of a list_vms page.
type listPage struct {
	NextCursor string `json:"next_cursor"`
	Items      []struct {
		ID string `json:"id"`
	} `json:"items"`
}

// pipeClient is a bare MCP client of a server process: JSON-RPC lines
// written to its stdin and read from its stdout, one call at a time.
type pipeClient struct {
	w  io.Writer
	r  *bufio.Reader
	id int
}

// startPiped starts cmd with its stdin and stdout as pipes (stdout read
// through a buffer of size bytes), and closes stdin and waits for it when
// the benchmark ends.
func startPiped(b *testing.B, cmd *exec.Cmd, size int) (io.WriteCloser, *bufio.Reader) {
	b.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	return stdin, bufio.NewReaderSize(stdout, size)
}

// startPipe starts bin with env and initialises a session over its pipes.
func startPipe(b *testing.B, bin string, env []string) *pipeClient {
	b.Helper()
	cmd := exec.Command(bin)
	cmd.Env = benchEnv(b, env...)
	stdin, stdout := startPiped(b, cmd, 256<<10)
	p := &pipeClient{w: stdin, r: stdout}
	p.send(b, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "bench-pipe", "version": "1"}})
	if _, err := io.WriteString(p.w, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		b.Fatal(err)
	}
	return p
}

// send writes one request and returns the result of its response.
func (p *pipeClient) send(b *testing.B, method string, params any) json.RawMessage {
	b.Helper()
	p.id++
	line, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": p.id, "method": method, "params": params})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.w.Write(append(line, '\n')); err != nil {
		b.Fatal(err)
	}
	for {
		line, err := p.r.ReadBytes('\n')
		if err != nil {
			b.Fatalf("%s: %v", method, err)
		}
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(line, &msg); err != nil || msg.ID != p.id {
			continue // a notification
		}
		if msg.Error != nil {
			b.Fatalf("%s: %s", method, msg.Error)
		}
		return msg.Result
	}
}

// listAll pages through list_vms by 1000 and returns the time to the first
// page and to the last.
func (p *pipeClient) listAll(b *testing.B, n int) (first, all time.Duration) {
	b.Helper()
	t0 := time.Now()
	seen := make(map[string]bool, n)
	cursor := ""
	for {
		args := map[string]any{"limit": 1000}
		if cursor != "" {
			args["cursor"] = cursor
		}
		var res struct {
			StructuredContent listPage `json:"structuredContent"`
			IsError           bool     `json:"isError"`
		}
		if err := json.Unmarshal(p.send(b, "tools/call", map[string]any{"name": "list_vms", "arguments": args}), &res); err != nil || res.IsError {
			b.Fatal(err, res)
		}
		if first == 0 {
			first = time.Since(t0)
		}
		for _, it := range res.StructuredContent.Items {
			seen[it.ID] = true
		}
		if cursor = res.StructuredContent.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != n {
		b.Fatalf("the pipe client paged through %d distinct VMs, want %d", len(seen), n)
	}
	return first, time.Since(t0)
}

// procStatusMiB reads one kB field of /proc/PID/status (Linux only) in MiB.
func procStatusMiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// rawSplitLister is the floor: the same split plan as the client (cluster
// and standalone host, then host, then VM folder), with at most par
// requests in flight, written directly on net/http and encoding/json —
// no validation, sanitising, sorting or paging.
type rawSplitLister struct {
	sim   *vcentersim.Server
	token string
	par   int
}

type rawVM struct {
	ID         string `json:"vm"`
	Name       string `json:"name"`
	PowerState string `json:"power_state"`
	CPUCount   int    `json:"cpu_count"`
	MemoryMiB  int64  `json:"memory_size_MiB"`
}

// get lists one resource; ok is false when vCenter refused for the cap.
func (l *rawSplitLister) get(b *testing.B, sem chan struct{}, resource string, q url.Values, out any) bool {
	sem <- struct{}{}
	defer func() { <-sem }()
	req, _ := http.NewRequest(http.MethodGet, l.sim.URL+"/api/vcenter/"+resource+"?"+q.Encode(), nil)
	req.Header.Set("vmware-api-session-id", l.token)
	resp, err := l.sim.Client().Do(req)
	if err != nil {
		b.Error(err)
		return false
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.Error(err)
		}
		return true
	case http.StatusInternalServerError:
		return false // UNABLE_TO_ALLOCATE_RESOURCE for this inventory
	}
	b.Errorf("%s: status %d", resource, resp.StatusCode)
	return false
}

func (l *rawSplitLister) listAll(b *testing.B) map[string]rawVM {
	sem := make(chan struct{}, l.par)
	var (
		mu  sync.Mutex
		out = map[string]rawVM{}
		wg  sync.WaitGroup
	)
	add := func(vms []rawVM) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range vms {
			out[v.ID] = v
		}
	}
	ids := func(resource, field string, q url.Values) []string {
		var items []map[string]any
		l.get(b, sem, resource, q, &items)
		s := make([]string, 0, len(items))
		for _, it := range items {
			s = append(s, it[field].(string))
		}
		return s
	}
	var vms []rawVM
	if l.get(b, sem, "vm", nil, &vms) {
		add(vms)
		return out
	}
	var folders []string
	var foldersOnce sync.Once
	byHost := func(h string) {
		var vms []rawVM
		if l.get(b, sem, "vm", url.Values{"hosts": {h}}, &vms) {
			add(vms)
			return
		}
		foldersOnce.Do(func() { folders = ids("folder", "folder", url.Values{"type": {"VIRTUAL_MACHINE"}}) })
		var fw sync.WaitGroup
		for _, f := range folders {
			fw.Go(func() {
				var vms []rawVM
				if l.get(b, sem, "vm", url.Values{"hosts": {h}, "folders": {f}}, &vms) {
					add(vms)
				}
			})
		}
		fw.Wait()
	}
	for _, c := range ids("cluster", "cluster", nil) {
		wg.Go(func() {
			var vms []rawVM
			if l.get(b, sem, "vm", url.Values{"clusters": {c}}, &vms) {
				add(vms)
				return
			}
			var hw sync.WaitGroup
			for _, h := range ids("host", "host", url.Values{"clusters": {c}}) {
				hw.Go(func() { byHost(h) })
			}
			hw.Wait()
		})
	}
	for _, h := range ids("host", "host", url.Values{"standalone": {"true"}}) {
		wg.Go(func() { byHost(h) })
	}
	wg.Wait()
	return out
}
