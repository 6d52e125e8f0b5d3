// Tag tools list vCenter's tag categories and tags (the Automation API's
// tagging service); list_vms filters by tags and get_vm_details shows a
// VM's tags with the helpers here.

package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// tagAPI reads tags and their associations.
type tagAPI interface {
	TagCatalog(ctx context.Context) (vcenter.TagCatalog, error)
	TagObjects(ctx context.Context, tagIDs []string) (map[string][]vcenter.EntityRef, error)
	ObjectTags(ctx context.Context, obj vcenter.EntityRef) ([]vcenter.Tag, error)
}

type tagItem struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type categoryItem struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Description     string    `json:"description,omitempty"`
	Cardinality     string    `json:"cardinality"` // SINGLE: one tag of it per object
	AssociableTypes []string  `json:"associable_types"`
	Tags            []tagItem `json:"tags"`
}

// --- list_tags ---

type listTagsIn struct {
	listArgs
	Categories []string `json:"categories,omitempty" jsonschema:"category names or ids"`
}

func listTags(d Deps) Tool {
	return spec[listTagsIn, page[categoryItem]]{
		Name: "list_tags", Title: "List tags",
		Description: "Tag categories with their tags (ids, names, cardinality, what they attach to); list_vms filters by tags; paged by category.",
		Toolset:     ToolsetTags, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "`GET /api/cis/tagging/category`, `…/category/{id}`, `GET /api/cis/tagging/tag`, `…/tag/{id}`", On: "the categories and tags"},
		Example:    `{}`,
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listTagsIn) ([]categoryItem, error) {
			cat, err := vc.TagCatalog(ctx)
			if err != nil {
				return nil, fail("read tags", err, "")
			}
			out := make([]categoryItem, 0, len(cat.Categories))
			for _, c := range cat.Categories {
				if len(in.Categories) > 0 && !slices.Contains(in.Categories, c.Name) && !slices.Contains(in.Categories, c.ID) {
					continue
				}
				it := categoryItem{ID: c.ID, Name: c.Name, Description: truncate(c.Description, 200), Cardinality: c.Cardinality,
					AssociableTypes: c.AssociableTypes, Tags: make([]tagItem, 0)}
				if it.AssociableTypes == nil {
					it.AssociableTypes = []string{}
				}
				for _, t := range cat.Tags {
					if t.CategoryID == c.ID {
						it.Tags = append(it.Tags, tagItem{ID: t.ID, Name: t.Name, Description: truncate(t.Description, 200)})
					}
				}
				out = append(out, it)
			}
			if len(in.Categories) > 0 && len(out) < len(in.Categories) {
				return nil, argErrorf("no tag category is named %s (list_tags without categories shows them)", strings.Join(in.Categories, ", "))
			}
			return out, nil
		}),
	}.tool()
}

// resolveTags turns tag filter values into tag ids: an id (a tag URN) is
// taken as it is; "Category:Name" or a bare name is looked up in the
// catalogue, and a bare name in several categories is refused.
func resolveTags(ctx context.Context, vc tagAPI, values []string) ([]string, error) {
	var ids, names []string
	for _, v := range values {
		switch {
		case vcenter.LooksLikeID(vcenter.KindTag, v):
			ids = append(ids, v)
		case v == "" || len(v) > 256:
			return nil, argErrorf("tags takes tag ids or names of at most 256 characters")
		default:
			names = append(names, v)
		}
	}
	if len(names) > 0 {
		cat, err := vc.TagCatalog(ctx)
		if err != nil {
			return nil, fail("read tags", err, "")
		}
		for _, n := range names {
			category, name, qualified := strings.Cut(n, ":")
			if !qualified {
				name = n
			}
			var matches []vcenter.Tag
			for _, t := range cat.Tags {
				if t.Name == name && (!qualified || t.Category == category) {
					matches = append(matches, t)
				}
			}
			switch len(matches) {
			case 0:
				return nil, argErrorf("no tag is named %q (names are exact; list_tags shows them)", truncate(n, 80))
			case 1:
				ids = append(ids, matches[0].ID)
			default:
				var qual []string
				for _, m := range matches {
					qual = append(qual, m.Category+":"+m.Name)
				}
				return nil, argErrorf("tag %q is in several categories: %s. Next: give Category:Name or the tag id", truncate(n, 80), strings.Join(qual, ", "))
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// vmsWithTags returns the ids of the VMs that carry every tag (ids), in
// one request.
func vmsWithTags(ctx context.Context, vc tagAPI, ids []string) (map[string]bool, error) {
	objs, err := vc.TagObjects(ctx, ids)
	if err != nil {
		return nil, fail("read tag associations", err, "")
	}
	var set map[string]bool
	for _, id := range ids {
		refs, ok := objs[id]
		if !ok {
			return nil, argErrorf("no tag has id %s (list_tags shows them)", id)
		}
		vms := map[string]bool{}
		for _, r := range refs {
			if r.Kind == vcenter.KindVM && (set == nil || set[r.ID]) {
				vms[r.ID] = true
			}
		}
		set = vms
	}
	return set, nil
}

// tagLabels names tags as "Category:Name".
func tagLabels(tags []vcenter.Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, fmt.Sprintf("%s:%s", t.Category, t.Name))
	}
	return out
}

// maxTaggedIDs is the most VM ids a tags filter passes to the VM list as
// its vms filter; past it the list is filtered here, to keep the query
// string short.
const maxTaggedIDs = 200

// vmTagFilter applies list_vms' tags filter to f: the VMs must carry every
// tag. It returns keep, which tells whether a listed VM passes (nil: no
// tags filter), and none when no VM carries them all.
func vmTagFilter(ctx context.Context, vc tagAPI, tags []string, f *vcenter.VMFilter) (keep func(string) bool, none bool, err error) {
	if len(tags) == 0 {
		return nil, false, nil
	}
	ids, err := resolveTags(ctx, vc, tags)
	if err != nil {
		return nil, false, err
	}
	set, err := vmsWithTags(ctx, vc, ids)
	if err != nil || len(set) == 0 {
		return nil, err == nil, err
	}
	if len(set) <= maxTaggedIDs && len(f.IDs) == 0 {
		for id := range set {
			f.IDs = append(f.IDs, id)
		}
		slices.SortFunc(f.IDs, strings.Compare)
	}
	return func(id string) bool { return set[id] }, false, nil
}
