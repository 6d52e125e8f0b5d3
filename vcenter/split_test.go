package vcenter

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// TestEveryListSplitsPastItsCap makes vCenter refuse each list's first,
// unfiltered query as too large (UNABLE_TO_ALLOCATE_RESOURCE, as it does
// past 2500 hosts or datastores and 1000 of the rest), and checks that the
// split answer equals the plain one.
func TestEveryListSplitsPastItsCap(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		path string
		list func(*Client) (any, ListStats, error)
	}{
		{"/api/vcenter/host", func(c *Client) (any, ListStats, error) { return c.ListHosts(ctx, HostFilter{}) }},
		{"/api/vcenter/datastore", func(c *Client) (any, ListStats, error) { return c.ListDatastores(ctx, DatastoreFilter{}) }},
		{"/api/vcenter/network", func(c *Client) (any, ListStats, error) { return c.ListNetworks(ctx, NetworkFilter{}) }},
		{"/api/vcenter/datacenter", func(c *Client) (any, ListStats, error) { return c.ListDatacenters(ctx, DatacenterFilter{}) }},
		{"/api/vcenter/cluster", func(c *Client) (any, ListStats, error) { return c.ListClusters(ctx, ClusterFilter{}) }},
		{"/api/vcenter/resource-pool", func(c *Client) (any, ListStats, error) { return c.ListResourcePools(ctx, ResourcePoolFilter{}) }},
		{"/api/vcenter/folder", func(c *Client) (any, ListStats, error) { return c.ListFolders(ctx, FolderFilter{}) }},
		{"/api/vcenter/vm", func(c *Client) (any, ListStats, error) { return c.ListVMs(ctx, VMFilter{}) }},
	} {
		t.Run(tt.path, func(t *testing.T) {
			sim := newSim(t, vcentersim.Options{})
			c := newClient(t, sim, ModeAPI)
			want, stats, err := tt.list(c)
			if err != nil || stats.Split {
				t.Fatalf("plain list: %v (split %v)", err, stats.Split)
			}
			sim.InjectFault(vcentersim.Fault{Method: "GET", Path: tt.path, Count: 1, ErrorType: "UNABLE_TO_ALLOCATE_RESOURCE", Message: "too many matches"})
			got, stats, err := tt.list(c)
			if err != nil {
				t.Fatalf("split list: %v", err)
			}
			if !stats.Split || stats.Requests < 2 {
				t.Errorf("stats %+v: the refused query was not split", stats)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("split answer differs from the plain one (-plain +split):\n%s", diff)
			}
		})
	}
}
