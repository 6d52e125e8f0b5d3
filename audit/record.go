package audit

import (
	"encoding/json"
	"time"
)

// Record is one audit line: one logical tool call, or the outcome of a call
// begun with [Log.Begin]. Field order is the order of the JSON object.
type Record struct {
	TS time.Time `json:"ts"` // start of the call; written as RFC 3339 UTC with nanoseconds
	// Phase is "" for a call recorded in one line ([Log.Append]) and
	// [PhaseEnd] for the outcome of a call begun with [Log.Begin]; the
	// begin line itself has [PhaseBegin]. The writer sets it.
	Phase Phase `json:"phase,omitempty"`
	// BeginSeq is the seq of the begin line an outcome answers; the writer
	// sets it.
	BeginSeq int64  `json:"begin_seq,omitempty"`
	Tool     string `json:"tool"`     // tool name, e.g. "power_on_vm"
	Decision string `json:"decision"` // a policy.Decision: allowed, denied_role, denied_rate, …
	OK       bool   `json:"ok"`       // the call succeeded (false for refusals and errors)
	// DurationMS is the time the call took, in milliseconds, with fractions:
	// float64(d.Microseconds()) / 1000.
	DurationMS float64         `json:"duration_ms"`
	Args       json.RawMessage `json:"args"`            // arguments as received; masked when written
	Error      string          `json:"error,omitempty"` // the error shown to the caller, if any
	Role       string          `json:"role"`
	TokenFP    string          `json:"token_fp"` // policy.Fingerprint of the token, never the token
	VCenter    string          `json:"vcenter"`  // host the call went to
	Target     *Target         `json:"target,omitempty"`
	Task       *Task           `json:"task,omitempty"`
	Client     Client          `json:"client"`
	RequestID  string          `json:"request_id"`

	// Seq and Prev chain the lines; the writer sets them and ignores any
	// value the caller put there.
	Seq  int64  `json:"seq"`
	Prev string `json:"prev"`
}

// Phase says which part of a call a line records.
type Phase string

// Phases of a call recorded in two lines ([Log.Begin], [Pending.Finish]).
const (
	PhaseBegin Phase = "begin" // the call is about to act; written and synced before it does
	PhaseEnd   Phase = "end"   // the outcome of the call begun at begin_seq
)

// beginRecord is the line [Log.Begin] writes: who is about to do what. It
// claims no outcome, so it has no ok, duration, error or task.
type beginRecord struct {
	TS        time.Time       `json:"ts"`
	Phase     Phase           `json:"phase"`
	Tool      string          `json:"tool"`
	Decision  string          `json:"decision,omitempty"`
	Args      json.RawMessage `json:"args"`
	Role      string          `json:"role"`
	TokenFP   string          `json:"token_fp"`
	VCenter   string          `json:"vcenter"`
	Target    *Target         `json:"target,omitempty"`
	Client    Client          `json:"client"`
	RequestID string          `json:"request_id"`
	Seq       int64           `json:"seq"`
	Prev      string          `json:"prev"`
}

func beginOf(r *Record) *beginRecord {
	return &beginRecord{
		TS: r.TS, Phase: PhaseBegin, Tool: r.Tool, Decision: r.Decision, Args: r.Args,
		Role: r.Role, TokenFP: r.TokenFP, VCenter: r.VCenter, Target: r.Target,
		Client: r.Client, RequestID: r.RequestID,
	}
}

// Target is the object a call acted on, once the handler knows it.
type Target struct {
	ID   string `json:"id"`   // managed object id, e.g. "vm-42"
	Name string `json:"name"` // display name, e.g. "web-01"
}

// Task is the vCenter task a call started, and how it ended for the caller.
type Task struct {
	ID    string    `json:"id"`
	State TaskState `json:"state"`
}

// TaskState is how a vCenter task stood when the call returned.
type TaskState string

// Task states.
const (
	TaskSuccess     TaskState = "success"
	TaskError       TaskState = "error"
	TaskCancelled   TaskState = "cancelled"
	TaskLeftRunning TaskState = "left_running" // the call returned before the task ended
)

// Client is the MCP client, as it introduced itself.
type Client struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}
