package policy

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeBuckets is a shared store of buckets that can be made to fail; it
// counts what it was asked.
type fakeBuckets struct {
	mu     sync.Mutex
	down   error
	inner  *Limiter
	takes  map[string]int
	failed int
}

func (f *fakeBuckets) Take(key string) (bool, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		f.failed++
		return false, 0, f.down
	}
	f.takes[key]++
	return f.inner.Take(key)
}

func newFakeBuckets(t *testing.T, burst int) *fakeBuckets {
	return &fakeBuckets{inner: newTestLimiter(t, 0.001, burst), takes: map[string]int{}}
}

// TestDecideUsesTheSharedBuckets: with a store, every charge goes to it (two
// policies on one store share one bucket per token, as replicas do), and
// this process's own buckets are not used.
func TestDecideUsesTheSharedBuckets(t *testing.T) {
	store := newFakeBuckets(t, 3)
	tokens := `{"` + tokAlice + `": "ops"}`
	opts := Options{AuthEnforce: true, Rate: Rate{Enabled: true, RPS: 0.001, Burst: 3}, Buckets: store}
	a, _ := newPolicy(t, tokens, "", opts)
	b, _ := newPolicy(t, tokens, "", opts)
	id, _ := a.Resolve(tokAlice)
	var got []Decision
	for i, tool := range []string{"list_vms", "delete_vm", "list_vms", "list_vms", "power_on_vm"} {
		p := a
		if i%2 == 1 {
			p = b
		}
		got = append(got, p.Decide(Call{Tool: tool, Identity: id}).Decision)
	}
	// delete_vm is refused by the role and still charged.
	want := []Decision{Allowed, DeniedRole, Allowed, DeniedRate, DeniedRate}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions across two policies on one store (-want +got):\n%s", diff)
	}
	if store.takes[id.TokenFP] != 5 || a.limiter.size() != 0 || b.limiter.size() != 0 {
		t.Errorf("store charged %d times, local buckets %d and %d; want 5, 0, 0", store.takes[id.TokenFP], a.limiter.size(), b.limiter.size())
	}
	// A later stage of an admitted call does not reach the store.
	if v := a.Decide(Call{Tool: "list_vms", Identity: id, Charged: true}); !v.Allowed() || store.takes[id.TokenFP] != 5 {
		t.Errorf("charged stage: %+v, store charged %d times", v, store.takes[id.TokenFP])
	}
}

// TestDecideFailsClosedWhenTheStoreFails: a store that cannot be used
// refuses every call with denied_state, and reads too unless FailOpenReads;
// then reads are limited by the process's own bucket.
func TestDecideFailsClosedWhenTheStoreFails(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")
	for _, tt := range []struct {
		name     string
		failOpen bool
		calls    []string
		want     []Decision
	}{
		{"closed", false, []string{"list_vms", "power_on_vm", "delete_vm", "format_datastore"},
			[]Decision{DeniedState, DeniedState, DeniedState, DeniedState}},
		{"reads fail open, limited by the local bucket", true, []string{"list_vms", "power_on_vm", "get_vm_details", "list_vms", "whoami"},
			[]Decision{Allowed, DeniedState, Allowed, DeniedRate, DeniedRate}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeBuckets(t, 100)
			store.down = down
			p, _ := newPolicy(t, "", "", Options{Rate: Rate{Enabled: true, RPS: 0.001, Burst: 2}, Buckets: store, FailOpenReads: tt.failOpen})
			id := Identity{Role: RoleUnrestricted, TokenFP: Fingerprint(tokAlice)}
			var got []Decision
			for _, tool := range tt.calls {
				v := p.Decide(Call{Tool: tool, Identity: id})
				got = append(got, v.Decision)
				if v.Decision == DeniedState {
					if !v.Charged || !strings.Contains(v.Reason, "SERVER_STATE_URL") || strings.Contains(v.Reason, "10.0.0.7") {
						t.Errorf("denied_state verdict %+v: want charged, naming SERVER_STATE_URL, not the store's address", v)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			// Recovery: the store answers again, and the shared bucket is used.
			store.down = nil
			if v := p.Decide(Call{Tool: "power_on_vm", Identity: id}); !v.Allowed() || store.takes[id.TokenFP] != 1 {
				t.Errorf("after recovery: %+v, store charged %d times", v, store.takes[id.TokenFP])
			}
		})
	}
}

// TestDecideStoreErrOfAnApproval: an approval the store could not redeem
// refuses a state-changing call with denied_state, after the rules that come
// first.
func TestDecideStoreErrOfAnApproval(t *testing.T) {
	p, _ := newPolicy(t, "", "", Options{FailOpenReads: true})
	id := Identity{Role: RoleUnrestricted}
	err := ErrStoreUnavailable
	for _, tt := range []struct {
		name string
		call Call
		want Decision
	}{
		{"an approval not recorded", Call{Tool: "delete_vm", Identity: id, StoreErr: err, Confirmation: Approved}, DeniedState},
		{"not enforced: any role reaches the store rule", Call{Tool: "delete_vm", Identity: Identity{Role: "ghost"}, StoreErr: err}, DeniedState},
		{"a read with reads open", Call{Tool: "list_vms", Identity: id, StoreErr: err}, Allowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if v := p.Decide(tt.call); v.Decision != tt.want {
				t.Errorf("Decide(%+v) = %s (%s), want %s", tt.call, v.Decision, v.Reason, tt.want)
			}
		})
	}
	enforced, _ := newPolicy(t, `{"`+tokAlice+`": "read"}`, "", Options{AuthEnforce: true})
	rid, _ := enforced.Resolve(tokAlice)
	if v := enforced.Decide(Call{Tool: "delete_vm", Identity: rid, StoreErr: err}); v.Decision != DeniedRole {
		t.Errorf("a role that may not call the tool: %s, want denied_role (the role rule comes first)", v.Decision)
	}
}

// TestDecideIgnoresTheStoreWithoutRateLimits: RATE_LIMIT=false needs no
// bucket, so a failing store refuses nothing at the gate.
func TestDecideIgnoresTheStoreWithoutRateLimits(t *testing.T) {
	store := newFakeBuckets(t, 1)
	store.down = errors.New("down")
	p, _ := newPolicy(t, "", "", Options{Buckets: store})
	if v := p.Decide(Call{Tool: "power_on_vm", Identity: Identity{Role: RoleUnrestricted}}); !v.Allowed() || store.failed != 0 {
		t.Errorf("no rate limit: %+v, store asked %d times", v, store.failed)
	}
}

// fakeNonces is a shared record of issued and redeemed nonces that can be
// made to fail, or to forget (a restart).
type fakeNonces struct {
	mu     sync.Mutex
	down   error
	issued map[string]time.Time
	used   map[string]time.Time
}

func newFakeNonces() *fakeNonces {
	return &fakeNonces{issued: map[string]time.Time{}, used: map[string]time.Time{}}
}

func (f *fakeNonces) Issued(nonce []byte, expiry time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return f.down
	}
	f.issued[string(nonce)] = expiry
	return nil
}

func (f *fakeNonces) Redeem(nonce []byte, expiry time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return false, f.down
	}
	if _, ok := f.issued[string(nonce)]; !ok {
		return false, ErrStateUnknown
	}
	if _, dup := f.used[string(nonce)]; dup {
		return false, nil
	}
	f.used[string(nonce)] = expiry
	return true, nil
}

// TestSharedApproverRedeemsOnceAcrossApprovers: two approvers with one key
// and one store are one: a state redeemed by the first is a replay for the
// second; a store that fails refuses without using the state up; only what
// the store saw issued can be redeemed.
func TestSharedApproverRedeemsOnceAcrossApprovers(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	store := newFakeNonces()
	a, err := NewSharedApprover(key, time.Minute, store)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSharedApprover(key, time.Minute, store)
	if err != nil {
		t.Fatal(err)
	}
	bind := Binding{Tool: "delete_vm", TargetID: "vm-42", TokenFP: Fingerprint(tokAlice)}
	state, err := a.Issue(bind, []byte("req-1"))
	if err != nil {
		t.Fatal(err)
	}
	store.down = errors.New("i/o timeout")
	if _, err := b.Verify(state, bind); !errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrStateReplayed) {
		t.Fatalf("Verify with the store down = %v, want ErrStoreUnavailable", err)
	}
	store.down = nil
	data, err := b.Verify(state, bind)
	if err != nil || string(data) != "req-1" {
		t.Fatalf("first redeem (on b, after the store came back) = %q, %v", data, err)
	}
	if _, err := a.Verify(state, bind); !errors.Is(err, ErrStateReplayed) {
		t.Errorf("redeem on a = %v, want ErrStateReplayed", err)
	}
	// The expiry handed to the store is the state's.
	for _, exp := range store.used {
		if d := time.Until(exp); d <= 0 || d > time.Minute {
			t.Errorf("expiry handed to the store is %v from now, want within the ttl", d)
		}
	}
	// Checks before the store: a mismatch never reaches it.
	other := bind
	other.TargetID = "vm-43"
	fresh, _ := a.Issue(bind, nil)
	if _, err := a.Verify(fresh, other); !errors.Is(err, ErrStateMismatch) || len(store.used) != 1 {
		t.Errorf("mismatch = %v with %d nonces stored, want ErrStateMismatch and 1", err, len(store.used))
	}
	if a.used == nil || len(a.used) != 0 {
		t.Errorf("a shared approver kept %d nonces in memory", len(a.used))
	}

	// A store that cannot record an approval refuses to issue it.
	store.down = errors.New("i/o timeout")
	if _, err := a.Issue(bind, nil); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Issue with the store down = %v, want ErrStoreUnavailable", err)
	}
	store.down = nil
	// A store that lost its memory (a restart) vouches for nothing issued
	// before: the approval is refused rather than possibly replayed.
	pending, err := a.Issue(bind, nil)
	if err != nil {
		t.Fatal(err)
	}
	store.issued, store.used = map[string]time.Time{}, map[string]time.Time{}
	if _, err := b.Verify(pending, bind); !errors.Is(err, ErrStateUnknown) || errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("an approval the store forgot = %v, want ErrStateUnknown", err)
	}
	// An approval signed with the key but never recorded (another
	// deployment's, or this key's without the store) is refused too.
	loose, err := NewApprover(key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	unrecorded, _ := loose.Issue(bind, nil)
	if _, err := a.Verify(unrecorded, bind); !errors.Is(err, ErrStateUnknown) {
		t.Errorf("an approval the store never saw issued = %v, want ErrStateUnknown", err)
	}
}
