package audit

import (
	"context"
	"sync"
)

// holder carries the record of one call through its context. Handlers may note the
// target and task from several goroutines; mu guards rec.
type holder struct {
	mu  sync.Mutex
	rec *Record
}

type ctxKey struct{}

// WithRecord returns a context carrying rec, the record of the call running under it.
// The caller that creates the record (the audit middleware) writes it with
// [Log.Append] once the call has returned.
func WithRecord(ctx context.Context, rec *Record) context.Context {
	return context.WithValue(ctx, ctxKey{}, &holder{rec: rec})
}

// FromContext returns the record carried by ctx, or nil. While the call is running,
// change it only through [NoteTarget], [NoteTask] or [Update], which lock it.
func FromContext(ctx context.Context) *Record {
	if h := holderOf(ctx); h != nil {
		return h.rec
	}
	return nil
}

// Update runs fn on the record carried by ctx, holding its lock; it does nothing when
// ctx carries none.
func Update(ctx context.Context, fn func(*Record)) {
	h := holderOf(ctx)
	if h == nil || h.rec == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(h.rec)
}

// NoteTarget records the object the call acts on. Handlers call it as soon as they
// have resolved the target, so that a later failure is still attributed to it.
func NoteTarget(ctx context.Context, id, name string) {
	Update(ctx, func(r *Record) { r.Target = &Target{ID: id, Name: name} })
}

// NoteTask records the vCenter task the call started and its state; call it again
// when the state changes.
func NoteTask(ctx context.Context, id string, state TaskState) {
	Update(ctx, func(r *Record) { r.Task = &Task{ID: id, State: state} })
}

func holderOf(ctx context.Context) *holder {
	if ctx == nil {
		return nil
	}
	h, _ := ctx.Value(ctxKey{}).(*holder)
	return h
}
