package tools

import (
	"errors"
	"fmt"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// hostArgs selects the vCenter; every tool embeds it.
type hostArgs struct {
	Hostname string `json:"hostname,omitempty"`
}

// vmArgs names one VM by id or exact name; exactly one must be given.
type vmArgs struct {
	hostArgs
	VMID   string `json:"vm_id,omitempty"`
	VMName string `json:"vm_name,omitempty"`
}

// ref checks that exactly one of vm_id and vm_name is set.
func (a vmArgs) ref() (vcenter.VMRef, error) {
	switch {
	case a.VMID != "" && a.VMName != "":
		return vcenter.VMRef{}, argErrorf("give vm_id or vm_name, not both")
	case a.VMID == "" && a.VMName == "":
		return vcenter.VMRef{}, argErrorf("vm_id or vm_name is required: vm_id like vm-42, or vm_name, the exact name; list_vms shows both")
	}
	return vcenter.VMRef{ID: a.VMID, Name: a.VMName}, nil
}

// confirmArgs is embedded by every tool with the confirm flag.
type confirmArgs struct {
	Confirm bool `json:"confirm,omitempty" jsonschema:"true after the user approves"`
}

// vmRef identifies a VM in results.
type vmRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// label names an object in a sentence: its name quoted, then its id.
//
// Security: names come from vCenter and may hold text aimed at the model;
// quoted, they read as data, not as part of the sentence.
func label(name, id string) string { return fmt.Sprintf("%q (%s)", name, id) }

// argError is a mistake in the arguments; the audit line records the call
// as invalid_args.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func argErrorf(format string, a ...any) error {
	return &argError{fmt.Sprintf(format, a...)}
}

// isArgError reports whether err is (or wraps) a mistake in the arguments,
// including a malformed id refused by the vcenter package.
func isArgError(err error) bool {
	var ae *argError
	return errors.As(err, &ae) || errors.Is(err, vcenter.ErrInvalidID)
}
