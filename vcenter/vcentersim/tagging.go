package vcentersim

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Tagging on /api/cis/tagging and /rest/com/vmware/cis/tagging
// (contract §6; [S802] cis.json): categories, tags and their associations.
// The reads that take a body are POSTs with an action; /rest sends the
// same body unwrapped and names an id in the path as "id:{id}".

type tagCategory struct {
	id, name, description, cardinality string
	associable                         []string
}

type tag struct {
	id, category, name, description string
	objects                         []objectID
}

// objectID is vapi.std.DynamicID: a vim25 type and a MoRef value.
type objectID struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Tag is a copy of one tag with the objects it is attached to, as
// [Server.Tags] returns it.
type Tag struct {
	ID, Name, Category, CategoryName string
	Objects                          []string // ids, "vm-76"
}

const (
	categoryURN = "urn:vmomi:InventoryServiceCategory:"
	tagURN      = "urn:vmomi:InventoryServiceTag:"
)

// isURN reports whether s is prefix, a UUID and ":GLOBAL".
func isURN(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return false
	}
	u, ok := strings.CutSuffix(rest, ":GLOBAL")
	if !ok || len(u) != 36 {
		return false
	}
	for i, r := range u {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// attached lists a tag's objects that still exist.
func (s *Server) attached(t *tag) []objectID {
	out := []objectID{}
	for _, o := range t.objects {
		if s.inv.exists(o.Type, o.ID) {
			out = append(out, o)
		}
	}
	return out
}

func errTagNotFound(kind, id string) *vapiError {
	return newVAPIError("NOT_FOUND", "com.vmware.cis.tagging."+kind+".not_found", "The "+kind+" "+id+" does not exist.", id)
}

// decodeTagBody decodes a tagging action's body strictly: a field the
// operation does not have, or one of the wrong type, is vAPI's invalid input.
func decodeTagBody(c *call, method string, dst any) *vapiError {
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errInvalidInput(method)
	}
	return nil
}

func handleListCategories(s *Server, _ *call) (any, *vapiError) {
	return append([]string{}, s.obs.catOrder...), nil
}

func handleGetCategory(s *Server, c *call) (any, *vapiError) {
	cat := s.obs.categories[c.param("category_id")]
	if cat == nil {
		return nil, errTagNotFound("category", c.param("category_id"))
	}
	return map[string]any{"id": cat.id, "name": cat.name, "description": cat.description, "cardinality": cat.cardinality,
		"associable_types": append([]string{}, cat.associable...), "used_by": []string{}}, nil
}

func handleListTags(s *Server, _ *call) (any, *vapiError) {
	return append([]string{}, s.obs.tagOrder...), nil
}

func handleGetTag(s *Server, c *call) (any, *vapiError) {
	t := s.obs.tags[c.param("tag_id")]
	if t == nil {
		return nil, errTagNotFound("tag", c.param("tag_id"))
	}
	return map[string]any{"id": t.id, "category_id": t.category, "name": t.name, "description": t.description, "used_by": []string{}}, nil
}

// handleTagsForCategory is list-tags-for-category: the category in the
// body on /api, in the path on /rest.
func handleTagsForCategory(s *Server, c *call) (any, *vapiError) {
	id := c.param("category_id")
	if c.surface == surfaceAPI {
		var body struct {
			CategoryID *string `json:"category_id"`
		}
		if err := decodeTagBody(c, "list_tags_for_category", &body); err != nil || body.CategoryID == nil {
			return nil, errInvalidInput("list_tags_for_category")
		}
		id = *body.CategoryID
	}
	if s.obs.categories[id] == nil {
		return nil, errTagNotFound("category", id)
	}
	out := []string{}
	for _, tid := range s.obs.tagOrder {
		if s.obs.tags[tid].category == id {
			out = append(out, tid)
		}
	}
	return out, nil
}

// handleObjectsOnTags is list-attached-objects-on-tags; unknown tag ids
// are skipped (contract §6, §8).
func handleObjectsOnTags(s *Server, c *call) (any, *vapiError) {
	var body struct {
		TagIDs *[]string `json:"tag_ids"`
	}
	if err := decodeTagBody(c, "list_attached_objects_on_tags", &body); err != nil || body.TagIDs == nil {
		return nil, errInvalidInput("list_attached_objects_on_tags")
	}
	type tagToObjects struct {
		TagID     string     `json:"tag_id"`
		ObjectIDs []objectID `json:"object_ids"`
	}
	out := []tagToObjects{}
	for _, id := range *body.TagIDs {
		if t := s.obs.tags[id]; t != nil {
			out = append(out, tagToObjects{t.id, s.attached(t)})
		}
	}
	return out, nil
}

func handleObjectsOfTag(s *Server, c *call) (any, *vapiError) {
	t := s.obs.tags[c.param("tag_id")]
	if t == nil {
		return nil, errTagNotFound("tag", c.param("tag_id"))
	}
	return s.attached(t), nil
}

// tagsOn lists the tags attached to an object.
func (s *Server) tagsOn(o objectID) []string {
	out := []string{}
	for _, id := range s.obs.tagOrder {
		for _, x := range s.attached(s.obs.tags[id]) {
			if x == o {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

func handleAttachedTags(s *Server, c *call) (any, *vapiError) {
	var body struct {
		ObjectID *objectID `json:"object_id"`
	}
	if err := decodeTagBody(c, "list_attached_tags", &body); err != nil || body.ObjectID == nil {
		return nil, errInvalidInput("list_attached_tags")
	}
	return s.tagsOn(*body.ObjectID), nil
}

func handleAttachedTagsOnObjects(s *Server, c *call) (any, *vapiError) {
	var body struct {
		ObjectIDs *[]objectID `json:"object_ids"`
	}
	if err := decodeTagBody(c, "list_attached_tags_on_objects", &body); err != nil || body.ObjectIDs == nil {
		return nil, errInvalidInput("list_attached_tags_on_objects")
	}
	type objectToTags struct {
		ObjectID objectID `json:"object_id"`
		TagIDs   []string `json:"tag_ids"`
	}
	out := []objectToTags{}
	for _, o := range *body.ObjectIDs {
		out = append(out, objectToTags{o, s.tagsOn(o)})
	}
	return out, nil
}

// Tags returns every tag with the ids of the objects it is attached to, in
// creation order.
func (s *Server) Tags() []Tag {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Tag
	for _, id := range s.obs.tagOrder {
		t := s.obs.tags[id]
		x := Tag{ID: t.id, Name: t.name, Category: t.category, CategoryName: s.obs.categories[t.category].name, Objects: []string{}}
		for _, o := range s.attached(t) {
			x.Objects = append(x.Objects, o.ID)
		}
		out = append(out, x)
	}
	return out
}
