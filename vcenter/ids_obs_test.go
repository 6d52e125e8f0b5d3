package vcenter

import "testing"

// The observability ids: alarms, tagging URNs and the EventHistoryCollector
// vCenter names. Each grammar is tried with what would break a URL path.
func TestObservabilityIDs(t *testing.T) {
	const tag = "urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7f:GLOBAL"
	const category = "urn:vmomi:InventoryServiceCategory:1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C5D:GLOBAL"
	for _, tt := range []struct {
		kind    Kind
		valid   []string
		invalid []string
	}{
		{KindAlarm, []string{"alarm-1", "alarm-123456789012"},
			[]string{"alarm-", "alarm-x", "alarm-1/../x", "Alarm-1", "alarm-1 ", "alarm-1234567890123"}},
		{KindTag, []string{tag},
			[]string{"", category, tag + "/x", tag[:len(tag)-1], "urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7g:GLOBAL",
				"urn:vmomi:InventoryServiceTag:8e2a7f1c5b3d-4c6e-9f10-2a3b4c5d6e7f-:GLOBAL", "urn:vmomi:InventoryServiceTag:../../api/session:GLOBAL",
				"urn:vmomi:InventoryServiceTag:8e2a7f1c-5b3d-4c6e-9f10-2a3b4c5d6e7f:GLOBAL?action=attach"}},
		{KindCategory, []string{category}, []string{tag, category + "%2F"}},
		{KindEventCollector, []string{"session[52c3a0f1-1b2c-4d5e-8f90-a1b2c3d4e5f6]52f1e2d3-c4b5-4a69-8877-665544332211", "EventHistoryCollector-1"},
			[]string{"", "session[x]/../../Task/task-1", "a b", "a?b", "a#b", "a%2Fb", string(make([]byte, 201))}},
	} {
		for _, id := range tt.valid {
			if err := ValidateID(tt.kind, id); err != nil {
				t.Errorf("ValidateID(%s, %q) = %v, want nil", tt.kind, id, err)
			}
		}
		for _, id := range tt.invalid {
			if err := ValidateID(tt.kind, id); err == nil {
				t.Errorf("ValidateID(%s, %.80q) = nil, want an error", tt.kind, id)
			}
		}
	}
}

func TestKindOfID(t *testing.T) {
	for id, want := range map[string]Kind{"vm-42": KindVM, "host-12": KindHost, "domain-c7": KindCluster, "datacenter-2": KindDatacenter,
		"datastore-26": KindDatastore, "group-d1": KindFolder, "resgroup-9": KindResourcePool, "dvportgroup-33": KindNetwork} {
		if got, ok := KindOfID(id); !ok || got != want {
			t.Errorf("KindOfID(%q) = %s, %v; want %s", id, got, ok, want)
		}
	}
	for _, id := range []string{"", "web-01", "task-1", "alarm-3", "domain-s23", "vm-1/x"} {
		if k, ok := KindOfID(id); ok {
			t.Errorf("KindOfID(%q) = %s, want none", id, k)
		}
	}
}
