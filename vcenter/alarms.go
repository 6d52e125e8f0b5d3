package vcenter

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Alarms (vcenter-api-observability.md §4): triggered alarm states, alarm
// definitions and acknowledgement.

const alarmsWhat = "alarms"

// AlarmState is one triggered alarm on the entity that triggered it.
type AlarmState struct {
	Key     string // "alarm-3.vm-42"
	AlarmID string // "alarm-3"
	// Name and Description come from the alarm's definition; "" when it
	// could not be read.
	Name, Description string
	Entity            EntityRef // the triggering entity (Name unset)
	Status            string    // red or yellow
	Time              time.Time // when it turned this colour
	Acknowledged      bool
	AcknowledgedBy    string
	AcknowledgedAt    time.Time
	EventKey          int64 // the event that triggered it, 0 when none
	Disabled          bool  // the alarm is disabled for this entity
}

// AlarmDefinition is what Alarm.info says of an alarm.
type AlarmDefinition struct {
	ID, Name, SystemName, Description string
	Enabled                           bool
}

type cachedAlarm struct {
	def AlarmDefinition
	at  time.Time
}

// alarmTTL is how long an alarm definition is kept: vCenter's default
// alarms never change, and a renamed custom one shows its old name that long.
const alarmTTL = 10 * time.Minute

type vimAlarmState struct {
	Key                string   `json:"key"`
	Entity             moRef    `json:"entity"`
	Alarm              moRef    `json:"alarm"`
	OverallStatus      string   `json:"overallStatus"`
	Time               vimStamp `json:"time"`
	Acknowledged       bool     `json:"acknowledged"`
	AcknowledgedByUser string   `json:"acknowledgedByUser"`
	AcknowledgedTime   vimStamp `json:"acknowledgedTime"`
	EventKey           int64    `json:"eventKey"`
	Disabled           bool     `json:"disabled"`
}

// TriggeredAlarms reads on's triggeredAlarmState: the alarms triggered by
// the entity or by anything below it (the root folder's list holds every
// triggered alarm). States naming an entity or alarm this package cannot
// address are skipped. Names are left to [Client.NameAlarms], so that a
// caller that keeps a few of many states reads only their definitions.
func (c *Client) TriggeredAlarms(ctx context.Context, on EntityRef) ([]AlarmState, error) {
	if err := on.validate(); err != nil {
		return nil, err
	}
	var raw []vimAlarmState
	if err := c.vimRead(ctx, alarmsWhat, http.MethodGet, on.VimType(), on.ID, "triggeredAlarmState", nil, &raw, true); err != nil {
		return nil, fmt.Errorf("read triggered alarms of %s: %w", on.ID, err)
	}
	out := make([]AlarmState, 0, len(raw))
	for _, r := range raw {
		ent, ok := entityOf(r.Entity)
		if !ok || !LooksLikeID(KindAlarm, r.Alarm.Value) {
			continue
		}
		out = append(out, AlarmState{
			Key: sanitize(r.Key, 128), AlarmID: r.Alarm.Value, Entity: ent, Status: sanitize(r.OverallStatus, 16), Time: r.Time.Time,
			Acknowledged: r.Acknowledged, AcknowledgedBy: sanitize(r.AcknowledgedByUser, maxNameLen), AcknowledgedAt: r.AcknowledgedTime.Time,
			EventKey: r.EventKey, Disabled: r.Disabled,
		})
	}
	return out, nil
}

// NameAlarms fills in the names and descriptions of states from their
// alarms' definitions (Alarm.info, cached for ten minutes, read in
// parallel). A definition that cannot be read leaves its name empty.
func (c *Client) NameAlarms(ctx context.Context, states []AlarmState) {
	ids := map[string]bool{}
	for _, st := range states {
		ids[st.AlarmID] = true
	}
	defs := c.alarmDefinitions(ctx, ids)
	for i := range states {
		if d, ok := defs[states[i].AlarmID]; ok {
			states[i].Name, states[i].Description = d.Name, d.Description
		}
	}
}

// alarmDefinitions reads the definitions of ids, from the cache or in
// parallel; those that cannot be read are left out.
func (c *Client) alarmDefinitions(ctx context.Context, ids map[string]bool) map[string]AlarmDefinition {
	out := map[string]AlarmDefinition{}
	var missing []string
	o := &c.obs
	o.mu.Lock()
	for id := range ids {
		if ca, ok := o.alarms[id]; ok && time.Since(ca.at) < alarmTTL {
			out[id] = ca.def
		} else {
			missing = append(missing, id)
		}
	}
	o.mu.Unlock()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.cfg.Parallelism)
	for _, id := range missing {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if d, err := c.AlarmInfo(ctx, id); err == nil {
				mu.Lock()
				out[id] = d
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// AlarmInfo reads an alarm's definition (Alarm.info) and caches it.
func (c *Client) AlarmInfo(ctx context.Context, alarm string) (AlarmDefinition, error) {
	if err := ValidateID(KindAlarm, alarm); err != nil {
		return AlarmDefinition{}, err
	}
	var info struct {
		Name        string `json:"name"`
		SystemName  string `json:"systemName"`
		Description string `json:"description"`
		Enabled     bool   `json:"enabled"`
	}
	if err := c.vimRead(ctx, alarmsWhat, http.MethodGet, "Alarm", alarm, "info", nil, &info, true); err != nil {
		return AlarmDefinition{}, fmt.Errorf("read alarm %s: %w", alarm, err)
	}
	d := AlarmDefinition{ID: alarm, Name: sanitize(info.Name, maxNameLen), SystemName: sanitize(info.SystemName, 128),
		Description: sanitize(info.Description, maxMessageLen), Enabled: info.Enabled}
	o := &c.obs
	o.mu.Lock()
	if o.alarms == nil {
		o.alarms = map[string]cachedAlarm{}
	}
	o.alarms[alarm] = cachedAlarm{d, time.Now()}
	o.mu.Unlock()
	return d, nil
}

// AcknowledgeAlarm acknowledges the alarm triggered on entity
// (AlarmManager.AcknowledgeAlarm). vCenter answers the same for an alarm
// already acknowledged or not triggered there, so the caller reads the
// state before and after. It is a state change: never retried.
func (c *Client) AcknowledgeAlarm(ctx context.Context, alarm string, entity EntityRef) error {
	if err := ValidateID(KindAlarm, alarm); err != nil {
		return err
	}
	if err := entity.validate(); err != nil {
		return err
	}
	m, err := c.obsManagers(ctx, alarmsWhat)
	if err != nil {
		return err
	}
	body := map[string]any{"alarm": moRef{Type: "Alarm", Value: alarm}, "entity": entity.moRef()}
	if err := c.vimRead(ctx, alarmsWhat, http.MethodPost, "AlarmManager", m.alarm, "AcknowledgeAlarm", body, nil, false); err != nil {
		return fmt.Errorf("acknowledge %s on %s: %w", alarm, entity.ID, err)
	}
	return nil
}
