package vcentersim

import (
	"net/http"
	"testing"
)

// TestTaggingContract validates the tagging operations, in both dialects,
// against VMware's 8.0.2 cis spec, as TestContract does for the rest.
func TestTaggingContract(t *testing.T) {
	cs := loadContractSpecs(t)
	s := newSim(t, Options{})
	token := loginAPI(t, s)
	var tag, category string
	for _, tg := range s.Tags() {
		if tg.Name == "Production" {
			tag, category = tg.ID, tg.Category
		}
	}
	unknown := tagURN + "00000000-0000-4000-8000-000000000000:GLOBAL"
	for _, tc := range []contractCase{
		{name: "categories", method: http.MethodGet, path: "/api/cis/tagging/category", wantStatus: 200},
		{name: "category", method: http.MethodGet, path: "/api/cis/tagging/category/" + category, wantStatus: 200},
		{name: "tags", method: http.MethodGet, path: "/api/cis/tagging/tag", wantStatus: 200},
		{name: "tag", method: http.MethodGet, path: "/api/cis/tagging/tag/" + tag, wantStatus: 200},
		{name: "unknown tag", method: http.MethodGet, path: "/api/cis/tagging/tag/" + unknown, wantStatus: 404},
		{name: "tags of a category", method: http.MethodPost, path: "/api/cis/tagging/tag?action=list-tags-for-category", body: `{"category_id":"` + category + `"}`, wantStatus: 200},
		{name: "objects on tags", method: http.MethodPost, path: "/api/cis/tagging/tag-association?action=list-attached-objects-on-tags", body: `{"tag_ids":["` + tag + `","` + unknown + `"]}`, wantStatus: 200},
		{name: "objects of a tag", method: http.MethodPost, path: "/api/cis/tagging/tag-association/" + tag + "?action=list-attached-objects", wantStatus: 200},
		{name: "tags of an object", method: http.MethodPost, path: "/api/cis/tagging/tag-association?action=list-attached-tags", body: `{"object_id":{"type":"VirtualMachine","id":"vm-77"}}`, wantStatus: 200},
		{name: "tags of objects", method: http.MethodPost, path: "/api/cis/tagging/tag-association?action=list-attached-tags-on-objects", body: `{"object_ids":[{"type":"VirtualMachine","id":"vm-77"},{"type":"Datastore","id":"datastore-26"}]}`, wantStatus: 200},
		{name: "rest categories", method: http.MethodGet, path: "/rest/com/vmware/cis/tagging/category", wantStatus: 200},
		{name: "rest category", method: http.MethodGet, path: "/rest/com/vmware/cis/tagging/category/id:" + category, wantStatus: 200},
		{name: "rest tags", method: http.MethodGet, path: "/rest/com/vmware/cis/tagging/tag", wantStatus: 200},
		{name: "rest tag", method: http.MethodGet, path: "/rest/com/vmware/cis/tagging/tag/id:" + tag, wantStatus: 200},
		{name: "rest unknown tag", method: http.MethodGet, path: "/rest/com/vmware/cis/tagging/tag/id:" + unknown, wantStatus: 404},
		{name: "rest tags of a category", method: http.MethodPost, path: "/rest/com/vmware/cis/tagging/tag/id:" + category + "?~action=list-tags-for-category", wantStatus: 200},
		{name: "rest objects on tags", method: http.MethodPost, path: "/rest/com/vmware/cis/tagging/tag-association?~action=list-attached-objects-on-tags", body: `{"tag_ids":["` + tag + `"]}`, wantStatus: 200},
		{name: "rest objects of a tag", method: http.MethodPost, path: "/rest/com/vmware/cis/tagging/tag-association/id:" + tag + "?~action=list-attached-objects", wantStatus: 200},
		{name: "rest tags of an object", method: http.MethodPost, path: "/rest/com/vmware/cis/tagging/tag-association?~action=list-attached-tags", body: `{"object_id":{"type":"VirtualMachine","id":"vm-77"}}`, wantStatus: 200},
		{name: "rest tags of objects", method: http.MethodPost, path: "/rest/com/vmware/cis/tagging/tag-association?~action=list-attached-tags-on-objects", body: `{"object_ids":[{"type":"VirtualMachine","id":"vm-77"}]}`, wantStatus: 200},
	} {
		t.Run(tc.name, func(t *testing.T) { cs.check(t, s, tc, token) })
	}
}
