package vcentersim

// Test controls of the observability side; like the others, Go methods
// only, each returning copies.

// Events returns the event log, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.obs.events))
	for i, e := range s.obs.events {
		out[i] = e.export()
	}
	return out
}

// Alarms returns the triggered alarms, in the order they were triggered.
func (s *Server) Alarms() []AlarmState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AlarmState, 0, len(s.obs.states))
	for _, st := range s.obs.states {
		out = append(out, AlarmState{
			Alarm: st.alarm, AlarmName: s.obs.alarms[st.alarm].name, Entity: st.entity, Status: st.status, Time: st.time,
			Acknowledged: st.acked, AcknowledgedBy: st.ackUser, AcknowledgedAt: st.ackTime,
		})
	}
	return out
}

// OpenEventCollectors counts the EventHistoryCollectors that exist, of
// every session: a client that destroys its collectors leaves none.
func (s *Server) OpenEventCollectors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.obs.collectors)
}
