package vcenter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Content library and guest customization (vcenter-api-changes.md §2):
// libraries and items are listed as ids and read one by one; a VM-template
// item deploys through /api/vcenter/vm-template/library-items, an OVF item
// through /api/vcenter/ovf/library-item (filter, then deploy). Deploys are
// blocking (no task form, §0): they are sent once, as long requests.

// Library is a content library.
type Library struct {
	ID, Name, Description string
	Type                  string   // LOCAL or SUBSCRIBED
	Datastores            []string // ids of its storage backings
}

// LibraryItem is one item of a content library.
type LibraryItem struct {
	ID, LibraryID, Name, Description string
	// Type is ovf, vm-template, iso, or another type a plug-in chose.
	Type   string
	Size   int64 // bytes; 0 while not cached
	Cached bool  // false: a subscribed item whose files are not local yet
}

// contentPath maps a content path to the dialect: /api/content/… or
// /rest/com/vmware/content/…, an id segment as {id} or id:{id} ([C802]).
func (c *Client) contentPath(resource, id string) string {
	p := "/api/content/" + resource
	if c.dialect.wrapped {
		p = "/rest/com/vmware/content/" + resource
	}
	if id == "" {
		return p
	}
	if c.dialect.wrapped {
		return p + "/id:" + url.PathEscape(id)
	}
	return p + "/" + url.PathEscape(id)
}

func (c *Client) contentGet(ctx context.Context, resource, id string, q url.Values, out any) error {
	return c.vapiDo(ctx, request{method: http.MethodGet, path: c.contentPath(resource, id), query: q, safe: true}, out)
}

// ListLibraries reads every content library.
func (c *Client) ListLibraries(ctx context.Context) ([]Library, error) {
	var ids []string
	if err := c.contentGet(ctx, "library", "", nil, &ids); err != nil {
		return nil, fmt.Errorf("list content libraries: %w", err)
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return !LooksLikeID(KindLibrary, id) })
	out := make([]Library, 0, len(ids))
	var mu sync.Mutex
	err := c.parallel(ids, func(id string) error {
		var v struct {
			Name            string `json:"name"`
			Description     string `json:"description"`
			Type            string `json:"type"`
			StorageBackings []struct {
				DatastoreID string `json:"datastore_id"`
			} `json:"storage_backings"`
		}
		if err := c.contentGet(ctx, "library", id, nil, &v); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil // deleted since the list
			}
			return fmt.Errorf("read content library %s: %w", id, err)
		}
		l := Library{ID: id, Name: sanitize(v.Name, maxNameLen), Description: sanitize(v.Description, maxMessageLen), Type: sanitize(v.Type, 16)}
		for _, b := range v.StorageBackings {
			if LooksLikeID(KindDatastore, b.DatastoreID) {
				l.Datastores = append(l.Datastores, b.DatastoreID)
			}
		}
		mu.Lock()
		out = append(out, l)
		mu.Unlock()
		return nil
	})
	slices.SortFunc(out, func(a, b Library) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
	return out, err
}

type itemWire struct {
	LibraryID   string `json:"library_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Size        int64  `json:"size"`
	Cached      bool   `json:"cached"`
}

func (w itemWire) item(id string) LibraryItem {
	it := LibraryItem{ID: id, Name: sanitize(w.Name, maxNameLen), Description: sanitize(w.Description, maxMessageLen),
		Type: sanitize(w.Type, 64), Size: w.Size, Cached: w.Cached}
	if LooksLikeID(KindLibrary, w.LibraryID) {
		it.LibraryID = w.LibraryID
	}
	return it
}

// GetLibraryItem reads one library item.
func (c *Client) GetLibraryItem(ctx context.Context, id string) (LibraryItem, error) {
	if err := ValidateID(KindLibraryItem, id); err != nil {
		return LibraryItem{}, err
	}
	var w itemWire
	if err := c.contentGet(ctx, "library/item", id, nil, &w); err != nil {
		return LibraryItem{}, fmt.Errorf("read library item %s: %w", id, err)
	}
	return w.item(id), nil
}

// ListLibraryItems reads the items of a library.
func (c *Client) ListLibraryItems(ctx context.Context, library string) ([]LibraryItem, error) {
	if err := ValidateID(KindLibrary, library); err != nil {
		return nil, err
	}
	var ids []string
	if err := c.contentGet(ctx, "library/item", "", url.Values{"library_id": {library}}, &ids); err != nil {
		return nil, fmt.Errorf("list the items of library %s: %w", library, err)
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return !LooksLikeID(KindLibraryItem, id) })
	out := make([]LibraryItem, 0, len(ids))
	var mu sync.Mutex
	err := c.parallel(ids, func(id string) error {
		it, err := c.GetLibraryItem(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		out = append(out, it)
		mu.Unlock()
		return nil
	})
	slices.SortFunc(out, func(a, b LibraryItem) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// DeploySpec describes a deploy from a library item.
type DeploySpec struct {
	Name string
	// Placement: Folder is required, and one of ResourcePool, Host and
	// Cluster; Datastore holds every disk (empty: as the item says).
	Placement PlacementSpec
	// Network, when set, backs every NIC (every OVF network mapped to it).
	Network       string
	PowerOn       bool
	Customization string
}

func (s DeploySpec) validate(item string) error {
	if err := ValidateID(KindLibraryItem, item); err != nil {
		return err
	}
	if s.Name == "" || s.Placement.Folder == "" {
		return errors.New("a deploy needs a name and a folder")
	}
	if s.Network != "" {
		if err := ValidateID(KindNetwork, s.Network); err != nil {
			return err
		}
	}
	if s.Customization != "" {
		if err := ValidateID(KindCustomizationSpec, s.Customization); err != nil {
			return err
		}
	}
	return s.Placement.validate()
}

// DeployTemplateItem deploys a VM-template item (blocking; §2.5) and returns
// the new VM's id. Power-on and customization, if asked, start after it
// answers.
func (c *Client) DeployTemplateItem(ctx context.Context, item string, spec DeploySpec) (string, error) {
	if err := spec.validate(item); err != nil {
		return "", err
	}
	p := spec.Placement
	body := map[string]any{
		"name":       spec.Name,
		"placement":  map[string]string{"folder": p.Folder, "resource_pool": p.ResourcePool, "host": p.Host, "cluster": p.Cluster},
		"powered_on": spec.PowerOn,
	}
	for k, v := range body["placement"].(map[string]string) {
		if v == "" {
			delete(body["placement"].(map[string]string), k)
		}
	}
	if p.Datastore != "" {
		body["vm_home_storage"] = map[string]string{"datastore": p.Datastore}
		body["disk_storage"] = map[string]string{"datastore": p.Datastore}
	}
	if spec.Customization != "" {
		body["guest_customization"] = map[string]string{"name": spec.Customization}
	}
	r := request{method: http.MethodPost, path: c.dialect.path("/vcenter/vm-template/library-items/" + item),
		query: url.Values{"action": {"deploy"}}, body: c.dialect.body(body), long: true}
	var vm string
	if err := c.vapiDo(ctx, r, &vm); err != nil {
		return "", fmt.Errorf("deploy library item %s: %w", item, err)
	}
	if !LooksLikeID(KindVM, vm) {
		return "", fmt.Errorf("deploy library item %s: vCenter answered an unreadable VM id %s", item, quoteShort(vm))
	}
	return vm, nil
}

// DeployError is an OVF deploy vCenter answered but did not carry out
// (DeploymentResult.succeeded false, §2.6): nothing was created.
type DeployError struct {
	Item     string
	Messages []string
}

func (e *DeployError) Error() string {
	return fmt.Sprintf("vCenter did not deploy library item %s: %s", e.Item, strings.Join(e.Messages, "; "))
}

// DeployOVFItem deploys an OVF item (filter, then deploy; blocking) and
// returns the new VM's id. The OVF target needs a resource pool; a host
// and a folder are optional.
func (c *Client) DeployOVFItem(ctx context.Context, item string, spec DeploySpec) (string, error) {
	if err := spec.validate(item); err != nil {
		return "", err
	}
	p := spec.Placement
	if p.ResourcePool == "" {
		return "", errors.New("an OVF deploy needs a resource pool")
	}
	target := map[string]string{"resource_pool_id": p.ResourcePool, "folder_id": p.Folder}
	if p.Host != "" {
		target["host_id"] = p.Host
	}
	path, key := c.dialect.path("/vcenter/ovf/library-item/"+item), "action"
	if c.dialect.wrapped {
		path, key = "/rest/com/vmware/vcenter/ovf/library-item/id:"+item, "~action"
	}
	var summary struct {
		EULAs    []string `json:"EULAs"`
		Networks []string `json:"networks"`
	}
	// Security: the filter only reads what the package needs, so it is
	// retried like a GET; the deploy is never re-sent.
	filter := request{method: http.MethodPost, path: path, query: url.Values{key: {"filter"}}, body: marshal(map[string]any{"target": target}), safe: true}
	if err := c.vapiDo(ctx, filter, &summary); err != nil {
		return "", fmt.Errorf("read what library item %s needs: %w", item, err)
	}
	if len(summary.EULAs) > 0 {
		return "", &DeployError{Item: item, Messages: []string{fmt.Sprintf("the package has %d licence agreement(s) to accept, which only a person can do: deploy it from the vSphere Client", len(summary.EULAs))}}
	}
	ds := map[string]any{"name": spec.Name, "accept_all_EULA": false}
	if p.Datastore != "" {
		ds["default_datastore_id"] = p.Datastore
	}
	if spec.Network != "" && len(summary.Networks) > 0 {
		m := map[string]string{}
		for _, n := range summary.Networks {
			m[n] = spec.Network
		}
		if c.dialect.wrapped {
			ds["network_mappings"] = keyValues(m)
		} else {
			ds["network_mappings"] = m
		}
	}
	var result struct {
		Succeeded  bool `json:"succeeded"`
		ResourceID *struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"resource_id"`
		Error *struct {
			Errors []struct {
				Message *struct {
					DefaultMessage string `json:"default_message"`
				} `json:"message"`
			} `json:"errors"`
		} `json:"error"`
	}
	deploy := request{method: http.MethodPost, path: path, query: url.Values{key: {"deploy"}},
		body: marshal(map[string]any{"target": target, "deployment_spec": ds}), long: true}
	if err := c.vapiDo(ctx, deploy, &result); err != nil {
		return "", fmt.Errorf("deploy library item %s: %w", item, err)
	}
	if !result.Succeeded || result.ResourceID == nil || !LooksLikeID(KindVM, result.ResourceID.ID) {
		e := &DeployError{Item: item}
		if result.Error != nil {
			for _, m := range result.Error.Errors {
				if m.Message != nil {
					e.Messages = append(e.Messages, c.clean()(m.Message.DefaultMessage, maxMessageLen))
				}
			}
		}
		if len(e.Messages) == 0 {
			e.Messages = []string{"no reason given"}
		}
		return "", e
	}
	vm := result.ResourceID.ID
	if spec.Customization != "" {
		if err := c.SetGuestCustomization(ctx, vm, spec.Customization); err != nil {
			return vm, err
		}
	}
	if spec.PowerOn {
		if err := c.Power(ctx, vm, PowerStart); err != nil {
			return vm, err
		}
	}
	return vm, nil
}

func keyValues(m map[string]string) []map[string]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]map[string]string, 0, len(m))
	for _, k := range keys {
		out = append(out, map[string]string{"key": k, "value": m[k]})
	}
	return out
}

// CustomizationSpec is a stored guest customization specification.
type CustomizationSpec struct {
	Name, Description string
	OSType            string // LINUX or WINDOWS
	LastModified      string // RFC 3339
}

// ListCustomizationSpecs lists the guest customization specifications
// (at most 1000: more is UNABLE_TO_ALLOCATE_RESOURCE, §2.3), optionally
// by names and OS type.
func (c *Client) ListCustomizationSpecs(ctx context.Context, names []string, osType string) ([]CustomizationSpec, error) {
	if err := validIDs(KindCustomizationSpec, names); err != nil {
		return nil, err
	}
	f := map[string][]string{"names": names}
	if osType != "" {
		f["OS_type"] = []string{osType}
	}
	var raw []struct {
		Name         string `json:"name"`
		Description  string `json:"description"`
		OSType       string `json:"OS_type"`
		LastModified string `json:"last_modified"`
	}
	if err := c.vapi(ctx, http.MethodGet, "/vcenter/guest/customization-specs", c.dialect.filters(f), nil, &raw); err != nil {
		return nil, fmt.Errorf("list customization specifications: %w", err)
	}
	out := make([]CustomizationSpec, 0, len(raw))
	for _, r := range raw {
		out = append(out, CustomizationSpec{Name: sanitize(r.Name, maxNameLen), Description: sanitize(r.Description, maxMessageLen),
			OSType: sanitize(r.OSType, 16), LastModified: sanitize(r.LastModified, 40)})
	}
	slices.SortFunc(out, func(a, b CustomizationSpec) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
