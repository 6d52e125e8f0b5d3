package tools

import (
	"context"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// listArgs is embedded by every list tool: the vCenter and the page.
type listArgs struct {
	hostArgs
	pageArgs
}

func (a listArgs) list() listArgs { return a }

// lister is the input of a list tool: its filters, with [listArgs] embedded.
type lister interface{ list() listArgs }

// listing is the handler of a paged list tool: connect to the vCenter, then
// serve a page of what fetch returns (fetched once per listing, see
// paginate). fetch resolves the filters of in and maps vCenter's objects to
// compact items, already sorted.
func listing[In lister, Item any](d Deps, fetch func(ctx context.Context, vc VCenter, in In) ([]Item, error)) mcp.ToolHandlerFor[In, page[Item]] {
	return func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, page[Item], error) {
		a := in.list()
		vc, err := connect(ctx, d, a.Hostname)
		if err != nil {
			return nil, page[Item]{}, err
		}
		key := listingKey(req.Params.Name, vc.Host(), in)
		p, _, err := paginate(d, key, a.pageArgs, func() ([]Item, error) { return fetch(ctx, vc, in) })
		return nil, p, err
	}
}

// listingKey identifies a listing: the tool, the vCenter and every argument
// but the page's (limit and cursor) and the hostname (the vCenter stands for
// it), so that a cursor serves only the listing it came from.
func listingKey(tool, host string, in any) string {
	b, _ := json.Marshal(in)
	var filters map[string]json.RawMessage
	_ = json.Unmarshal(b, &filters)
	delete(filters, "limit")
	delete(filters, "cursor")
	delete(filters, "hostname")
	return queryKey(tool, host, filters)
}
