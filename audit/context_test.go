package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestContextRecord(t *testing.T) {
	ctx := context.Background()
	if FromContext(ctx) != nil {
		t.Fatal("FromContext(empty) != nil")
	}
	// Without a record the helpers do nothing, and do not panic.
	NoteTarget(ctx, "vm-1", "a")
	NoteTask(ctx, "task-1", TaskSuccess)

	rec := &Record{Tool: "power_on_vm"}
	ctx = WithRecord(ctx, rec)
	if FromContext(ctx) != rec {
		t.Fatal("FromContext does not return the record given to WithRecord")
	}
	NoteTarget(ctx, "vm-42", "web-01")
	NoteTask(ctx, "task-7", TaskLeftRunning)
	NoteTask(ctx, "task-7", TaskSuccess)
	want := &Record{Tool: "power_on_vm", Target: &Target{ID: "vm-42", Name: "web-01"}, Task: &Task{ID: "task-7", State: TaskSuccess}}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

// TestContextConcurrentNotes notes from many goroutines of one call; run with -race.
func TestContextConcurrentNotes(t *testing.T) {
	rec := new(Record)
	ctx := WithRecord(context.Background(), rec)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			NoteTarget(ctx, fmt.Sprintf("vm-%d", i), "x")
			NoteTask(ctx, fmt.Sprintf("task-%d", i), TaskSuccess)
			Update(ctx, func(r *Record) { r.DurationMS++ })
		})
	}
	wg.Wait()
	if rec.Target == nil || rec.Task == nil || rec.DurationMS != 20 {
		t.Errorf("record after concurrent notes = %+v", rec)
	}
}
