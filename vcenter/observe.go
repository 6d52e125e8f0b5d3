package vcenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Observability reads (vcenter-api-observability.md): performance, events,
// alarms, tasks and tags. All but tagging go through VI/JSON, so they need
// vCenter 8.0 U1 or later. This file holds what they share: the managers
// ServiceContent names, entity references, and the per-client caches.

// obsCache is what the observability reads keep for the client's
// lifetime. Its zero value is ready; mu guards the fields, and load
// serialises the first reads so concurrent calls wait for one answer.
type obsCache struct {
	mu       sync.Mutex
	load     sync.Mutex
	managers *managers
	counters *counterCatalog
	alarms   map[string]cachedAlarm
	tags     map[string]cachedTag
	cats     map[string]cachedCategory
	catalog  *tagCatalog
}

// managers are the ids of the managers ServiceContent names (contract §0):
// stable on vCenter, but read, never assumed.
type managers struct {
	root, perf, event, alarm, task string
}

// EntityRef names an inventory object for the observability reads: its
// kind and id, and its name where known.
type EntityRef struct {
	Kind Kind
	ID   string
	Name string
}

// vimTypes maps kinds to the vim25 managed-object types.
var vimTypes = map[Kind]string{
	KindVM: "VirtualMachine", KindHost: "HostSystem", KindCluster: "ClusterComputeResource",
	KindDatacenter: "Datacenter", KindDatastore: "Datastore", KindFolder: "Folder",
	KindResourcePool: "ResourcePool", KindNetwork: "Network",
}

// VimType is the vim25 managed-object type of the entity ("VirtualMachine").
func (e EntityRef) VimType() string {
	if e.Kind == KindNetwork && strings.HasPrefix(e.ID, "dvportgroup-") {
		return "DistributedVirtualPortgroup"
	}
	return vimTypes[e.Kind]
}

// validate checks the entity's id against its kind.
func (e EntityRef) validate() error {
	if vimTypes[e.Kind] == "" {
		return fmt.Errorf("%s ids name no inventory entity", e.Kind)
	}
	return ValidateID(e.Kind, e.ID)
}

// entityKinds are tried in this order by [KindOfID].
var entityKinds = []Kind{KindVM, KindHost, KindCluster, KindDatacenter, KindDatastore, KindFolder, KindResourcePool, KindNetwork}

// KindOfID returns the entity kind whose grammar id matches.
func KindOfID(id string) (Kind, bool) {
	for _, k := range entityKinds {
		if LooksLikeID(k, id) {
			return k, true
		}
	}
	return "", false
}

// entityOf reads a MoRef from vCenter into an EntityRef; ok is false for a
// type or id this package does not address.
func entityOf(m moRef) (EntityRef, bool) {
	for k, t := range vimTypes {
		if t == m.Type || k == KindNetwork && m.Type == "DistributedVirtualPortgroup" {
			if LooksLikeID(k, m.Value) {
				return EntityRef{Kind: k, ID: m.Value}, true
			}
		}
	}
	return EntityRef{}, false
}

func (e EntityRef) moRef() moRef { return moRef{Type: e.VimType(), Value: e.ID} }

// needsVIJSONError is [ErrNoVIJSON] for one feature.
type needsVIJSONError struct{ what string }

func (e *needsVIJSONError) Error() string {
	return e.what + " need vCenter 8.0 U1 or later: this vCenter has no VI/JSON API (/sdk/vim25)"
}

// Is makes the error match [ErrNoVIJSON].
func (e *needsVIJSONError) Is(target error) bool { return target == ErrNoVIJSON }

// vimRead calls a VI/JSON method or reads a property like [Client.vim],
// with two differences: safe marks a POST that only reads (QueryPerf,
// QueryEvents) so that it is retried like a GET, and an absent VI/JSON is
// reported for what (e.g. "performance statistics").
//
// Security: safe is set only for methods that change nothing on vCenter;
// a collector read that moves its position is not safe.
func (c *Client) vimRead(ctx context.Context, what, method, moType, moID, member string, body, out any, safe bool) error {
	st, err := c.vimInfo(ctx)
	if errors.Is(err, ErrNoVIJSON) {
		return &needsVIJSONError{what}
	}
	if err != nil {
		return err
	}
	r := request{method: method, path: c.vimPath(st, moType, url.PathEscape(moID), member), safe: safe || method == http.MethodGet}
	if body != nil {
		r.body = marshal(body)
	}
	var resp *response
	if own := c.ownVIMSession(st); own != nil {
		resp, err = c.withSession(ctx, own, r, c.vimError)
	} else {
		resp, err = c.vimShared(ctx, st, r)
	}
	if err != nil {
		return err
	}
	defer resp.release()
	if out == nil {
		return nil
	}
	return decode(r.method, r.path, resp.body, out)
}

// obsManagers reads ServiceContent once and returns the managers' ids.
func (c *Client) obsManagers(ctx context.Context, what string) (managers, error) {
	o := &c.obs
	o.mu.Lock()
	m := o.managers
	o.mu.Unlock()
	if m != nil {
		return *m, nil
	}
	o.load.Lock()
	defer o.load.Unlock()
	o.mu.Lock()
	m = o.managers
	o.mu.Unlock()
	if m != nil {
		return *m, nil
	}
	var content struct {
		RootFolder   moRef `json:"rootFolder"`
		PerfManager  moRef `json:"perfManager"`
		EventManager moRef `json:"eventManager"`
		AlarmManager moRef `json:"alarmManager"`
		TaskManager  moRef `json:"taskManager"`
	}
	if err := c.vimRead(ctx, what, http.MethodGet, "ServiceInstance", "ServiceInstance", "content", nil, &content, true); err != nil {
		return managers{}, fmt.Errorf("read ServiceContent: %w", err)
	}
	got := managers{content.RootFolder.Value, content.PerfManager.Value, content.EventManager.Value, content.AlarmManager.Value, content.TaskManager.Value}
	for name, id := range map[string]string{"rootFolder": got.root, "perfManager": got.perf, "eventManager": got.event, "alarmManager": got.alarm, "taskManager": got.task} {
		if !validMoID(id) {
			return managers{}, fmt.Errorf("read ServiceContent: vCenter names no usable %s (%s)", name, quoteShort(id))
		}
	}
	o.mu.Lock()
	o.managers = &got
	o.mu.Unlock()
	return got, nil
}

// RootFolder returns the inventory's root folder, as ServiceContent names it.
func (c *Client) RootFolder(ctx context.Context) (EntityRef, error) {
	m, err := c.obsManagers(ctx, "events and alarms")
	if err != nil {
		return EntityRef{}, err
	}
	return EntityRef{Kind: KindFolder, ID: m.root, Name: "Datacenters"}, nil
}

// vimTimeOf formats a time for a VI/JSON body.
func vimTimeOf(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// EntityNames returns the names of refs by id, reading each kind's list
// once with an id filter, the lists in parallel. Ids it cannot name are
// left out.
func (c *Client) EntityNames(ctx context.Context, refs []EntityRef) map[string]string {
	byKind := map[Kind][]string{}
	for _, r := range refs {
		if r.validate() == nil && !slices.Contains(byKind[r.Kind], r.ID) {
			byKind[r.Kind] = append(byKind[r.Kind], r.ID)
		}
	}
	out := map[string]string{}
	var mu sync.Mutex
	put := func(id, name string) {
		mu.Lock()
		out[id] = name
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for k, ids := range byKind {
		wg.Go(func() {
			switch k {
			case KindVM:
				xs, _, _ := c.ListVMs(ctx, VMFilter{IDs: ids})
				for _, x := range xs {
					put(x.ID, x.Name)
				}
			case KindHost:
				xs, _, _ := c.ListHosts(ctx, HostFilter{IDs: ids})
				for _, x := range xs {
					put(x.ID, x.Name)
				}
			case KindCluster:
				xs, _, _ := c.ListClusters(ctx, ClusterFilter{IDs: ids})
				for _, x := range xs {
					put(x.ID, x.Name)
				}
			case KindDatacenter:
				xs, _, _ := c.ListDatacenters(ctx, DatacenterFilter{IDs: ids})
				for _, x := range xs {
					put(x.ID, x.Name)
				}
			case KindDatastore:
				xs, _, _ := c.ListDatastores(ctx, DatastoreFilter{IDs: ids})
				for _, x := range xs {
					put(x.ID, x.Name)
				}
			case KindFolder:
				xs, _, _ := c.ListFolders(ctx, FolderFilter{IDs: ids})
				for _, x := range xs {
					put(x.ID, x.Name)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// vimStamp is a vim25 xsd:dateTime in an observability answer. It decodes
// like time.Time but fails without quoting the value: time.Time's own
// error repeats vCenter's bytes, control characters included, into the
// error text (found by FuzzObservabilityResponse).
type vimStamp struct{ time.Time }

// UnmarshalJSON reads an RFC 3339 string; null or "" is the zero time.
func (t *vimStamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("a time stamp is not a string")
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errors.New("unreadable time stamp")
	}
	t.Time = v
	return nil
}
