package vcenter

import (
	"context"
	"fmt"
	"testing"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// BenchmarkReadEventsPage reads one page of 100 events, newest first, from
// logs of 10,000 and 100,000 events: the client's memory per page
// (B/op, allocs/op, the simulator's share included: it runs in the same
// process) does not grow with the log, because a collector hands it one
// page at a time.
//
//	go test -run '^$' -bench ReadEventsPage -benchmem ./vcenter
func BenchmarkReadEventsPage(b *testing.B) {
	for _, total := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("events=%d", total), func(b *testing.B) {
			sim := vcentersim.NewServer(vcentersim.Options{Events: total})
			b.Cleanup(sim.Close)
			c := newBenchClient(b, sim)
			ctx := context.Background()
			if _, _, err := c.ReadEvents(ctx, EventFilter{}, nil, 100); err != nil { // log in, read ServiceContent
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				evs, more, err := c.ReadEvents(ctx, EventFilter{}, nil, 100)
				if err != nil || len(evs) != 100 || !more {
					b.Fatal(err, len(evs), more)
				}
			}
			b.ReportMetric(float64(sim.OpenEventCollectors()), "collectors-left")
		})
	}
}
