// Alarm tools list triggered alarms and acknowledge one (AlarmManager over
// VI/JSON). Inverse of acknowledge_alarm: none; vSphere has no
// un-acknowledge, and an alarm clears by itself when its condition ends.

package tools

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/audit"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/policy"
	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// alarmAPI reads and acknowledges triggered alarms.
type alarmAPI interface {
	TriggeredAlarms(ctx context.Context, on vcenter.EntityRef) ([]vcenter.AlarmState, error)
	NameAlarms(ctx context.Context, states []vcenter.AlarmState)
	AcknowledgeAlarm(ctx context.Context, alarm string, entity vcenter.EntityRef) error
	EntityNames(ctx context.Context, refs []vcenter.EntityRef) map[string]string
}

type alarmItem struct {
	AlarmID        string    `json:"alarm_id"`
	Alarm          string    `json:"alarm"` // the alarm's name
	Description    string    `json:"description,omitempty"`
	Status         string    `json:"status"` // red or yellow
	Since          string    `json:"since"`
	Entity         entityOut `json:"entity"` // the object that triggered it
	Acknowledged   bool      `json:"acknowledged"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	AcknowledgedAt string    `json:"acknowledged_at,omitempty"`
}

// statusRank orders alarms: red first.
func statusRank(s string) int {
	switch s {
	case "red":
		return 0
	case "yellow":
		return 1
	}
	return 2
}

// namedAlarms names the triggering entities of states (one list request
// per kind) and turns them into items, most urgent first: red before
// yellow, unacknowledged before acknowledged, newest first.
func namedAlarms(ctx context.Context, vc alarmAPI, states []vcenter.AlarmState) []alarmItem {
	refs := make([]vcenter.EntityRef, 0, len(states))
	for _, st := range states {
		refs = append(refs, st.Entity)
	}
	var names map[string]string
	var wg sync.WaitGroup
	wg.Go(func() { names = vc.EntityNames(ctx, refs) })
	vc.NameAlarms(ctx, states)
	wg.Wait()
	slices.SortStableFunc(states, func(a, b vcenter.AlarmState) int {
		return cmp.Or(cmp.Compare(statusRank(a.Status), statusRank(b.Status)), boolRank(a.Acknowledged, b.Acknowledged), b.Time.Compare(a.Time))
	})
	out := make([]alarmItem, 0, len(states))
	for _, st := range states {
		e := st.Entity
		e.Name = names[e.ID]
		name := st.Name
		if name == "" {
			name = st.AlarmID // the definition could not be read
		}
		out = append(out, alarmItem{
			AlarmID: st.AlarmID, Alarm: name, Description: truncate(st.Description, 160), Status: st.Status,
			Since: stamp(st.Time), Entity: entityOutOf(e), Acknowledged: st.Acknowledged,
			AcknowledgedBy: st.AcknowledgedBy, AcknowledgedAt: stamp(st.AcknowledgedAt),
		})
	}
	return out
}

func boolRank(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// --- list_alarms ---

type listAlarmsIn struct {
	listArgs
	entityArgs
	Status       string `json:"status,omitempty"`
	Acknowledged *bool  `json:"acknowledged,omitempty" jsonschema:"true: only acknowledged; false: only unacknowledged"`
}

func listAlarms(d Deps) Tool {
	return spec[listAlarmsIn, page[alarmItem]]{
		Name: "list_alarms", Title: "List triggered alarms",
		Description: "Triggered alarms (red first) with name, status, since when, the object that triggered it and who acknowledged it; on an object and everything below it, or all; paged.",
		Toolset:     ToolsetObservability, Level: policy.LevelRead, Kind: KindRead, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `triggeredAlarmState` of the object (default: the root folder), `Alarm.info`; the inventory lists for names",
			On: "the object and what is below it"},
		Example: `{"status": "red"}`,
		Schema: func(in, _ *schema) {
			in.enum("status", "red", "yellow")
			in.enum("entity_type", entityTypeNames...)
		},
		Handle: listing(d, func(ctx context.Context, vc VCenter, in listAlarmsIn) ([]alarmItem, error) {
			ent, err := resolveEntity(ctx, vc, in.entityArgs)
			if err != nil {
				return nil, err
			}
			var on vcenter.EntityRef
			if ent != nil {
				on = *ent
			} else if on, err = vc.RootFolder(ctx); err != nil {
				return nil, fail("read alarms", err, perfNext(err))
			}
			states, err := vc.TriggeredAlarms(ctx, on)
			if err != nil {
				return nil, fail("read alarms", err, alarmNext(err))
			}
			states = slices.DeleteFunc(states, func(st vcenter.AlarmState) bool {
				return in.Status != "" && st.Status != in.Status || in.Acknowledged != nil && st.Acknowledged != *in.Acknowledged
			})
			return namedAlarms(ctx, vc, states), nil
		}),
	}.tool()
}

// alarmNext is the next step after a failed alarm read or acknowledgement.
func alarmNext(err error) string {
	switch {
	case errors.Is(err, vcenter.ErrNotFound):
		return "the alarm or the object does not exist (any more): list_alarms shows triggered alarms with their alarm_id and entity id"
	case errors.Is(err, vcenter.ErrNoVIJSON):
		return perfNext(err)
	case errors.Is(err, vcenter.ErrUnauthorized):
		return "the vCenter account lacks Alarm.Acknowledge on this object: ask the vCenter administrator to grant it (see docs/privileges.md)"
	case maybeApplied(err):
		return "check with list_alarms whether it is acknowledged before trying again"
	}
	return ""
}

// --- acknowledge_alarm ---

type acknowledgeAlarmIn struct {
	hostArgs
	AlarmID  string `json:"alarm_id" jsonschema:"like alarm-3; list_alarms shows it"`
	EntityID string `json:"entity_id" jsonschema:"the object that triggered it, like vm-42"`
}

type acknowledgeAlarmOut struct {
	Summary        string    `json:"summary"`
	Alarm          vmRef     `json:"alarm"`
	Entity         entityOut `json:"entity"`
	Status         string    `json:"status"`
	Changed        bool      `json:"changed" jsonschema:"false when it was acknowledged already"`
	AcknowledgedBy string    `json:"acknowledged_by"`
	AcknowledgedAt string    `json:"acknowledged_at"`
}

func acknowledgeAlarm(d Deps) Tool {
	return spec[acknowledgeAlarmIn, acknowledgeAlarmOut]{
		Name: "acknowledge_alarm", Title: "Acknowledge alarm",
		Description: "Acknowledge one triggered alarm on the object that triggered it; one already acknowledged is left as it is. Inverse: none (the alarm clears when its condition ends).",
		Toolset:     ToolsetObservability, Level: policy.LevelOps, Kind: KindWrite, Idempotent: true,
		Privileges: Privileges{Calls: "VI/JSON `triggeredAlarmState` of the object (before and after), `AlarmManager.AcknowledgeAlarm`",
			Needs: "`Alarm.Acknowledge`", On: "the object that triggered the alarm"},
		Example: `{"alarm_id": "alarm-3", "entity_id": "vm-89"}`,
		Handle: func(ctx context.Context, _ *mcp.CallToolRequest, in acknowledgeAlarmIn) (*mcp.CallToolResult, acknowledgeAlarmOut, error) {
			if err := vcenter.ValidateID(vcenter.KindAlarm, in.AlarmID); err != nil {
				return nil, acknowledgeAlarmOut{}, &argError{err.Error() + "; list_alarms shows alarm ids"}
			}
			kind, ok := vcenter.KindOfID(in.EntityID)
			if !ok {
				return nil, acknowledgeAlarmOut{}, argErrorf("entity_id %s is not an object id (like vm-42, host-12, datastore-26); list_alarms shows the object of each alarm", quote(in.EntityID))
			}
			vc, err := connect(ctx, d, in.Hostname)
			if err != nil {
				return nil, acknowledgeAlarmOut{}, err
			}
			ent := vcenter.EntityRef{Kind: kind, ID: in.EntityID}
			audit.NoteTarget(ctx, ent.ID, "")
			find := func() (*vcenter.AlarmState, []vcenter.AlarmState, error) {
				states, err := vc.TriggeredAlarms(ctx, ent)
				if err != nil {
					return nil, nil, err
				}
				for i := range states {
					if states[i].AlarmID == in.AlarmID && states[i].Entity.ID == ent.ID {
						return &states[i], states, nil
					}
				}
				return nil, states, nil
			}
			st, all, err := find()
			if err != nil {
				return nil, acknowledgeAlarmOut{}, fail("read alarms of "+ent.ID, err, alarmNext(err))
			}
			if st != nil {
				one := []vcenter.AlarmState{*st}
				vc.NameAlarms(ctx, one)
				st.Name = one[0].Name
			}
			ent.Name = vc.EntityNames(ctx, []vcenter.EntityRef{ent})[ent.ID]
			audit.NoteTarget(ctx, ent.ID, ent.Name)
			what := fmt.Sprintf("%s on %s", in.AlarmID, label(ent.Name, ent.ID))
			if st == nil {
				for _, x := range all {
					if x.AlarmID == in.AlarmID {
						return nil, acknowledgeAlarmOut{}, argErrorf("%s: the alarm was triggered by %s, below it, and vCenter acknowledges an alarm only on the object that triggered it. Next: call again with entity_id %s", what, x.Entity.ID, x.Entity.ID)
					}
				}
				return nil, acknowledgeAlarmOut{}, argErrorf("%s is not triggered (it may have cleared). Next: list_alarms shows the triggered alarms with their alarm_id and entity", what)
			}
			out := acknowledgeAlarmOut{Alarm: vmRef{st.AlarmID, st.Name}, Entity: entityOutOf(ent), Status: st.Status}
			if st.Acknowledged {
				out.AcknowledgedBy, out.AcknowledgedAt = st.AcknowledgedBy, stamp(st.AcknowledgedAt)
				out.Summary = fmt.Sprintf("alarm %q (%s) was already acknowledged by %s %s; nothing changed. It clears when its condition ends", st.Name, what, st.AcknowledgedBy, ago(time.Now(), st.AcknowledgedAt))
				return nil, out, nil
			}
			if err := vc.AcknowledgeAlarm(ctx, st.AlarmID, ent); err != nil {
				return nil, acknowledgeAlarmOut{}, fail("acknowledge "+what, err, alarmNext(err))
			}
			after, _, err := find()
			switch {
			case err != nil:
				return nil, acknowledgeAlarmOut{}, fail("acknowledge "+what, fmt.Errorf("vCenter accepted it, but reading the alarm back failed: %w", err), "check with list_alarms whether it is acknowledged")
			case after == nil:
				out.Summary = fmt.Sprintf("alarm %q (%s) cleared while it was being acknowledged", st.Name, what)
				out.Changed = true
				return nil, out, nil
			case !after.Acknowledged:
				return nil, acknowledgeAlarmOut{}, fmt.Errorf("acknowledge %s: vCenter accepted the request but the alarm is still unacknowledged. Next: check the alarm in the vSphere Client; it may have been re-triggered", what)
			}
			out.Changed, out.Status = true, after.Status
			out.AcknowledgedBy, out.AcknowledgedAt = after.AcknowledgedBy, stamp(after.AcknowledgedAt)
			out.Summary = fmt.Sprintf("alarm %q (%s) acknowledged by %s", st.Name, what, after.AcknowledgedBy)
			return nil, out, nil
		},
	}.tool()
}
