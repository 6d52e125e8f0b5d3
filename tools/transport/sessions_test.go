package transport

import "testing"

// TestReserveCountsSessionsOpenedAfterTheSnapshot: a session opened while
// another initialize took its snapshot of the live sessions is missing from
// that snapshot, yet alive: it counts toward the cap instead of being
// forgotten (the race that let 7 of 20 concurrent initializes past a cap
// of 5).
func TestReserveCountsSessionsOpenedAfterTheSnapshot(t *testing.T) {
	s := newSessions()
	snapshot := func() map[string]bool {
		// Another initialize takes the last place and opens its session
		// after this snapshot was taken.
		r, ok := s.reserve("fp", func() map[string]bool { return nil }, 1)
		if !ok {
			t.Fatal("the first initialize was refused")
		}
		r.opened("sid-A")
		return map[string]bool{}
	}
	if r, ok := s.reserve("fp", snapshot, 1); ok {
		r.release()
		t.Fatal("a second session was allowed past the cap of 1")
	}
	if _, ok := s.owner("sid-A"); !ok {
		t.Error("the live session was forgotten")
	}
	// A session that was gone before the snapshot is forgotten.
	if r, ok := s.reserve("fp", func() map[string]bool { return map[string]bool{} }, 1); !ok {
		t.Error("sid-A ended, yet its place was not given back")
	} else {
		r.release()
	}
	if _, ok := s.owner("sid-A"); ok {
		t.Error("a dead session is still known")
	}
}
