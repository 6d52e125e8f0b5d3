package vcenter

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Tagging (vcenter-api-observability.md §6; [S802] cis.json): categories,
// tags and their associations, on the Automation API in either dialect.
// The API has no bulk read of names: every category and tag is one GET, so
// names are cached and read in parallel.

// TagCategory is one tag category.
type TagCategory struct {
	ID, Name, Description string
	Cardinality           string   // SINGLE or MULTIPLE
	AssociableTypes       []string // vim25 types; empty means any
}

// Tag is one tag with its category's name.
type Tag struct {
	ID, Name, Description string
	CategoryID, Category  string
}

// TagCatalog is every category and tag, sorted by name.
type TagCatalog struct {
	Categories []TagCategory
	Tags       []Tag
}

type cachedTag struct {
	tag Tag
	at  time.Time
}

type cachedCategory struct {
	cat TagCategory
	at  time.Time
}

type tagCatalog struct {
	cat TagCatalog
	at  time.Time
}

// tagTTL is how long tag and category names are kept.
const tagTTL = 2 * time.Minute

// tagPath maps a tagging path to the dialect: "/cis/tagging/tag" becomes
// /api/cis/tagging/tag or /rest/com/vmware/cis/tagging/tag, and an id
// segment is "{id}" on /api, "id:{id}" on /rest ([S802]).
func (c *Client) tagPath(resource, id string) string {
	p := "/api/cis/tagging/" + resource
	if c.dialect.wrapped {
		p = "/rest/com/vmware/cis/tagging/" + resource
	}
	if id != "" {
		if c.dialect.wrapped {
			return p + "/id:" + url.PathEscape(id)
		}
		return p + "/" + url.PathEscape(id)
	}
	return p
}

// tagAction is a tagging read that takes a body: ?action= on /api,
// ?~action= on /rest, the body unwrapped in both.
//
// Security: these POSTs only read, so they are retried like a GET.
func (c *Client) tagAction(ctx context.Context, resource, id, action string, body, out any) error {
	key := "action"
	if c.dialect.wrapped {
		key = "~action"
	}
	r := request{method: http.MethodPost, path: c.tagPath(resource, id), query: url.Values{key: {action}}, safe: true}
	if body != nil {
		r.body = marshal(body)
	}
	return c.vapiDo(ctx, r, out)
}

func (c *Client) tagGet(ctx context.Context, resource, id string, out any) error {
	return c.vapiDo(ctx, request{method: http.MethodGet, path: c.tagPath(resource, id), safe: true}, out)
}

type vapiCategory struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	Cardinality     string   `json:"cardinality"`
	AssociableTypes []string `json:"associable_types"`
}

type vapiTag struct {
	ID          string `json:"id"`
	CategoryID  string `json:"category_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// category reads one category through the cache.
func (c *Client) category(ctx context.Context, id string) (TagCategory, error) {
	if err := ValidateID(KindCategory, id); err != nil {
		return TagCategory{}, err
	}
	o := &c.obs
	o.mu.Lock()
	cc, ok := o.cats[id]
	o.mu.Unlock()
	if ok && time.Since(cc.at) < tagTTL {
		return cc.cat, nil
	}
	var v vapiCategory
	if err := c.tagGet(ctx, "category", id, &v); err != nil {
		return TagCategory{}, fmt.Errorf("read tag category %s: %w", id, err)
	}
	cat := TagCategory{ID: id, Name: sanitize(v.Name, maxNameLen), Description: sanitize(v.Description, maxMessageLen),
		Cardinality: sanitize(v.Cardinality, 16), AssociableTypes: make([]string, 0, len(v.AssociableTypes))}
	for _, t := range v.AssociableTypes {
		cat.AssociableTypes = append(cat.AssociableTypes, sanitize(t, 64))
	}
	o.mu.Lock()
	if o.cats == nil {
		o.cats = map[string]cachedCategory{}
	}
	o.cats[id] = cachedCategory{cat, time.Now()}
	o.mu.Unlock()
	return cat, nil
}

// tag reads one tag through the cache, with its category's name.
func (c *Client) tag(ctx context.Context, id string) (Tag, error) {
	if err := ValidateID(KindTag, id); err != nil {
		return Tag{}, err
	}
	o := &c.obs
	o.mu.Lock()
	ct, ok := o.tags[id]
	o.mu.Unlock()
	if ok && time.Since(ct.at) < tagTTL {
		return ct.tag, nil
	}
	var v vapiTag
	if err := c.tagGet(ctx, "tag", id, &v); err != nil {
		return Tag{}, fmt.Errorf("read tag %s: %w", id, err)
	}
	t := Tag{ID: id, Name: sanitize(v.Name, maxNameLen), Description: sanitize(v.Description, maxMessageLen)}
	if LooksLikeID(KindCategory, v.CategoryID) {
		t.CategoryID = v.CategoryID
		if cat, err := c.category(ctx, v.CategoryID); err == nil {
			t.Category = cat.Name
		}
	}
	o.mu.Lock()
	if o.tags == nil {
		o.tags = map[string]cachedTag{}
	}
	o.tags[id] = cachedTag{t, time.Now()}
	o.mu.Unlock()
	return t, nil
}

// parallel runs f for every id, at most Parallelism at a time, and
// returns the first error.
func (c *Client) parallel(ids []string, f func(id string) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, c.cfg.Parallelism)
	for _, id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := f(id); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// TagsByID reads the tags of ids with their category names, through the
// cache.
func (c *Client) TagsByID(ctx context.Context, ids []string) (map[string]Tag, error) {
	out := make(map[string]Tag, len(ids))
	var mu sync.Mutex
	err := c.parallel(ids, func(id string) error {
		t, err := c.tag(ctx, id)
		if err != nil {
			return err
		}
		mu.Lock()
		out[id] = t
		mu.Unlock()
		return nil
	})
	return out, err
}

// TagCatalog reads every category and tag; the whole catalogue is kept for
// two minutes.
func (c *Client) TagCatalog(ctx context.Context) (TagCatalog, error) {
	o := &c.obs
	o.mu.Lock()
	tc := o.catalog
	o.mu.Unlock()
	if tc != nil && time.Since(tc.at) < tagTTL {
		return tc.cat, nil
	}
	var catIDs, tagIDs []string
	var catErr, tagErr error
	var wg sync.WaitGroup
	wg.Go(func() { catErr = c.tagGet(ctx, "category", "", &catIDs) })
	wg.Go(func() { tagErr = c.tagGet(ctx, "tag", "", &tagIDs) })
	wg.Wait()
	if catErr != nil {
		return TagCatalog{}, fmt.Errorf("list tag categories: %w", catErr)
	}
	if tagErr != nil {
		return TagCatalog{}, fmt.Errorf("list tags: %w", tagErr)
	}
	catIDs = slices.DeleteFunc(catIDs, func(id string) bool { return !LooksLikeID(KindCategory, id) })
	tagIDs = slices.DeleteFunc(tagIDs, func(id string) bool { return !LooksLikeID(KindTag, id) })
	var out TagCatalog
	var mu sync.Mutex
	if err := c.parallel(catIDs, func(id string) error {
		cat, err := c.category(ctx, id)
		if err != nil {
			return err
		}
		mu.Lock()
		out.Categories = append(out.Categories, cat)
		mu.Unlock()
		return nil
	}); err != nil {
		return TagCatalog{}, err
	}
	tags, err := c.TagsByID(ctx, tagIDs)
	if err != nil {
		return TagCatalog{}, err
	}
	for _, t := range tags {
		out.Tags = append(out.Tags, t)
	}
	slices.SortFunc(out.Categories, func(a, b TagCategory) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(out.Tags, func(a, b Tag) int {
		return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	o.mu.Lock()
	o.catalog = &tagCatalog{out, time.Now()}
	o.mu.Unlock()
	return out, nil
}

// objectID is vapi.std.DynamicID.
type objectID struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// TagObjects reads the objects each tag is attached to
// (list-attached-objects-on-tags). vCenter skips unknown tag ids, so a tag
// missing from the answer does not exist.
func (c *Client) TagObjects(ctx context.Context, tagIDs []string) (map[string][]EntityRef, error) {
	if err := validIDs(KindTag, tagIDs); err != nil {
		return nil, err
	}
	var answer []struct {
		TagID     string     `json:"tag_id"`
		ObjectIDs []objectID `json:"object_ids"`
	}
	if err := c.tagAction(ctx, "tag-association", "", "list-attached-objects-on-tags", map[string]any{"tag_ids": tagIDs}, &answer); err != nil {
		return nil, fmt.Errorf("list the objects of tags: %w", err)
	}
	out := map[string][]EntityRef{}
	for _, a := range answer {
		if !slices.Contains(tagIDs, a.TagID) {
			continue
		}
		refs := make([]EntityRef, 0, len(a.ObjectIDs))
		for _, o := range a.ObjectIDs {
			if e, ok := entityOf(moRef{Type: o.Type, Value: o.ID}); ok {
				refs = append(refs, e)
			}
		}
		out[a.TagID] = refs
	}
	return out, nil
}

// ObjectTags reads the tags attached to one object (list-attached-tags),
// with their names.
func (c *Client) ObjectTags(ctx context.Context, obj EntityRef) ([]Tag, error) {
	if err := obj.validate(); err != nil {
		return nil, err
	}
	var ids []string
	if err := c.tagAction(ctx, "tag-association", "", "list-attached-tags", map[string]any{"object_id": objectID{obj.VimType(), obj.ID}}, &ids); err != nil {
		return nil, fmt.Errorf("list the tags of %s: %w", obj.ID, err)
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return !LooksLikeID(KindTag, id) })
	byID, err := c.TagsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Tag, 0, len(byID))
	for _, t := range byID {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Tag) int { return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.Name, b.Name)) })
	return out, nil
}
