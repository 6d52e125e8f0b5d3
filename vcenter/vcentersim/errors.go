package vcentersim

import (
	"fmt"
	"strings"
)

// vapiError is a standard error of the Automation API (com.vmware.vapi.std.errors),
// written by the dialect in its surface's shape (contract §4).
type vapiError struct {
	Type     string // error_type, e.g. "NOT_FOUND"
	Messages []localizableMessage
}

// localizableMessage is vapi.std.LocalizableMessage. Args is never nil: the
// field is required and vCenter sends [] when a message has no arguments.
type localizableMessage struct {
	ID             string   `json:"id"`
	DefaultMessage string   `json:"default_message"`
	Args           []string `json:"args"`
}

func newVAPIError(errorType, id, defaultMessage string, args ...string) *vapiError {
	if args == nil {
		args = []string{}
	}
	return &vapiError{Type: errorType, Messages: []localizableMessage{{ID: id, DefaultMessage: defaultMessage, Args: args}}}
}

// apiBody is the /api error body.
func (e *vapiError) apiBody() any {
	return struct {
		ErrorType string               `json:"error_type"`
		Messages  []localizableMessage `json:"messages"`
	}{e.Type, e.Messages}
}

// restBody is the /rest error body: the /api body wrapped with its type name.
// Without errorType, value carries only the messages, as in the /rest 401
// the contract quotes from a live server (§1.4) and in 6.x bodies (§4):
// {"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"messages":[…]}}.
func (e *vapiError) restBody(errorType bool) any {
	var value any = struct {
		Messages []localizableMessage `json:"messages"`
	}{e.Messages}
	if errorType {
		value = e.apiBody()
	}
	return struct {
		Type  string `json:"type"`
		Value any    `json:"value"`
	}{"com.vmware.vapi.std.errors." + strings.ToLower(e.Type), value}
}

// restBody writes e for /rest as this server does: UNAUTHENTICATED in the
// shape the contract quotes (§1.4, without value.error_type), and every
// error so under Options.RESTErrorsWithoutErrorType.
func (s *Server) restBody(e *vapiError) any {
	return e.restBody(!s.opts.RESTErrorsWithoutErrorType && e.Type != "UNAUTHENTICATED")
}

// apiStatus is the HTTP status of each error type on /api, as the server
// declares it ([S703] and the 8.0.2 specs; contract §4). RESOURCE_BUSY,
// UNABLE_TO_ALLOCATE_RESOURCE, RESOURCE_INACCESSIBLE and TIMED_OUT are 500.
var apiStatus = map[string]int{
	"NOT_FOUND":                     404,
	"OPERATION_NOT_FOUND":           404,
	"ALREADY_IN_DESIRED_STATE":      400,
	"NOT_ALLOWED_IN_CURRENT_STATE":  400,
	"INVALID_ARGUMENT":              400,
	"INVALID_REQUEST":               400,
	"UNEXPECTED_INPUT":              400,
	"UNSUPPORTED":                   400,
	"ALREADY_EXISTS":                400,
	"RESOURCE_IN_USE":               400,
	"FEATURE_IN_USE":                400,
	"INVALID_ELEMENT_TYPE":          400,
	"INVALID_ELEMENT_CONFIGURATION": 400,
	"UNVERIFIED_PEER":               400,
	"UNAUTHENTICATED":               401,
	"UNAUTHORIZED":                  403,
	"CONCURRENT_CHANGE":             409,
	"RESOURCE_BUSY":                 500,
	"UNABLE_TO_ALLOCATE_RESOURCE":   500,
	"RESOURCE_INACCESSIBLE":         500,
	"ERROR":                         500,
	"INTERNAL_SERVER_ERROR":         500,
	"CANCELED":                      500,
	"TIMED_OUT":                     500,
	"SERVICE_UNAVAILABLE":           503,
}

// restStatus is the HTTP status of each error type on /rest, from VMware's
// 6.7.1 REST reference [D671] (contract §4). Where sources disagree the
// simulator takes the vmsgen table the 7.0.3 spec was generated with:
// CONCURRENT_CHANGE is 400 there.
var restStatus = map[string]int{
	"NOT_FOUND":                     404,
	"OPERATION_NOT_FOUND":           404,
	"ALREADY_IN_DESIRED_STATE":      400,
	"NOT_ALLOWED_IN_CURRENT_STATE":  400,
	"INVALID_ARGUMENT":              400,
	"INVALID_REQUEST":               400,
	"UNEXPECTED_INPUT":              400,
	"UNSUPPORTED":                   400,
	"ALREADY_EXISTS":                400,
	"RESOURCE_IN_USE":               400,
	"FEATURE_IN_USE":                400,
	"INVALID_ELEMENT_TYPE":          400,
	"INVALID_ELEMENT_CONFIGURATION": 400,
	"UNVERIFIED_PEER":               400,
	"UNAUTHENTICATED":               401,
	"UNAUTHORIZED":                  403,
	"CONCURRENT_CHANGE":             400,
	"RESOURCE_BUSY":                 400,
	"UNABLE_TO_ALLOCATE_RESOURCE":   400,
	"RESOURCE_INACCESSIBLE":         400,
	"ERROR":                         500,
	"INTERNAL_SERVER_ERROR":         500,
	"CANCELED":                      500,
	"TIMED_OUT":                     504,
	"SERVICE_UNAVAILABLE":           503,
}

// Errors whose message id and text VMware documents or real servers were seen
// to send (contract §1.4, §2.2, §4).

func errUnauthenticated() *vapiError {
	return newVAPIError("UNAUTHENTICATED", "com.vmware.vapi.endpoint.method.authentication.required", "Authentication required.")
}

// errAPINotFound answers an /api URL that names no operation.
func errAPINotFound() *vapiError {
	return newVAPIError("NOT_FOUND", "com.vmware.vapi.rest.httpNotFound", "Not found.")
}

// errRESTNotFound answers a /rest URL that names no operation; vCenter quotes
// the path without its /rest prefix.
func errRESTNotFound(path string) *vapiError {
	p := strings.TrimPrefix(path, "/rest")
	return newVAPIError("NOT_FOUND", "com.vmware.vapi.rest.operationsForUrlNotFound",
		fmt.Sprintf("Unable to find operations for URL: %s.", p), p)
}

// errTooMany is the refusal of a list with more matches than its cap. The VM
// message is VMware's (vsphere-automation-sdk-python #142); the other ids
// follow its pattern.
func errTooMany(kind, plural string) *vapiError {
	return newVAPIError("UNABLE_TO_ALLOCATE_RESOURCE", "com.vmware.api.vcenter."+kind+".too_many_matches",
		fmt.Sprintf("Too many %s. Add more filter criteria to reduce the number.", plural))
}

// errInvalidInput is vAPI's answer to input its data binding cannot map onto
// the operation: a body field the structure does not have (a /rest-style
// {"spec": …} wrapper on /api included), a value of the wrong type, a query
// key or enum value the filter does not know. vCenter names only the method,
// never the field (seen live, evoila/meho #2973:
// "Invalid input for method: ::Com::Vmware::Vcenter::VmSvc::Relocate").
func errInvalidInput(method string) *vapiError {
	return newVAPIError("INVALID_ARGUMENT", "vapi.invoke.invalid.input", "Invalid input for method: "+method, method)
}

// Errors whose wording the simulator chose: vCenter's exact ids are not on
// record. Clients must branch on error_type only (contract §4), never on these.

func errNotFound(kind, what, id string) *vapiError {
	return newVAPIError("NOT_FOUND", "com.vmware.api.vcenter."+kind+".not_found",
		fmt.Sprintf("%s with identifier '%s' does not exist.", what, id), id)
}

func errVMNotFound(id string) *vapiError { return errNotFound("vm", "Virtual machine", id) }

func errInvalidArgument(format string, args ...any) *vapiError {
	return newVAPIError("INVALID_ARGUMENT", "com.vmware.vapi.std.errors.invalid_argument", fmt.Sprintf(format, args...))
}

func errVMState(errorType, id, message string) *vapiError {
	return newVAPIError(errorType, "com.vmware.api.vcenter.vm."+id, message)
}

func errVMBusy(vmID string) *vapiError {
	return newVAPIError("RESOURCE_BUSY", "com.vmware.api.vcenter.vm.busy",
		fmt.Sprintf("Virtual machine '%s' is busy: another task is in progress.", vmID), vmID)
}

func errToolsNotRunning(vmID string) *vapiError {
	return newVAPIError("SERVICE_UNAVAILABLE", "com.vmware.api.vcenter.vm.guest.tools_not_running",
		fmt.Sprintf("VMware Tools is not running in virtual machine '%s'.", vmID), vmID)
}
