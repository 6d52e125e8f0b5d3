package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter"
)

// Errors are for the model to act on: each says what failed, carries
// vCenter's error type and message (inside the wrapped error), and ends with
// the next step.

// fail wraps err from operation op ("power on web-01 (vm-42)") and adds the
// next step: next if given, else a generic one for the kind of failure.
func fail(op string, err error, next string) error {
	if next == "" {
		next = nextStep(err)
	}
	if next == "" {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w. Next: %s", op, err, next)
}

// explain adds a generic next step to an error from a look-up.
func explain(err error) error {
	var amb *vcenter.AmbiguousError
	switch {
	case errors.As(err, &amb):
		return &argError{fmt.Sprintf("%v. Next: call again with vm_id set to one of these ids", amb)}
	case isArgError(err):
		return &argError{err.Error()}
	}
	if next := nextStep(err); next != "" && !strings.Contains(err.Error(), "Next:") {
		return fmt.Errorf("%w. Next: %s", err, next)
	}
	return err
}

// maybeApplied reports whether err is a state-changing request that may
// have reached vCenter: its effect is unknown.
func maybeApplied(err error) bool {
	var te *vcenter.TransportError
	return errors.As(err, &te) && te.MaybeApplied
}

// nextStep is the generic advice for a kind of failure, or "".
func nextStep(err error) string {
	var te *vcenter.TransportError
	switch {
	case errors.Is(err, context.Canceled):
		return ""
	case errors.As(err, &te) && te.MaybeApplied:
		return "check the VM's current state with get_vm_details before trying again"
	case errors.Is(err, vcenter.ErrNotFound):
		return "check the id or name with the list tools (list_vms, list_vm_snapshots)"
	case errors.Is(err, vcenter.ErrInvalidLogin):
		return "vCenter refused the login: fix VCENTER_USER / VCENTER_PASSWORD and restart; `vsphere-mcp-pro doctor` checks the setup"
	case errors.Is(err, vcenter.ErrUnauthorized):
		return "the vCenter account lacks the privilege for this operation: ask the vCenter administrator to grant it (see docs/privileges.md)"
	case errors.Is(err, vcenter.ErrUnauthenticated):
		return "vCenter did not accept the session: check the credentials with `vsphere-mcp-pro doctor`"
	case errors.Is(err, vcenter.ErrResourceBusy):
		return "another operation is running on this object: wait for it to finish, then try again"
	case errors.Is(err, vcenter.ErrServiceUnavailable):
		return "vCenter is temporarily unavailable: try again in a minute"
	case errors.Is(err, vcenter.ErrNoVIJSON):
		return "snapshots are not available on this vCenter; upgrade it to 8.0 U1 or later"
	case errors.Is(err, vcenter.ErrBadAnswer):
		return "vCenter answered, but with nothing this server can read (too large or malformed): try again; if it persists, narrow the request with filters or check vCenter with `vsphere-mcp-pro doctor`"
	case errors.As(err, &te):
		return "vCenter could not be reached: check the connection with `vsphere-mcp-pro doctor`, then try again"
	}
	return ""
}
