package vcenter

import "testing"

func TestValidateID(t *testing.T) {
	valid := map[Kind][]string{
		KindVM:           {"vm-1", "vm-42", "vm-123456789012"},
		KindHost:         {"host-10"},
		KindCluster:      {"domain-c8"},
		KindDatastore:    {"datastore-11"},
		KindNetwork:      {"network-12", "network-o7", "dvportgroup-33"},
		KindDatacenter:   {"datacenter-3"},
		KindFolder:       {"group-v4", "group-d1", "group-h5", "group-s6", "group-n7"},
		KindResourcePool: {"resgroup-9", "resgroup-v10"},
		KindSnapshot:     {"snapshot-5"},
		KindTask:         {"task-7"},
	}
	invalid := map[Kind][]string{
		KindVM:           {"", "vm-", "vm-x", "VM-42", "vm-42 ", " vm-42", "vm-1234567890123", "vm-1/power", "vm-1%2F..", "../vm-1", "vm--1", "host-10", "vm-４２", "vm-1\n"},
		KindCluster:      {"domain-8", "domain-s8", "domain-c", "domain-cc8"},
		KindNetwork:      {"network-x1", "network-oo1", "dvportgroup-o1", "network-"},
		KindFolder:       {"group-4", "group-V4", "group-vv4", "group-"},
		KindResourcePool: {"resgroup-x9", "resgroup-"},
	}
	for k, ids := range valid {
		for _, id := range ids {
			if err := ValidateID(k, id); err != nil {
				t.Errorf("ValidateID(%s, %q) = %v, want nil", k, id, err)
			}
		}
	}
	for k, ids := range invalid {
		for _, id := range ids {
			if err := ValidateID(k, id); err == nil {
				t.Errorf("ValidateID(%s, %q) = nil, want an error", k, id)
			}
		}
	}
	if err := ValidateID("nonsense", "vm-1"); err == nil {
		t.Error("unknown kind accepted")
	}
}
