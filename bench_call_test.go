package main

// The per-call benchmark behind BENCHMARKS.md's get_vm_details rows (issue
// 14): our server over stdio against the simulator, side by side with its
// floor and a raw HTTPS GET, in interleaved rounds on the same machine.
//
//	go test -run '^$' -bench BenchmarkCallFloor -benchtime 1x .
//	BENCH_BINARY=/path/to/old/vsphere-mcp-pro go test -run '^$' -bench BenchmarkCallFloor -benchtime 1x .
//
// BENCH_SERVER_ENV adds variables to the environment of both servers
// ("GOGC=200 GOMEMLIMIT=20MiB"), to try runtime settings.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// floorBinary builds testdata/floorcall: a go-sdk server whose one tool
// answers a stored result and does nothing else.
func floorBinary(b *testing.B) string { return buildTestdata(b, "floorcall") }

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// gcs counts the collections a child traced (GODEBUG=gctrace=1) so far.
func (l *lockedBuffer) gcs() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.HasPrefix(line, "gc ") {
			n++
		}
	}
	return n
}

// liveHeap is the heap left live by the last collection a child traced
// ("4->4->2 MB": 2), in MB; 0 before the first.
func (l *lockedBuffer) liveHeap() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(l.b.String(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.HasPrefix(lines[i], "gc ") {
			continue
		}
		for _, part := range strings.Split(lines[i], ",") {
			if f := strings.Fields(part); len(f) == 2 && f[1] == "MB" && strings.Count(f[0], "->") == 2 {
				v, _ := strconv.ParseFloat(f[0][strings.LastIndex(f[0], "->")+2:], 64)
				return v
			}
		}
	}
	return 0
}

// startTraced starts bin with env and GODEBUG=gctrace=1, its stderr kept.
func startTraced(b *testing.B, bin string, env []string) (*mcp.ClientSession, *exec.Cmd, *lockedBuffer) {
	b.Helper()
	cmd := exec.Command(bin)
	cmd.Env = benchEnv(b, append([]string{"GODEBUG=gctrace=1"}, env...)...)
	cmd.Env = append(cmd.Env, strings.Fields(os.Getenv("BENCH_SERVER_ENV"))...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		b.Fatal(err, stderr.b.String())
	}
	b.Cleanup(func() { cs.Close() })
	return cs, cmd, stderr
}

// rawCall builds and starts testdata/rawcall against sim, logged in with
// a session of its own, and returns a function that has it send the two
// requests get_vm_details sends for vm (or, with nop, only answer) and
// waits for its answer, and its process id.
func rawCall(b *testing.B, sim *vcentersim.Server, vm string) (func(nop bool), int) {
	b.Helper()
	ca := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sim.CACertPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(buildTestdata(b, "rawcall"))
	cmd.Env = []string{"RAWCALL_URL=" + sim.URL, "RAWCALL_TOKEN=" + rawLogin(b, sim), "RAWCALL_CA=" + ca, "RAWCALL_VM=" + vm}
	cmd.Stderr = os.Stderr
	stdin, answers := startPiped(b, cmd, 4096)
	return func(nop bool) {
		line := "go\n"
		if nop {
			line = "nop\n"
		}
		if _, err := io.WriteString(stdin, line); err != nil {
			b.Fatal(err)
		}
		if line, err := answers.ReadString('\n'); err != nil || line != "ok\n" {
			b.Fatalf("the raw client answered %q, %v", line, err)
		}
	}, cmd.Process.Pid
}

// cpuTime is a process's CPU time: the sum of its threads' run time in
// nanoseconds from /proc/PID/task/*/schedstat (Linux), or else user plus
// system time from /proc/PID/stat, in clock ticks of 10 ms (0 elsewhere).
// A call takes well under a tick, so only the first is precise enough to
// sum over single calls; a thread that exits between two readings takes its
// time with it, and Go's threads do not exit.
func cpuTime(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid)
	if tasks, err := os.ReadDir(dir + "/task"); err == nil {
		var sum time.Duration
		for _, t := range tasks {
			raw, err := os.ReadFile(dir + "/task/" + t.Name() + "/schedstat")
			if err != nil {
				continue // exited meanwhile
			}
			f := strings.Fields(string(raw)) // run time (ns), wait time, time slices
			if len(f) == 0 {
				break
			}
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(ns)
		}
		if sum > 0 {
			return sum
		}
	}
	raw, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of stat
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	const clockTick = 100                       // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTick
}

// BenchmarkCallFloor: get_vm_details of a powered-on VM with Tools (vm-76)
// over stdio against the simulator (no added latency), median of 600,
// interleaved call by call with the floor (testdata/floorcall answering
// the same result) and a raw HTTPS GET of the same VM from the simulator.
// A fourth party runs in the same rounds: testdata/rawcall, a plain
// net/http client in a process of its own sending the two requests
// get_vm_details sends (the VM and its guest identity, at once). The floor
// answers stored bytes and sends nothing, so its CPU leaves out the vCenter
// requests any get_vm_details must send; floor + rawcall does not.
//
// Reported: the medians, our time beyond floor + raw GET and beyond floor +
// rawcall, the CPU per call of our process against the floor's and against
// floor + rawcall's, vCenter requests per call
// (and per call for a VM that does not exist), the collections per 1000
// calls, and our resident memory after the run.
func BenchmarkCallFloor(b *testing.B) {
	bin, floor := benchBinary(b), floorBinary(b)
	sim, env := benchSimEnv(b, vcentersim.Options{})
	ours, oursCmd, oursErr := startTraced(b, bin, env)
	args := map[string]any{"vm_id": "vm-76"}
	call := func(cs *mcp.ClientSession) *mcp.CallToolResult {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_vm_details", Arguments: args})
		if err != nil || res.IsError {
			b.Fatal(err, res)
		}
		return res
	}
	result, err := json.Marshal(call(ours)) // log in, warm the caches
	if err != nil {
		b.Fatal(err)
	}
	stored := filepath.Join(b.TempDir(), "result.json")
	if err := os.WriteFile(stored, result, 0o600); err != nil {
		b.Fatal(err)
	}
	fl, floorCmd, _ := startTraced(b, floor, []string{"FLOOR_RESULT=" + stored})
	if got, _ := json.Marshal(call(fl)); !bytes.Equal(got, result) {
		b.Fatalf("the floor answers %s, want %s", got, result)
	}
	raw := rawGetVM(b, sim, "vm-76")
	raw()
	raw2, raw2Pid := rawCall(b, sim, "vm-76")
	raw2(false)
	for b.Loop() {
		const n = 600
		var oursT, floorT, rawT, raw2T, nopT []time.Duration
		var oursCPU, floorCPU, raw2CPU, nopCPU time.Duration
		sim.ResetCounters()
		gc0 := oursErr.gcs()
		for range n {
			c0 := cpuTime(oursCmd.Process.Pid)
			t0 := time.Now()
			call(ours)
			oursT = append(oursT, time.Since(t0))
			oursCPU += cpuTime(oursCmd.Process.Pid) - c0

			c0 = cpuTime(floorCmd.Process.Pid)
			t0 = time.Now()
			call(fl)
			floorT = append(floorT, time.Since(t0))
			floorCPU += cpuTime(floorCmd.Process.Pid) - c0

			t0 = time.Now()
			raw()
			rawT = append(rawT, time.Since(t0))

			c0 = cpuTime(raw2Pid)
			t0 = time.Now()
			raw2(false)
			raw2T = append(raw2T, time.Since(t0))
			raw2CPU += cpuTime(raw2Pid) - c0

			c0 = cpuTime(raw2Pid)
			t0 = time.Now()
			raw2(true)
			nopT = append(nopT, time.Since(t0))
			nopCPU += cpuTime(raw2Pid) - c0
		}
		gcs := oursErr.gcs() - gc0
		requests := sim.Counters().Requests - 3*n // the raw clients' requests (1 + 2 per call) left out
		sim.ResetCounters()
		if res, err := ours.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_vm_details", Arguments: map[string]any{"vm_id": "vm-99999"}}); err != nil || !res.IsError {
			b.Fatal(err, res)
		}
		missing := sim.Counters().Requests
		o, f, r := median(oursT), median(floorT), median(rawT)
		b.ReportMetric(ms(o), "ms-median")
		b.ReportMetric(ms(f), "ms-floor")
		b.ReportMetric(ms(r), "ms-rawGET")
		b.ReportMetric(ms(o-f-r), "ours-beyond-floor-ms")
		if floorCPU > 0 {
			b.ReportMetric(float64(oursCPU)/float64(floorCPU), "cpu-ratio-to-floor")
			// rawcall's own pipe and wake-up (its "nop") left out: the
			// floor's process pays those already.
			b.ReportMetric(float64(oursCPU)/float64(floorCPU+max(raw2CPU-nopCPU, 0)), "cpu-ratio-to-floor+raw2")
		}
		r2, nop := median(raw2T), median(nopT)
		b.ReportMetric(ms(r2), "ms-raw2")
		b.ReportMetric(ms(nop), "ms-raw2-nop")
		b.ReportMetric(ms(o-f-(r2-nop)), "ours-beyond-floor+raw2-ms")
		b.ReportMetric(float64(raw2CPU.Microseconds())/n, "raw2-cpu-µs/call")
		b.ReportMetric(float64(nopCPU.Microseconds())/n, "raw2-nop-cpu-µs/call")
		b.ReportMetric(float64(oursCPU.Microseconds())/n, "cpu-µs/call")
		b.ReportMetric(float64(floorCPU.Microseconds())/n, "floor-cpu-µs/call")
		b.ReportMetric(float64(requests)/n, "requests/call")
		b.ReportMetric(float64(missing), "requests/missing-VM")
		b.ReportMetric(float64(gcs)*1000/n, "GCs/1000calls")
		b.ReportMetric(oursErr.liveHeap(), "MB-live-heap")
		if rss := rssMiB(oursCmd.Process.Pid); rss > 0 {
			b.ReportMetric(rss, "MiB-RSS")
		}
		if raw, err := os.ReadFile("/proc/" + strconv.Itoa(oursCmd.Process.Pid) + "/smaps_rollup"); err == nil && os.Getenv("BENCH_SMAPS") != "" {
			b.Log(string(raw))
		}
	}
}
