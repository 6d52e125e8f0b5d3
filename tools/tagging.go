// Tag changes attach and detach a tag on a VM, host, datastore, cluster or
// datacenter (vcenter-api-changes.md §4). Both are additive and idempotent:
// attaching a tag already there, or detaching one that is not, changes
// nothing. Inverses: tag_object ↔ untag_object.

package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// tagWriteAPI attaches and detaches tags.
type tagWriteAPI interface {
	AttachTag(ctx context.Context, tag string, obj vcenter.EntityRef) error
	DetachTag(ctx context.Context, tag string, obj vcenter.EntityRef) error
}

type tagObjectIn struct {
	hostArgs
	Tag string `json:"tag" jsonschema:"Category:Name, name or id"`
	entityArgs
	dryRunArgs
}

type tagObjectOut struct {
	Object  entityOut `json:"object"`
	Tag     tagItem   `json:"tag"`
	Changed bool      `json:"changed"`
	Tags    []string  `json:"tags"` // the object's tags after the change, as Category:Name
}

func tagObject(d Deps) Tool   { return tagChange(d, true) }
func untagObject(d Deps) Tool { return tagChange(d, false) }

func tagChange(d Deps, attach bool) Tool {
	name, title, verb := "tag_object", "Tag object", "Attach"
	desc := "Attach a tag to a VM, host, datastore, cluster or datacenter; refused where the category forbids it (one tag per object, other types). dry_run previews. Inverse: untag_object."
	calls, needs, example := "`POST /api/cis/tagging/tag-association/{tag}?action=attach`", "`InventoryService.Tagging.AttachTag`",
		`{"tag": "Environment:Production", "entity": "backup-01"}`
	if !attach {
		name, title, verb = "untag_object", "Untag object", "Detach"
		desc = "Detach a tag from a VM, host, datastore, cluster or datacenter. dry_run previews. Inverse: tag_object."
		calls = "`POST /api/cis/tagging/tag-association/{tag}?action=detach`"
		example = `{"tag": "Owner:team-platform", "entity": "backup-01"}`
	}
	return spec[tagObjectIn, confirmOut[tagObjectOut]]{
		Name: name, Title: title, Description: desc,
		Toolset: ToolsetTags, Level: policy.LevelOps, Kind: KindWrite, Idempotent: true, DryRun: true,
		Privileges: Privileges{Calls: calls + " (and the tag reads of list_tags)", Needs: needs + " on the tag; `System.Read` on the object", On: "the tag and the object"},
		Example:    example,
		Schema: func(in, _ *schema) {
			in.maxLen("tag", 256)
			in.enum("entity_type", entityTypeNames...)
		},
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in tagObjectIn) (*mcp.CallToolResult, confirmOut[tagObjectOut], error) {
			var zero confirmOut[tagObjectOut]
			if in.Entity == "" {
				return nil, zero, argErrorf("entity is required: the object's id or exact name")
			}
			vc, err := connect(ctx, d, in.Hostname)
			if err != nil {
				return nil, zero, err
			}
			ids, err := resolveTags(ctx, vc, []string{in.Tag})
			if err != nil {
				return nil, zero, err
			}
			obj, err := resolveEntity(ctx, vc, in.entityArgs)
			if err != nil {
				return nil, zero, err
			}
			cat, err := vc.TagCatalog(ctx)
			if err != nil {
				return nil, zero, fail("read tags", err, "")
			}
			i := slices.IndexFunc(cat.Tags, func(t vcenter.Tag) bool { return t.ID == ids[0] })
			if i < 0 {
				return nil, zero, argErrorf("no tag has id %s (list_tags shows them)", ids[0])
			}
			tag := cat.Tags[i]
			current, err := vc.ObjectTags(ctx, *obj)
			if err != nil {
				return nil, zero, fail("read the tags of "+obj.ID, err, "")
			}
			has := slices.ContainsFunc(current, func(t vcenter.Tag) bool { return t.ID == tag.ID })
			tagLabel := tag.Category + ":" + tag.Name
			ent := entityOutOf(*obj)
			if ent.Name == "" {
				ent.Name = obj.ID
			}
			out := tagObjectOut{Object: ent, Tag: tagItem{ID: tag.ID, Name: tagLabel}, Tags: tagLabels(current)}
			if has == attach {
				state := map[bool]string{true: "carries", false: "does not carry"}[has]
				return nil, confirmOut[tagObjectOut]{Status: statusDone, Summary: fmt.Sprintf("%s %s %s already; nothing changed", label(ent.Name, obj.ID), state, tagLabel), Result: &out}, nil
			}
			if attach {
				if err := attachable(cat, tag, *obj, current); err != nil {
					return nil, zero, err
				}
			}
			pv := preview{
				Target: previewTarget{ID: obj.ID, Name: ent.Name, State: "tags: " + cmpOr(strings.Join(tagLabels(current), ", "), "none")},
				Change: fmt.Sprintf("%s tag %s %s %s %s", strings.ToLower(verb), tagLabel, map[bool]string{true: "to", false: "from"}[attach], typeOfKind[obj.Kind], label(ent.Name, obj.ID)),
			}
			return actOrPreview(ctx, req, in.DryRun, pv, func() (tagObjectOut, string, error) {
				change := vc.DetachTag
				if attach {
					change = vc.AttachTag
				}
				if err := change(ctx, tag.ID, *obj); err != nil {
					return tagObjectOut{}, "", fail(pv.Change, err, "")
				}
				out.Changed = true
				if after, err := vc.ObjectTags(ctx, *obj); err == nil {
					out.Tags = tagLabels(after)
				}
				return out, fmt.Sprintf("%s: done", pv.Change), nil
			})
		},
	}.tool()
}

// attachable checks what vCenter checks before attaching (§4): the
// object's type among the category's, and one tag per object in a SINGLE
// category.
func attachable(cat vcenter.TagCatalog, tag vcenter.Tag, obj vcenter.EntityRef, current []vcenter.Tag) error {
	i := slices.IndexFunc(cat.Categories, func(c vcenter.TagCategory) bool { return c.ID == tag.CategoryID })
	if i < 0 {
		return nil
	}
	c := cat.Categories[i]
	if len(c.AssociableTypes) > 0 && !slices.Contains(c.AssociableTypes, obj.VimType()) {
		return argErrorf("tags of category %s attach only to %s, not to a %s", c.Name, strings.Join(c.AssociableTypes, ", "), obj.VimType())
	}
	if c.Cardinality == "SINGLE" {
		for _, t := range current {
			if t.CategoryID == c.ID {
				return argErrorf("category %s allows one tag per object, and %s carries %s:%s. Next: untag_object it first", c.Name, obj.ID, c.Name, t.Name)
			}
		}
	}
	return nil
}
