package vcenter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// AttachTag attaches a tag to an object (POST
// /api/cis/tagging/tag-association/{tag}?action=attach; /rest
// id:{tag}?~action=attach, the same body: vcenter-api-changes.md §4).
// Attaching a tag already attached changes nothing and succeeds.
func (c *Client) AttachTag(ctx context.Context, tag string, obj EntityRef) error {
	return c.tagAssociation(ctx, tag, obj, "attach")
}

// DetachTag detaches a tag from an object; detaching one that is not
// attached succeeds.
func (c *Client) DetachTag(ctx context.Context, tag string, obj EntityRef) error {
	return c.tagAssociation(ctx, tag, obj, "detach")
}

func (c *Client) tagAssociation(ctx context.Context, tag string, obj EntityRef, action string) error {
	if err := ValidateID(KindTag, tag); err != nil {
		return err
	}
	if err := obj.validate(); err != nil {
		return err
	}
	key := "action"
	if c.dialect.wrapped {
		key = "~action"
	}
	r := request{method: http.MethodPost, path: c.tagPath("tag-association", tag), query: url.Values{key: {action}},
		body: marshal(map[string]any{"object_id": objectID{obj.VimType(), obj.ID}})}
	if err := c.vapiDo(ctx, r, nil); err != nil {
		return fmt.Errorf("%s tag %s %s %s: %w", action, tag, map[string]string{"attach": "to", "detach": "from"}[action], obj.ID, err)
	}
	return nil
}
