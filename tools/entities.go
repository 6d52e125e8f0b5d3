package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// This file resolves what the observability tools share: an entity named by
// id or name (VM, host, cluster, datacenter, datastore), and a time given
// as RFC 3339 or as a duration back from now.

// entityArgs names one inventory entity by id or exact name; entity_type
// narrows a name that several kinds of object carry.
type entityArgs struct {
	Entity     string `json:"entity,omitempty" jsonschema:"id (vm-42, host-12, domain-c7, datacenter-2, datastore-26) or exact name"`
	EntityType string `json:"entity_type,omitempty"`
}

// entityTypes are the values of entity_type, with their kinds.
var entityTypes = map[string]vcenter.Kind{
	"vm": vcenter.KindVM, "host": vcenter.KindHost, "cluster": vcenter.KindCluster,
	"datacenter": vcenter.KindDatacenter, "datastore": vcenter.KindDatastore,
}

var entityTypeNames = []string{"vm", "host", "cluster", "datacenter", "datastore"}

// typeOfKind names a kind as entity_type does.
var typeOfKind = map[vcenter.Kind]string{
	vcenter.KindVM: "vm", vcenter.KindHost: "host", vcenter.KindCluster: "cluster", vcenter.KindDatacenter: "datacenter",
	vcenter.KindDatastore: "datastore", vcenter.KindFolder: "folder", vcenter.KindResourcePool: "resource_pool", vcenter.KindNetwork: "network",
}

// resolveEntity turns entity (and entity_type) into a reference, or nil
// when none is given. An id is taken as it is; a name is looked up among
// the kinds entity_type allows (all five when unset), and must match
// exactly one object.
func resolveEntity(ctx context.Context, vc VCenter, a entityArgs) (*vcenter.EntityRef, error) {
	if a.Entity == "" {
		if a.EntityType != "" {
			return nil, argErrorf("entity_type narrows entity: give entity too")
		}
		return nil, nil
	}
	if len(a.Entity) > 256 {
		return nil, argErrorf("entity is longer than 256 characters: give an id or an exact name")
	}
	kinds := []vcenter.Kind{vcenter.KindVM, vcenter.KindHost, vcenter.KindCluster, vcenter.KindDatacenter, vcenter.KindDatastore}
	if a.EntityType != "" {
		k, ok := entityTypes[a.EntityType]
		if !ok {
			return nil, argErrorf("entity_type must be one of %s", strings.Join(entityTypeNames, ", "))
		}
		kinds = []vcenter.Kind{k}
	}
	for _, k := range kinds {
		if vcenter.LooksLikeID(k, a.Entity) {
			return &vcenter.EntityRef{Kind: k, ID: a.Entity}, nil
		}
	}
	if k, ok := vcenter.KindOfID(a.Entity); ok && a.EntityType == "" {
		return &vcenter.EntityRef{Kind: k, ID: a.Entity}, nil
	}
	var (
		mu    sync.Mutex
		found []vcenter.EntityRef
		errs  []error
		wg    sync.WaitGroup
	)
	add := func(k vcenter.Kind, id, name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		} else if id != "" {
			found = append(found, vcenter.EntityRef{Kind: k, ID: id, Name: name})
		}
	}
	names := []string{a.Entity}
	for _, k := range kinds {
		wg.Go(func() {
			switch k {
			case vcenter.KindVM:
				xs, _, err := vc.ListVMs(ctx, vcenter.VMFilter{Names: names})
				add(k, "", "", err)
				for _, x := range xs {
					add(k, x.ID, x.Name, nil)
				}
			case vcenter.KindHost:
				xs, _, err := vc.ListHosts(ctx, vcenter.HostFilter{Names: names})
				add(k, "", "", err)
				for _, x := range xs {
					add(k, x.ID, x.Name, nil)
				}
			case vcenter.KindCluster:
				xs, _, err := vc.ListClusters(ctx, vcenter.ClusterFilter{Names: names})
				add(k, "", "", err)
				for _, x := range xs {
					add(k, x.ID, x.Name, nil)
				}
			case vcenter.KindDatacenter:
				xs, _, err := vc.ListDatacenters(ctx, vcenter.DatacenterFilter{Names: names})
				add(k, "", "", err)
				for _, x := range xs {
					add(k, x.ID, x.Name, nil)
				}
			case vcenter.KindDatastore:
				xs, _, err := vc.ListDatastores(ctx, vcenter.DatastoreFilter{Names: names})
				add(k, "", "", err)
				for _, x := range xs {
					add(k, x.ID, x.Name, nil)
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, explain(errs[0])
	}
	switch len(found) {
	case 1:
		return &found[0], nil
	case 0:
		what := "VM, host, cluster, datacenter or datastore"
		if a.EntityType != "" {
			what = a.EntityType
		}
		return nil, argErrorf("no %s is named %q (names are exact; list_vms, list_hosts, list_clusters, list_datacenters and list_datastores show them)", what, truncate(a.Entity, 80))
	}
	var cands []string
	for _, f := range found {
		cands = append(cands, fmt.Sprintf("%s (%s)", f.ID, typeOfKind[f.Kind]))
	}
	return nil, argErrorf("%d objects are named %q: %s. Next: call again with entity set to one of these ids", len(found), truncate(a.Entity, 80), strings.Join(cands, ", "))
}

// entityOut names an entity in results.
type entityOut struct {
	Type string `json:"type"` // vm, host, cluster, datacenter, datastore, folder
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

func entityOutOf(e vcenter.EntityRef) entityOut {
	return entityOut{Type: typeOfKind[e.Kind], ID: e.ID, Name: e.Name}
}

// maxLookback bounds since/until: vCenter keeps events 30 days by
// default and performance for a year.
const maxLookback = 400 * 24 * time.Hour

// parseWhen reads a point in time: RFC 3339, or a duration back from now
// ("24h", "90m", "7d").
func parseWhen(arg, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.After(now.Add(time.Minute)) {
			return time.Time{}, argErrorf("%s %s is in the future", arg, s)
		}
		return t, nil
	}
	d, err := parseLookback(s)
	if err != nil {
		return time.Time{}, argErrorf("%s must be an RFC 3339 time (2026-12-01T08:00:00Z) or a duration back from now (24h, 90m, 7d), not %q", arg, truncate(s, 40))
	}
	return now.Add(-d), nil
}

// parseLookback reads a positive duration with Go's units plus "d" for days.
func parseLookback(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, err
		}
	}
	if d <= 0 || d > maxLookback {
		return 0, fmt.Errorf("out of range")
	}
	return d, nil
}

// window reads since and until; until defaults to now, since to zero (no
// bound) or def when given.
func window(since, until string, now time.Time, def time.Duration) (from, to time.Time, err error) {
	to = now
	if until != "" {
		if to, err = parseWhen("until", until, now); err != nil {
			return
		}
	}
	if since != "" {
		if from, err = parseWhen("since", since, now); err != nil {
			return
		}
	} else if def > 0 {
		from = to.Add(-def)
	}
	if !from.IsZero() && !from.Before(to) {
		err = argErrorf("since must be before until")
	}
	return
}

// stamp writes a time for results: RFC 3339 in UTC, "" when unset.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ago says how long before now t was, roughly ("9h43m", "3d").
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
