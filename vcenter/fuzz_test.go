package vcenter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/vsphere-mcp-pro/vsphere-mcp-pro/vcenter/vcentersim"
)

// Fuzz targets. Seed corpora live in testdata/fuzz/FuzzXxx; run one with
//
//	go test -run '^$' -fuzz '^FuzzValidateID$' -fuzztime 20s ./vcenter
//
// or every target with .ci/fuzz.sh.

var kinds = []Kind{KindVM, KindHost, KindCluster, KindDatastore, KindNetwork, KindDatacenter, KindFolder, KindResourcePool, KindSnapshot, KindTask}

// FuzzValidateID checks the gate between model-supplied strings and URL
// paths: whatever it accepts is a short, plain path segment.
func FuzzValidateID(f *testing.F) {
	for _, seed := range []string{"vm-42", "domain-c8", "group-v4", "resgroup-v10", "dvportgroup-33", "network-o5", "../x",
		"vm-1/power?action=stop", "vm-1%2F..", "vm-1\x00", "vm-１", "VM-42", "vm-42 ", strings.Repeat("9", 70)} {
		f.Add(uint8(0), seed)
	}
	f.Fuzz(func(t *testing.T, kind uint8, s string) {
		k := kinds[int(kind)%len(kinds)]
		err := ValidateID(k, s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("ValidateID(%s, %q) = %v, not ErrInvalidID", k, s, err)
			}
			if msg := err.Error(); len(msg) > 400 || !printable(msg) {
				t.Fatalf("error %q echoes the input unsafely", msg)
			}
			return
		}
		if len(s) > maxIDLen || url.PathEscape(s) != s || strings.ContainsAny(s, "/.?#%\\ ") || !printable(s) {
			t.Fatalf("ValidateID(%s, %q) accepted a string that is not a plain path segment", k, s)
		}
		if !LooksLikeID(k, s) {
			t.Fatalf("LooksLikeID(%s, %q) disagrees with ValidateID", k, s)
		}
	})
}

// FuzzNormalizeHost checks that a hostname argument or VCENTER_HOST can only
// ever name a host and port, never a path, user or another scheme.
func FuzzNormalizeHost(f *testing.F) {
	for _, seed := range []string{"vc.example.com", "VC.Example.COM.:443", "https://vc/", "10.0.0.5", "[::1]:8443", "fe80::1",
		"user@vc", "vc/api", "vc:0", "vc:http", "http://vc", "vc#x", "vc?x", "[::1", "a:b:c", " vc ", "vc:0443", "vc:+443",
		"fe80::1%eth0", "vc\x01", "vcénter"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got, err := NormalizeHost(h)
		if err != nil {
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes for %q", len(err.Error()), h)
			}
			return
		}
		host, port, err := net.SplitHostPort(got)
		if err != nil || host == "" {
			t.Fatalf("NormalizeHost(%q) = %q, not host:port: %v", h, got, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("NormalizeHost(%q) = %q: bad port", h, got)
		}
		u, err := url.Parse("https://" + got + "/api/session")
		if err != nil || u.Host != got || u.Path != "/api/session" || u.User != nil {
			t.Fatalf("NormalizeHost(%q) = %q does not stay the host of a URL: %+v, %v", h, got, u, err)
		}
		if again, err := NormalizeHost(got); err != nil || again != got {
			t.Fatalf("NormalizeHost is not idempotent: %q → %q → %q, %v", h, got, again, err)
		}
	})
}

// FuzzDecodeErrors feeds arbitrary error bodies to the /api, /rest and
// VI/JSON error decoders: what comes out is short, printable text.
func FuzzDecodeErrors(f *testing.F) {
	for _, seed := range []string{
		`{"error_type":"NOT_FOUND","messages":[{"id":"x","default_message":"gone","args":[]}]}`,
		`{"type":"com.vmware.vapi.std.errors.not_found","value":{"messages":[{"default_message":"m"}]}}`,
		`{"type":"x"}`, `{"type":""}`, `{"_typeName":"InvalidLogin","faultstring":"bad"}`,
		`{"_typeName":"LocalizedMethodFault","fault":{"_typeName":"FileFault"},"localizedMessage":"disk"}`,
		`{"_typeName":"LocalizedMethodFault","localizedMessage":"no fault"}`, `{"_typeName":"X","faultMessage":[{"message":"m"},{}]}`,
		`{"type":"com.vmware.vapi.std.errors.already_in_desired_state","value":{}}`, `{"error_type":"NOT_FOUND"}`,
		`{"error_type":"\u001b[31m","messages":[{"default_message":"a\nb\u202e"}]}`, `null`, `[]`, `"s"`, ``,
	} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, shape uint8) {
		var e *APIError
		switch shape % 3 {
		case 0:
			e = decodeVAPIError(500, "GET", "/api/x", body, false, sanitize)
		case 1:
			e = decodeVAPIError(400, "GET", "/rest/x", body, true, sanitize)
		default:
			e = decodeVimFault(500, "POST", "/sdk/x", body, sanitize)
		}
		if len(e.Messages) > maxMessages || len(e.Type) > 64+len("…") {
			t.Fatalf("%d messages, type of %d bytes", len(e.Messages), len(e.Type))
		}
		for _, s := range append(append([]string{e.Type, e.Error()}, e.Messages...), e.MessageIDs...) {
			if !printable(s) {
				t.Fatalf("unsafe text %q from %q", s, body)
			}
		}
		for _, m := range e.Messages {
			if len(m) > maxMessageLen+len("…") {
				t.Fatalf("message of %d bytes", len(m))
			}
		}
	})
}

// The three response fuzzers answer one operation of the simulator with
// arbitrary status and body, run the client calls that read it, and check
// that nothing panics, that every string the client returns is short and
// printable, and that no request leaves the paths this client may send:
// ids taken from vCenter's answers go through the same grammar as the model's.

// FuzzAPIResponse fuzzes /api answers.
func FuzzAPIResponse(f *testing.F) { fuzzResponses(f, ModeAPI, "", apiRoutes("/api", "/api/session")) }

// FuzzRESTResponse fuzzes /rest answers.
func FuzzRESTResponse(f *testing.F) {
	fuzzResponses(f, ModeREST, "", apiRoutes("/rest", "/rest/com/vmware/cis/session"))
}

// FuzzVIJSONResponse fuzzes VI/JSON answers, on a vCenter with a separate
// VI/JSON login (8.0 U2).
func FuzzVIJSONResponse(f *testing.F) { fuzzResponses(f, ModeAPI, "8.0.2.0", vimRoutes) }

// fuzzRoute is an operation whose answer is fuzzed and the calls that read it.
type fuzzRoute struct {
	method, path string
	calls        []fuzzCall
}

type fuzzCall func(context.Context, *Client) (any, error)

var (
	findByName = func(ctx context.Context, c *Client) (any, error) { return c.FindVM(ctx, VMRef{Name: "app-01"}) }
	findByID   = func(ctx context.Context, c *Client) (any, error) { return c.FindVM(ctx, VMRef{ID: "vm-70"}) }
	listVMs    = func(ctx context.Context, c *Client) (any, error) {
		vms, _, err := c.ListVMs(ctx, VMFilter{Clusters: []string{"domain-c11"}, PowerStates: []PowerState{PoweredOn}})
		return vms, err
	}
	getVM       = func(ctx context.Context, c *Client) (any, error) { return c.GetVM(ctx, "vm-76") }
	getPower    = func(ctx context.Context, c *Client) (any, error) { return c.GetPower(ctx, "vm-70") }
	getGuest    = func(ctx context.Context, c *Client) (any, error) { return c.GetGuestPower(ctx, "vm-70") }
	getHardware = func(ctx context.Context, c *Client) (any, error) {
		cpu, err := c.GetCPU(ctx, "vm-70")
		if err != nil {
			return cpu, err
		}
		return c.GetMemory(ctx, "vm-70")
	}
	lists = func(ctx context.Context, c *Client) (any, error) {
		var out []any
		var errs []error
		add := func(v any, _ ListStats, err error) { out = append(out, v); errs = append(errs, err) }
		add(c.ListHosts(ctx, HostFilter{}))
		add(c.ListDatastores(ctx, DatastoreFilter{}))
		add(c.ListNetworks(ctx, NetworkFilter{}))
		add(c.ListDatacenters(ctx, DatacenterFilter{}))
		add(c.ListClusters(ctx, ClusterFilter{}))
		add(c.ListResourcePools(ctx, ResourcePoolFilter{}))
		add(c.ListFolders(ctx, FolderFilter{}))
		return out, errors.Join(errs...)
	}
	snapshots = func(ctx context.Context, c *Client) (any, error) { return c.ListSnapshots(ctx, "vm-76") }
	taskInfo  = func(ctx context.Context, c *Client) (any, error) { return c.WaitTask(ctx, "task-1", nil) }
	// The writes run only where their own answer is fuzzed: a fault
	// answers instead of the operation, so the simulator never changes.
	powerOn    = func(ctx context.Context, c *Client) (any, error) { return nil, c.Power(ctx, "vm-73", PowerStart) }
	setCPU     = func(ctx context.Context, c *Client) (any, error) { return nil, c.SetCPUCount(ctx, "vm-73", 4) }
	deleteVM   = func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteVM(ctx, "vm-73") }
	createSnap = func(ctx context.Context, c *Client) (any, error) {
		task, err := c.CreateSnapshot(ctx, "vm-73", SnapshotSpec{Name: "fuzz", Quiesce: true})
		if err != nil {
			return task, err
		}
		return c.WaitTask(ctx, task, nil)
	}
	removeSnap = func(ctx context.Context, c *Client) (any, error) { return c.RemoveSnapshot(ctx, "snapshot-2", true) }
	cancelTask = func(ctx context.Context, c *Client) (any, error) { return nil, c.CancelTask(ctx, "task-1") }
)

func apiRoutes(prefix, session string) []fuzzRoute {
	power := prefix + "/vcenter/vm/*/power"
	if prefix == "/rest" {
		power += "/start"
	}
	return []fuzzRoute{
		{"POST", session, []fuzzCall{getPower}},
		{"GET", prefix + "/vcenter/vm", []fuzzCall{findByName, findByID, listVMs}},
		{"GET", prefix + "/vcenter/vm/*", []fuzzCall{getVM}},
		{"GET", prefix + "/vcenter/vm/*/guest/identity", []fuzzCall{getVM}},
		{"GET", prefix + "/vcenter/vm/*/power", []fuzzCall{getPower}},
		{"GET", prefix + "/vcenter/vm/*/guest/power", []fuzzCall{getGuest}},
		{"GET", prefix + "/vcenter/vm/*/hardware/cpu", []fuzzCall{getHardware}},
		{"GET", prefix + "/vcenter/vm/*/hardware/memory", []fuzzCall{getHardware}},
		{"GET", prefix + "/vcenter/host", []fuzzCall{lists, getVM}},
		{"GET", prefix + "/vcenter/cluster", []fuzzCall{lists, listVMs}},
		{"GET", prefix + "/vcenter/folder", []fuzzCall{lists, getVM}},
		{"GET", prefix + "/vcenter/datacenter", []fuzzCall{lists, findByName}},
		{"GET", prefix + "/vcenter/network", []fuzzCall{lists, getVM}},
		{"GET", prefix + "/vcenter/datastore", []fuzzCall{lists}},
		{"GET", prefix + "/vcenter/resource-pool", []fuzzCall{lists}},
		{"POST", power, []fuzzCall{powerOn}},
		{"PATCH", prefix + "/vcenter/vm/*/hardware/cpu", []fuzzCall{setCPU}},
		{"DELETE", prefix + "/vcenter/vm/*", []fuzzCall{deleteVM}},
	}
}

var vimRoutes = []fuzzRoute{
	{"GET", "/sdk/vim25/8.0.1.0/ServiceInstance/ServiceInstance/content", []fuzzCall{snapshots}},
	{"POST", "/sdk/vim25/*/SessionManager/SessionManager/Login", []fuzzCall{snapshots}},
	{"GET", "/sdk/vim25/*/VirtualMachine/*/snapshot", []fuzzCall{snapshots}},
	{"GET", "/sdk/vim25/*/VirtualMachine/*/runtime", []fuzzCall{getVM}},
	{"GET", "/sdk/vim25/*/VirtualMachine/*/parent", []fuzzCall{getVM, findByName}},
	{"GET", "/sdk/vim25/*/HostSystem/*/parent", []fuzzCall{getVM}},
	{"GET", "/sdk/vim25/*/Task/*/info", []fuzzCall{taskInfo}},
	{"POST", "/sdk/vim25/*/VirtualMachine/*/CreateSnapshotEx_Task", []fuzzCall{createSnap}},
	{"POST", "/sdk/vim25/*/VirtualMachineSnapshot/*/RemoveSnapshot_Task", []fuzzCall{removeSnap}},
	{"POST", "/sdk/vim25/*/Task/*/CancelTask", []fuzzCall{cancelTask}},
}

// fuzzStatuses are the statuses a fuzzed answer carries; 200 is the most
// interesting, hence its weight.
var fuzzStatuses = []int{200, 200, 200, 200, 201, 204, 400, 401, 404, 500, 503}

// allowedPaths are every path this client may send, ids in their grammar.
var allowedPaths = regexp.MustCompile(`^(` +
	`/api/session|/rest/com/vmware/cis/session` +
	`|/(api|rest)/vcenter/(vm|host|datastore|network|datacenter|cluster|resource-pool|folder)` +
	`|/(api|rest)/vcenter/vm/vm-[0-9]{1,12}(/power(/(start|stop|reset|suspend))?|/guest/(power|identity)|/hardware/(cpu|memory))?` +
	`|/sdk/vim25/8\.0\.1\.0/ServiceInstance/ServiceInstance/content` +
	`|/sdk/vim25/[0-9]{1,3}(\.[0-9]{1,3}){1,3}/(` +
	`SessionManager/[A-Za-z][A-Za-z0-9_-]{0,63}/(Login|Logout)` +
	`|VirtualMachine/vm-[0-9]{1,12}/(snapshot|runtime|parent|CreateSnapshotEx_Task)` +
	`|VirtualMachineSnapshot/snapshot-[0-9]{1,12}/(RemoveSnapshot_Task|RevertToSnapshot_Task)` +
	`|Task/task-[0-9]{1,12}/(info|CancelTask)` +
	`|HostSystem/host-[0-9]{1,12}/parent)` +
	`)$`)

var allowedQueryKeys = map[string]bool{"action": true, "vms": true, "names": true, "folders": true, "datacenters": true,
	"hosts": true, "clusters": true, "resource_pools": true, "power_states": true, "standalone": true, "connection_states": true,
	"datastores": true, "types": true, "networks": true, "type": true, "parent_folders": true, "parent_resource_pools": true}

// simTransport answers a client's requests with the simulator's handler in
// memory, as its HTTPS server would but without sockets, so that a fuzzer
// runs fast. It records every request and stops answering after a budget,
// which ends a task that vCenter says runs forever.
type simTransport struct {
	sim    *vcentersim.Server
	mu     sync.Mutex // guards the fields below
	budget int
	sent   []*url.URL
	method []string
}

func (st *simTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	st.mu.Lock()
	st.budget--
	st.sent = append(st.sent, r.URL)
	st.method = append(st.method, r.Method)
	over := st.budget < 0
	st.mu.Unlock()
	if over {
		return nil, errors.New("fuzz: request budget spent")
	}
	in := r.Clone(r.Context())
	in.RequestURI, in.RemoteAddr = r.URL.RequestURI(), "127.0.0.1:50000"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	st.sim.ServeHTTP(rec, in)
	return rec.Result(), nil
}

func (st *simTransport) reset(budget int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.budget, st.sent, st.method = budget, nil, nil
}

func fuzzResponses(f *testing.F, mode Mode, release string, routes []fuzzRoute) {
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `"tok"`, `{"value":"tok"}`, `{"value":[]}`, `{"value":null}`,
		`[{"vm":"vm-74","name":"app-01","power_state":"POWERED_ON"},{"vm":"vm-91","name":"app-01"}]`,
		`[{"vm":"../../api/session","name":"app-01"},{"vm":"vm-1/../x","name":"app-01"}]`,
		`{"value":[{"vm":"vm-1%2F..","name":"app-01"},{"vm":"vm-2","name":"app-01"}]}`,
		`{"name":"x\u001b[2J","disks":{"2000":{"label":"\n","capacity":-1,"backing":{"vmdk_file":"[ds\u202e] a"}}},"nics":[{"key":"4000","value":{"backing":{"network":"../n"}}}]}`,
		`{"error_type":"UNABLE_TO_ALLOCATE_RESOURCE","messages":[]}`, `{"error_type":"UNAUTHENTICATED","messages":[]}`,
		`{"_typeName":"NotAuthenticated","faultstring":"x"}`, `{"_typeName":"ManagedObjectReference","type":"Task","value":"task-9"}`,
		`{"_typeName":"ManagedObjectReference","type":"Task","value":"../../SessionManager/SessionManager/Logout"}`,
		`{"type":"Folder","value":"group-v1/../../x"}`, `{"Host":{"type":"HostSystem","value":"host-1/../../y"}}`,
		`{"about":{"apiVersion":"8.0.3.0/../..","fullName":"\u0000"},"sessionManager":{"value":"../x"}}`,
		`{"about":{"apiVersion":"99.0.0.0"},"sessionManager":{"value":"SessionManager"}}`,
		`{"state":"running","progress":50}`, `{"state":"error","error":{"_typeName":"LocalizedMethodFault","fault":{"_typeName":"FileFault"}}}`,
		`{"currentSnapshot":{"value":"snapshot-1"},"rootSnapshotList":[{"snapshot":{"value":"../x"},"name":"\u2028","childSnapshotList":[{}]}]}`,
		`{"state":"success","result":{"_typeName":"ManagedObjectReference","_value":{"type":"VirtualMachineSnapshot","value":"snapshot-9"}}}`,
		// Live shapes (testdata/live): a bare TaskInfo.error, a boxed result, a /rest error without
		// value.error_type, what a vCenter without VI/JSON sends, escaped snapshot names.
		`{"state":"error","error":{"_typeName":"InvalidArgument","faultstring":"A specified parameter was not correct: spec","invalidProperty":"spec"}}`,
		`{"state":"success","result":{"_typeName":"ArrayOfCheckResult","_value":[{"_typeName":"CheckResult"}]}}`,
		`{"state":"error","error":{"_typeName":"FileFault","faultMessage":[{"key":"k","message":"m\u0000"}]}}`,
		`{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"messages":[{"args":[],"default_message":"Authentication required.","id":"x"}]}}`,
		`<?xml version="1.0"?><soapenv:Envelope><soapenv:Body><soapenv:Fault><faultstring>x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
		`<!DOCTYPE html><html><body>vSphere</body></html>`,
		`{"rootSnapshotList":[{"snapshot":{"value":"snapshot-1"},"name":"a%2fb%25%zz%","childSnapshotList":[]}]}`,
	} {
		for r := range routes { // every body on every route, with status 200
			f.Add(uint8(r), uint8(0), []byte(seed))
		}
	}
	sim := vcentersim.NewUnstartedServer(vcentersim.Options{Release: release, TaskPolls: -1, RequestLog: 1000})
	tr := &simTransport{sim: sim}
	f.Fuzz(func(t *testing.T, route, status uint8, body []byte) {
		fuzzOne(t, sim, tr, mode, routes, route, status, body)
	})
}

// fuzzOne answers rt's operation with status and body, runs its calls and
// checks what they returned and sent.
func fuzzOne(t *testing.T, sim *vcentersim.Server, tr *simTransport, mode Mode, routes []fuzzRoute, route, status uint8, body []byte) {
	rt := routes[int(route)%len(routes)]
	sim.ClearFaults()
	sim.InjectFault(vcentersim.Fault{Method: rt.method, Path: rt.path, Count: -1,
		Status: fuzzStatuses[int(status)%len(fuzzStatuses)], Body: append([]byte{}, body...)})
	tr.reset(200)
	c, err := New(Config{Host: "vcenter.fuzz.test", User: sim.User(), Password: sim.Password(), Mode: mode,
		Retries: -1, Timeout: 5 * time.Second, TaskPollInterval: 0, MaxBodyBytes: 1 << 20, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	c.http.HTTPClient.Transport = tr
	ctx := context.Background()
	for _, call := range rt.calls {
		out, err := call(ctx, c)
		checkStrings(t, "result", reflect.ValueOf(out))
		if err != nil {
			checkStrings(t, "error", reflect.ValueOf(err.Error()))
		}
	}
	_ = c.Close(ctx)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, u := range tr.sent {
		if !allowedPaths.MatchString(u.EscapedPath()) {
			t.Fatalf("%s %s: outside the paths this client may send", tr.method[i], u.RequestURI())
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("%s: query does not parse: %v", u.RequestURI(), err)
		}
		for k := range q {
			if !allowedQueryKeys[strings.TrimPrefix(k, "filter.")] {
				t.Fatalf("%s: unexpected query key %q", u.RequestURI(), k)
			}
		}
	}
}

// checkStrings walks v and fails on any string that is long or carries
// characters a terminal or a model could misread.
func checkStrings(t *testing.T, where string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if len(s) > 8<<10 || !printable(s) {
			t.Fatalf("%s holds unsafe text (%d bytes): %.200q", where, len(s), s)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkStrings(t, where, v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			checkStrings(t, where+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			checkStrings(t, fmt.Sprintf("%s[%d]", where, i), v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			checkStrings(t, where, k)
			checkStrings(t, where, v.MapIndex(k))
		}
	}
}

// printable reports whether s is valid UTF-8 without control, separator or
// invisible format characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
	}) < 0
}
