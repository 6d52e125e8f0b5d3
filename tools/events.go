// Event tools read vCenter's event log (EventManager over VI/JSON): who did
// what to which object and when, newest first, paged through an event
// collector so that a log of any size is read a page at a time.

package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// eventAPI reads events.
type eventAPI interface {
	ReadEvents(ctx context.Context, f vcenter.EventFilter, after *vcenter.EventPosition, n int) ([]vcenter.Event, bool, error)
	QueryEvents(ctx context.Context, f vcenter.EventFilter, max int) ([]vcenter.Event, error)
	RootFolder(ctx context.Context) (vcenter.EntityRef, error)
}

// eventCategoryNames are the values of types, in documentation order.
var eventCategoryNames = []string{"power", "guest", "reconfig", "migration", "snapshot", "ha", "alarm", "login"}

// maxEventMessage caps an event message in results: vCenter's text,
// untrusted, already stripped of control characters.
const maxEventMessage = 300

type eventItem struct {
	Time     string `json:"time"`
	Category string `json:"category"`
	Type     string `json:"type"`
	Message  string `json:"message"`
	User     string `json:"user,omitempty"`
	Entity   string `json:"entity,omitempty"` // the object the event is about, by name
	EntityID string `json:"entity_id,omitempty"`
	Key      int64  `json:"key"`
}

// eventItemOf makes the compact item: the event's main object is its VM,
// else the alarm's entity, the host, the datastore, the cluster, the
// datacenter.
func eventItemOf(e vcenter.Event) eventItem {
	it := eventItem{Time: e.Time.UTC().Format(time.RFC3339), Category: e.Category, Type: e.Type,
		Message: truncate(e.Message, maxEventMessage), User: e.User, Key: e.Key}
	for _, n := range []vcenter.EntityName{e.VM, e.AlarmEntity, e.Host, e.Datastore, e.Cluster, e.Datacenter} {
		if n.ID != "" {
			it.Entity, it.EntityID = n.Name, n.ID
			break
		}
	}
	return it
}

// userForms returns a user as typed plus the other spelling vCenter uses:
// "alice@corp.local" and "CORP.LOCAL\alice".
func userForms(u string) []string {
	if local, domain, ok := strings.Cut(u, "@"); ok && local != "" && domain != "" {
		return []string{u, strings.ToUpper(domain) + `\` + local}
	}
	if domain, local, ok := strings.Cut(u, `\`); ok && local != "" && domain != "" {
		return []string{u, local + "@" + strings.ToLower(domain)}
	}
	return []string{u}
}

// eventTypes expands categories to event types.
func eventTypes(categories []string) ([]string, error) {
	var out []string
	for _, c := range categories {
		types, ok := vcenter.EventCategories[c]
		if !ok {
			return nil, argErrorf("types takes categories: %s", strings.Join(eventCategoryNames, ", "))
		}
		out = append(out, types...)
	}
	return out, nil
}

// --- list_events ---

type listEventsIn struct {
	listArgs
	entityArgs
	Since string   `json:"since,omitempty" jsonschema:"RFC 3339 or a duration back from now (24h, 7d)"`
	Until string   `json:"until,omitempty" jsonschema:"RFC 3339 or a duration back from now; default now"`
	Types []string `json:"types,omitempty"`
	User  string   `json:"user,omitempty" jsonschema:"who acted, e.g. alice@corp.local"`
}

// eventPage is the page envelope of list_events: total is known only on the
// last page, since counting would mean reading the whole log.
type eventPage struct {
	Total      *int        `json:"total,omitempty"`
	Returned   int         `json:"returned"`
	NextCursor string      `json:"next_cursor,omitempty"`
	Note       string      `json:"note,omitempty"`
	Since      string      `json:"since,omitempty"`
	Until      string      `json:"until"`
	Items      []eventItem `json:"items"`
}

// eventCursor is the decoded next_cursor of list_events: the listing, its
// window pinned at the first page, and the oldest event served.
type eventCursor struct {
	Query  string `json:"q"`
	Since  int64  `json:"s,omitempty"` // Unix nanoseconds; 0 for none
	Until  int64  `json:"u"`
	Time   int64  `json:"t"`
	Key    int64  `json:"k"`
	Served int    `json:"n"`
}

func (c eventCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeEventCursor(s, key string) (eventCursor, error) {
	var c eventCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 || json.Unmarshal(b, &c) != nil || c.Key < 0 || c.Served < 0 || c.Until <= 0 || c.Time <= 0 {
		return c, argErrorf("cursor is not one this server issued: drop it to start from the newest events")
	}
	if c.Query != key {
		return c, argErrorf("cursor belongs to a listing with other filters: repeat the same filters, or drop cursor to start over")
	}
	return c, nil
}

func listEvents(d Deps) Tool {
	return spec[listEventsIn, eventPage]{
		Name: "list_events", Title: "List events",
		Description: "vCenter events, newest first: time, category, type, message, user, object; for one VM, host, cluster, datacenter or datastore (and what is below it) or all, by time, category and user; paged.",
		Toolset:     ToolsetObservability, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `EventManager.CreateCollectorForEvents`, then the collector's `latestPage`, `ResetCollector`, `ReadPreviousEvents`, `DestroyCollector`",
			On: "the objects whose events are read (events on others are left out)"},
		Example: `{"entity": "build-01", "since": "24h"}`,
		Schema: func(in, _ *schema) {
			in.enum("types", eventCategoryNames...)
			in.enum("entity_type", entityTypeNames...)
		},
		Handle: func(ctx context.Context, req *mcp.CallToolRequest, in listEventsIn) (*mcp.CallToolResult, eventPage, error) {
			vc, err := connect(ctx, d, in.Hostname)
			if err != nil {
				return nil, eventPage{}, err
			}
			limit := in.Limit
			if limit == 0 {
				limit = defaultLimit
			}
			if limit < 1 || limit > maxLimit {
				return nil, eventPage{}, argErrorf("limit must be between 1 and %d", maxLimit)
			}
			key := listingKey(req.Params.Name, vc.Host(), in)
			f := vcenter.EventFilter{}
			if f.Types, err = eventTypes(in.Types); err != nil {
				return nil, eventPage{}, err
			}
			if in.User != "" {
				if len(in.User) > 256 || !plainText(in.User) {
					return nil, eventPage{}, argErrorf("user must be a plain user name of at most 256 characters")
				}
				f.Users = userForms(in.User)
			}
			var after *vcenter.EventPosition
			served := 0
			if in.Cursor != "" {
				c, err := decodeEventCursor(in.Cursor, key)
				if err != nil {
					return nil, eventPage{}, err
				}
				f.End = time.Unix(0, c.Until)
				if c.Since != 0 {
					f.Begin = time.Unix(0, c.Since)
				}
				after, served = &vcenter.EventPosition{Time: time.Unix(0, c.Time), Key: c.Key}, c.Served
			} else if f.Begin, f.End, err = window(in.Since, in.Until, time.Now(), 0); err != nil {
				return nil, eventPage{}, err
			}
			ent, err := resolveEntity(ctx, vc, in.entityArgs)
			if err != nil {
				return nil, eventPage{}, err
			}
			f.Entity = ent
			events, more, err := vc.ReadEvents(ctx, f, after, limit)
			if err != nil {
				return nil, eventPage{}, fail("read events", err, eventsNext(err))
			}
			out := eventPage{Until: stamp(f.End), Since: stamp(f.Begin), Items: make([]eventItem, 0, len(events))}
			size := pageOverhead
			for _, e := range events {
				it := eventItemOf(e)
				b, _ := json.Marshal(it)
				if size+len(b)+1 > maxResultBytes && len(out.Items) > 0 {
					more = true
					out.Note = fmt.Sprintf("page cut to %d events to stay under %d kB; continue with next_cursor", len(out.Items), maxResultBytes/1000)
					break
				}
				size += len(b) + 1
				out.Items = append(out.Items, it)
			}
			out.Returned = len(out.Items)
			if more && len(out.Items) > 0 {
				last := events[len(out.Items)-1]
				c := eventCursor{Query: key, Until: f.End.UnixNano(), Time: last.Time.UnixNano(), Key: last.Key, Served: served + out.Returned}
				if !f.Begin.IsZero() {
					c.Since = f.Begin.UnixNano()
				}
				out.NextCursor = c.encode()
			} else {
				total := served + out.Returned
				out.Total = &total
			}
			return nil, out, nil
		},
	}.tool()
}

// eventsNext is the next step after a failed event read.
func eventsNext(err error) string {
	switch {
	case errors.Is(err, vcenter.ErrNoVIJSON):
		return perfNext(err)
	case errors.Is(err, vcenter.ErrInvalidArgument):
		return "vCenter refused the filter; an entity that does not exist is refused this way: check it with the list tools"
	case errors.Is(err, vcenter.ErrNotAllowedInCurrentState):
		return "vCenter has too many event readers open for this session (at most 32): try again in a moment"
	}
	return ""
}
