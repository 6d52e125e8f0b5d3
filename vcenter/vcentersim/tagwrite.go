package vcentersim

import (
	"net/http"
	"slices"
)

// Tag attach and detach (contract changes §4): POST
// /api/cis/tagging/tag-association/{tag_id}?action=attach|detach
// {"object_id": DynamicID} (/rest: id:{tag_id}?~action=…, the same body).
// Attaching a tag already attached, or detaching one that is not, changes
// nothing and succeeds [D671]. Attach is INVALID_ARGUMENT when the object
// does not exist or its type is not one the category takes, and when the
// category is SINGLE and the object carries another of its tags (the
// contract's reading of [D671], §9.13).

func handleAttachTag(s *Server, c *call) (any, *vapiError) { return s.tagAssociation(c, true) }
func handleDetachTag(s *Server, c *call) (any, *vapiError) { return s.tagAssociation(c, false) }

func (s *Server) tagAssociation(c *call, attach bool) (any, *vapiError) {
	method := map[bool]string{true: "attach", false: "detach"}[attach]
	t := s.obs.tags[c.param("tag_id")]
	if t == nil {
		return nil, errTagNotFound("tag", c.param("tag_id"))
	}
	var body struct {
		ObjectID *objectID `json:"object_id"`
	}
	if err := decodeTagBody(c, method, &body); err != nil || body.ObjectID == nil {
		return nil, errInvalidInput(method)
	}
	o := *body.ObjectID
	i := slices.Index(t.objects, o)
	if !attach {
		if i >= 0 {
			t.objects = slices.Delete(t.objects, i, i+1)
		}
		return nil, nil
	}
	if i >= 0 {
		return nil, nil
	}
	cat := s.obs.categories[t.category]
	switch {
	case !s.inv.exists(o.Type, o.ID):
		return nil, errInvalidArgument("Object %s of type %s does not exist.", o.ID, o.Type)
	case len(cat.associable) > 0 && !slices.Contains(cat.associable, o.Type):
		return nil, errInvalidArgument("Tag %s of category %s cannot be attached to a %s.", t.name, cat.name, o.Type)
	case cat.cardinality == "SINGLE":
		for _, id := range s.tagsOn(o) {
			if other := s.obs.tags[id]; other.category == cat.id {
				return nil, errInvalidArgument("Category %s takes one tag per object, and %s already carries %s.", cat.name, o.ID, other.name)
			}
		}
	}
	t.objects = append(t.objects, o)
	return nil, nil
}

// tagWriteRoutes are attach and detach in both dialects.
func tagWriteRoutes(add func(method, pattern, action string, h vapiHandler) *route) {
	for action, h := range map[string]vapiHandler{"attach": handleAttachTag, "detach": handleDetachTag} {
		add(http.MethodPost, "/api/cis/tagging/tag-association/{tag_id}", action, h)
		add(http.MethodPost, "/rest/com/vmware/cis/tagging/tag-association/id:{tag_id}", action, h).actionKey = "~action"
	}
}
