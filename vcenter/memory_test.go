package vcenter

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// hugeBodies is a vCenter that logs in normally and answers every other
// request with 200 and a well-formed JSON array of size bytes, streamed
// without a Content-Length (chunked) unless declared, as a misbehaving
// proxy or server would. The handler writes one fixed chunk over and over, so its own
// memory does not grow with size.
func hugeBodies(t *testing.T, size int64, declared bool) (*httptest.Server, *x509.CertPool, *atomic.Int64) {
	t.Helper()
	var sentBytes atomic.Int64
	item := []byte(`{"vm":"vm-9999999","name":"padding-padding-padding-padding","power_state":"POWERED_ON","cpu_count":2,"memory_size_MiB":4096},`)
	chunk := bytes.Repeat(item, (64<<10)/len(item))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/session" {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`"0123456789abcdef0123456789abcdef"`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if declared {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		_, _ = w.Write([]byte("["))
		for sent := int64(1); sent+int64(len(chunk)) < size; sent += int64(len(chunk)) {
			n, err := w.Write(chunk)
			sentBytes.Add(int64(n))
			if err != nil {
				return // the client stopped reading
			}
		}
		_, _ = w.Write([]byte(`{}]`)) // with a declared length, the client stops long before

	}))
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return srv, roots, &sentBytes
}

// memPeak samples the heap while f runs and reports the highest value of
// heap objects (live and not yet swept) above the level before f, and the
// growth of the process's peak resident set (VmHWM, Linux only; -1
// elsewhere). The peak RSS is reset first where the kernel allows it.
func memPeak(f func()) (heapPeak uint64, rssPeak int64, allocated uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBase := int64(-1)
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil { // resets VmHWM to the current RSS
		rssBase = vmStatus("VmRSS")
	}

	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssPeak = -1
	if rssBase >= 0 {
		rssPeak = vmStatus("VmHWM") - rssBase
	}
	if peak < base {
		return 0, rssPeak, after.TotalAlloc - before.TotalAlloc
	}
	return peak - base, rssPeak, after.TotalAlloc - before.TotalAlloc
}

// vmStatus reads a "kB" field of /proc/self/status in bytes, or -1.
func vmStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return n << 10
		}
	}
	return -1
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// TestOversizedAnswersStayWithinTheMemoryBound is the measurement behind
// RELIABILITY.md's response-size row: four GetVM at once (four reads in
// parallel: each VM read fails, so nothing more is sent) against a server
// that answers every read with a 200 MB body. Every read must fail with
// ErrBadAnswer, and the calls' peak heap must stay within twice the cap.
func TestOversizedAnswersStayWithinTheMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("streams hundreds of MB over loopback")
	}
	if raceEnabled {
		t.Skip("memory is not measurable under the race detector")
	}
	for _, tt := range []struct {
		capBytes int64
		declared bool // the answer has a Content-Length
	}{{0, false}, {32 << 20, false}, {0, true}} { // 0: the default cap; 32 MiB: the former default
		t.Run(fmt.Sprintf("cap=%d,declared=%v", tt.capBytes, tt.declared), func(t *testing.T) {
			srv, roots, sent := hugeBodies(t, 200_000_000, tt.declared)
			c, err := New(Config{Host: strings.TrimPrefix(srv.URL, "https://"), User: "u", Password: "p", RootCAs: roots,
				Retries: -1, Timeout: time.Minute, MaxBodyBytes: tt.capBytes, Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			if _, err := c.GetPower(context.Background(), "vm-1"); !errors.Is(err, ErrBadAnswer) { // log in, warm up
				t.Fatalf("GetPower = %v, want ErrBadAnswer", err)
			}
			sent.Store(0)
			callErrs := make([]error, 4)
			heap, rss, alloc := memPeak(func() {
				var wg sync.WaitGroup
				for i := range callErrs {
					wg.Go(func() { _, callErrs[i] = c.GetVM(context.Background(), "vm-1") })
				}
				wg.Wait()
			})
			for _, callErr := range callErrs {
				if !errors.Is(callErr, ErrBadAnswer) || !strings.Contains(callErr.Error(), "too large") {
					t.Fatalf("GetVM = %v, want ErrBadAnswer: too large", callErr)
				}
			}
			capBytes := c.cfg.MaxBodyBytes
			t.Logf("cap %s: 4 parallel reads, %s sent by the server; peak heap +%s, peak RSS +%s, allocated %s",
				mib(capBytes), mib(sent.Load()), mib(int64(heap)), mib(rss), mib(int64(alloc)))
			if int64(heap) > 2*capBytes {
				t.Errorf("peak heap grew by %s, more than twice the %s cap", mib(int64(heap)), mib(capBytes))
			}
			if rss >= 0 && rss > 2*capBytes {
				t.Errorf("peak RSS grew by %s, more than twice the %s cap", mib(rss), mib(capBytes))
			}
			if !tt.declared && sent.Load() < 4*capBytes {
				t.Errorf("the server sent %s: not every read reached the cap", mib(sent.Load()))
			}
			if tt.declared && int64(alloc) > capBytes/2 {
				t.Errorf("%s allocated for answers whose Content-Length was over the cap: want nothing read", mib(int64(alloc)))
			}
			if len(c.bodies.slot) != 0 {
				t.Error("the large-body slot is still held after the call")
			}
		})
	}
}

// TestLargeAnswersShareOneSlot reads answers past largeBodyBytes on every
// path that gets one (a success, an error, an expired session replayed, a
// VI/JSON read and fault), several at once: all must succeed or fail as
// vCenter said, none may wait forever for the large-body slot, and the
// slot must be free afterwards (a path that forgot to release it would
// stall every later large answer until its timeout).
func TestLargeAnswersShareOneSlot(t *testing.T) {
	pad := strings.Repeat("x", 2<<20)
	power := []byte(`{"state":"POWERED_ON","padding":"` + pad + `"}`)
	apiErr := []byte(`{"error_type":"RESOURCE_BUSY","messages":[{"id":"x","default_message":"busy ` + pad + `","args":[]}]}`)
	unauth := []byte(`{"error_type":"UNAUTHENTICATED","messages":[{"id":"x","default_message":"` + pad + `","args":[]}]}`)
	runtimeInfo := []byte(`{"_typeName":"VirtualMachineRuntimeInfo","host":{"_typeName":"ManagedObjectReference","type":"HostSystem","value":"host-15"},"padding":"` + pad + `"}`)
	fault := []byte(`{"_typeName":"InvalidState","faultstring":"` + pad + `"}`)

	sim := newSim(t, vcentersim.Options{})
	c := newClient(t, sim, ModeAPI, func(c *Config) { c.Timeout = 5 * time.Second; c.Retries = -1 })
	ctx := context.Background()
	if _, err := c.GetPower(ctx, "vm-70"); err != nil { // log in
		t.Fatal(err)
	}

	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/*/power", Count: 8, Status: 200, Body: power})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { _, err := c.GetPower(ctx, "vm-70"); errs <- err })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent large answers: %v", err)
		}
	}

	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/vm-71/power", Status: 500, Body: apiErr})
	if _, err := c.GetPower(ctx, "vm-71"); !errors.Is(err, ErrResourceBusy) {
		t.Errorf("large error answer: %v", err)
	}

	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/vm-72/power", Status: 401, Body: unauth})
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/api/vcenter/vm/vm-72/power", Status: 200, Body: power})
	if p, err := c.GetPower(ctx, "vm-72"); err != nil || p.State != PoweredOn {
		t.Errorf("large 401, then a large answer to the replay: %+v, %v", p, err)
	}

	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/sdk/vim25/8.0.3.0/VirtualMachine/vm-70/runtime", Status: 200, Body: runtimeInfo})
	sim.InjectFault(vcentersim.Fault{Method: "GET", Path: "/sdk/vim25/8.0.3.0/VirtualMachine/vm-70/parent", Status: 500, Body: fault})
	d, err := c.GetVM(ctx, "vm-70")
	if err != nil || d.Placement.HostID != "host-15" || !strings.Contains(d.Placement.Note, "InvalidState") {
		t.Errorf("GetVM with a large runtime and a large fault: %+v, %v", d.Placement, err)
	}

	sim.InjectFault(vcentersim.Fault{Method: "POST", Path: "/api/vcenter/vm/vm-73/power", Status: 200, Body: power})
	if err := c.Power(ctx, "vm-73", PowerStart); err != nil {
		t.Errorf("large answer to a void POST: %v", err)
	}
	if len(c.bodies.slot) != 0 {
		t.Error("the large-body slot is still held")
	}
}
