package vcentersim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The contract test drives the simulator with requests an /api or /rest
// client sends and validates every request and answer against VMware's
// Swagger documents in shared/specs: the 7.0.3 vCenter spec generated from a
// live server (both dialects) and the 8.0.2 session and cis specs. A status
// the operation does not declare fails, and so does any property the spec's
// schema does not declare.

const specDir = "../../../shared/specs"

// requireContractEnv makes a missing spec fail the contract test instead of
// skipping it. .ci/run sets it whenever shared/ is beside the module, so CI
// cannot pass with the contract unchecked.
const requireContractEnv = "VSPHERE_MCP_REQUIRE_CONTRACT"

var specFiles = []string{
	"vsphere-7.0.3-vcenter.swagger2.json",
	"vsphere-8.0.2-session.swagger2.json",
	"vsphere-8.0.2-cis.swagger2.json",
}

// contractSpecs loads the Swagger documents as OpenAPI 3 with routers.
type contractSpecs struct {
	docs    []*openapi3.T
	routers legacy.Routers
}

func loadContractSpecs(t *testing.T) *contractSpecs {
	t.Helper()
	cs := &contractSpecs{}
	for _, name := range specFiles {
		path := filepath.Join(specDir, name)
		raw, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			abs, _ := filepath.Abs(path)
			msg := fmt.Sprintf("contract spec %s is missing, so the simulator is not checked against VMware's Swagger documents. "+
				"They are the project's shared/specs, kept beside the module (../shared/specs from the repository root) rather than in it; "+
				"put a copy of shared/ there and rerun to check the contract", abs)
			if os.Getenv(requireContractEnv) != "" {
				t.Fatalf("%s (%s is set: the contract test must run)", msg, requireContractEnv)
			}
			t.Skip(msg)
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		raw, err = fixVmsgenQuirks(raw)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		var doc2 openapi2.T
		if err := json.Unmarshal(raw, &doc2); err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		doc, err := openapi2conv.ToV3(&doc2)
		if err != nil {
			t.Fatalf("convert %s to OpenAPI 3: %v", path, err)
		}
		prepareSpec(doc)
		r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation(), openapi3.DisableSchemaPatternValidation())
		if err != nil {
			t.Fatalf("router for %s: %v", path, err)
		}
		cs.docs = append(cs.docs, doc)
		cs.routers = append(cs.routers, r.(*legacy.Router))
	}
	return cs
}

// fixVmsgenQuirks repairs what vmsgen writes against Swagger 2.0 itself: a
// parameter with "required": "true" (a string), and a schema with
// "required": false (JSON Schema draft 3, where Swagger wants a list).
func fixVmsgenQuirks(raw []byte) ([]byte, error) {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			_, isParameter := x["in"]
			switch req := x["required"].(type) {
			case string:
				if isParameter {
					x["required"] = req == "true"
				}
			case bool:
				if !isParameter {
					delete(x, "required")
				}
			}
			for _, child := range x {
				walk(child)
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	walk(doc)
	return json.Marshal(doc)
}

// prepareSpec adapts a converted vmsgen document for validation:
//   - vmsgen writes an operation selected by an action parameter as a path
//     key with a query ("/api/vcenter/vm/{vm}/power?action=start"); such keys
//     become a path segment ("/api/vcenter/vm/{vm}/power/@action=start"), and
//     actionPath rewrites requests the same way;
//   - servers are dropped, so routes match on the path alone;
//   - operation ids become unique (vmsgen names many operations just "get");
//   - every object schema with declared properties rejects undeclared ones,
//     so a misspelt optional field fails instead of passing unseen.
func prepareSpec(doc *openapi3.T) {
	doc.Servers = nil
	for _, key := range doc.Paths.Keys() {
		base, query, ok := strings.Cut(key, "?")
		if !ok {
			continue
		}
		item := doc.Paths.Value(key)
		doc.Paths.Delete(key)
		if strings.Contains(query, "&") { // "?action=clone&vmw-task=true": task variants, unused
			continue
		}
		doc.Paths.Set(base+"/@"+query, item)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			op.OperationID = method + " " + path
		}
	}
	seen := map[*openapi3.Schema]bool{}
	var strict func(*openapi3.SchemaRef)
	strict = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			strict(p)
		}
		strict(s.Items)
		strict(s.AdditionalProperties.Schema)
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, x := range list {
				strict(x)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		strict(s)
	}
}

// actionPath moves an action query parameter into the path, as prepareSpec
// does with the spec's keys.
func actionPath(u *url.URL) *url.URL {
	out := *u
	q := out.Query()
	for _, key := range []string{"action", "~action"} {
		if v := q.Get(key); v != "" {
			out.Path += "/@" + key + "=" + v
			q.Del(key)
		}
	}
	out.RawQuery = q.Encode()
	out.RawPath = ""
	return &out
}

// contractCase is one request and the status the contract expects.
type contractCase struct {
	name       string
	method     string
	path       string
	body       string
	noAuth     bool   // send no session
	basic      string // "good" or "bad": Basic credentials
	wantStatus int
	schema     string // for a URL the spec does not list: the component schema of the answer
	badRequest bool   // the request breaks the spec on purpose; only the answer is validated
}

func TestContract(t *testing.T) {
	cs := loadContractSpecs(t)

	s := newSim(t, Options{})
	token := loginAPI(t, s)
	spare := loginAPI(t, s) // logged out by the DELETE cases

	list := func(path string) contractCase {
		return contractCase{name: path, method: http.MethodGet, path: path, wantStatus: 200}
	}
	cases := []contractCase{
		// Sessions.
		{name: "api login", method: http.MethodPost, path: "/api/session", basic: "good", noAuth: true, wantStatus: 201},
		{name: "api login bad password", method: http.MethodPost, path: "/api/session", basic: "bad", noAuth: true, badRequest: true, wantStatus: 401},
		{name: "api session info", method: http.MethodGet, path: "/api/session", wantStatus: 200},
		{name: "rest login", method: http.MethodPost, path: "/rest/com/vmware/cis/session", basic: "good", noAuth: true, wantStatus: 200},
		{name: "rest login bad password", method: http.MethodPost, path: "/rest/com/vmware/cis/session", basic: "bad", noAuth: true, badRequest: true, wantStatus: 401},
		{name: "rest session info", method: http.MethodPost, path: "/rest/com/vmware/cis/session?~action=get", wantStatus: 200},
		{name: "api no session", method: http.MethodGet, path: "/api/vcenter/vm", noAuth: true, badRequest: true, wantStatus: 401},
		{name: "rest no session", method: http.MethodGet, path: "/rest/vcenter/vm", noAuth: true, badRequest: true, wantStatus: 401},

		// Lists, both dialects, with and without filters.
		list("/api/vcenter/vm"),
		list("/api/vcenter/vm?names=app-01"),
		list("/api/vcenter/vm?power_states=POWERED_ON&power_states=SUSPENDED&clusters=domain-c11"),
		list("/api/vcenter/vm?folders=group-v8&datacenters=datacenter-2&hosts=host-15&resource_pools=resgroup-13&vms=vm-76"),
		list("/rest/vcenter/vm"),
		list("/rest/vcenter/vm?filter.names=app-01&filter.power_states=POWERED_ON"),
		{name: "vm list bad enum", method: http.MethodGet, path: "/api/vcenter/vm?power_states=RUNNING", badRequest: true, wantStatus: 400},
		{name: "vm list unknown key", method: http.MethodGet, path: "/api/vcenter/vm?name=web-01", badRequest: true, wantStatus: 400},
		list("/api/vcenter/host"),
		list("/api/vcenter/host?standalone=true"),
		list("/api/vcenter/host?connection_states=DISCONNECTED&connection_states=NOT_RESPONDING"),
		list("/rest/vcenter/host?filter.clusters=domain-c11"),
		list("/api/vcenter/datastore"),
		list("/api/vcenter/datastore?types=VSAN&types=NFS41"),
		list("/rest/vcenter/datastore?filter.datacenters=datacenter-2"),
		list("/api/vcenter/network"),
		list("/api/vcenter/network?types=DISTRIBUTED_PORTGROUP"),
		list("/rest/vcenter/network?filter.names=VM%20Network"),
		list("/api/vcenter/datacenter"),
		list("/rest/vcenter/datacenter?filter.names=Lab"),
		list("/api/vcenter/cluster"),
		list("/rest/vcenter/cluster?filter.datacenters=datacenter-2"),
		list("/api/vcenter/resource-pool"),
		list("/api/vcenter/resource-pool?clusters=domain-c11&parent_resource_pools=resgroup-12"),
		list("/rest/vcenter/resource-pool?filter.hosts=host-24"),
		list("/api/vcenter/folder"),
		list("/api/vcenter/folder?type=VIRTUAL_MACHINE&parent_folders=group-v3"),
		list("/rest/vcenter/folder?filter.type=DATACENTER"),
		{name: "folder list bad type", method: http.MethodGet, path: "/api/vcenter/folder?type=VM", badRequest: true, wantStatus: 400},

		// Details.
		list("/api/vcenter/vm/vm-76"),  // EFI, two disks, distributed portgroup
		list("/api/vcenter/vm/vm-90"),  // standalone host, standard portgroup
		list("/api/vcenter/vm/vm-104"), // BIOS, powered off
		list("/rest/vcenter/vm/vm-76"),
		list("/rest/vcenter/vm/vm-90"),
		{name: "vm not found", method: http.MethodGet, path: "/api/vcenter/vm/vm-9999", wantStatus: 404},
		{name: "rest vm not found", method: http.MethodGet, path: "/rest/vcenter/vm/vm-9999", wantStatus: 404},
		list("/api/vcenter/vm/vm-70/power"),
		list("/api/vcenter/vm/vm-73/power"), // powered off: clean_power_off
		list("/rest/vcenter/vm/vm-78/power"),
		list("/api/vcenter/vm/vm-70/guest/power"),
		list("/rest/vcenter/vm/vm-73/guest/power"),
		list("/api/vcenter/vm/vm-70/guest/identity"),
		{name: "identity without tools", method: http.MethodGet, path: "/api/vcenter/vm/vm-79/guest/identity", wantStatus: 503},
		{name: "rest identity without tools", method: http.MethodGet, path: "/rest/vcenter/vm/vm-80/guest/identity", wantStatus: 503},
		list("/api/vcenter/vm/vm-70/tools"),
		list("/api/vcenter/vm/vm-79/tools"),
		list("/rest/vcenter/vm/vm-77/tools"),
		list("/api/vcenter/vm/vm-76/hardware/cpu"),
		list("/rest/vcenter/vm/vm-76/hardware/cpu"),
		list("/api/vcenter/vm/vm-70/hardware/memory"), // hot-add on, running: increment and limit
		list("/rest/vcenter/vm/vm-73/hardware/memory"),
		list("/api/vcenter/datastore/datastore-26"),
		list("/rest/vcenter/datastore/datastore-50"),
		{name: "datastore not found", method: http.MethodGet, path: "/api/vcenter/datastore/datastore-9999", wantStatus: 404},
		list("/api/vcenter/datacenter/datacenter-2"),
		list("/rest/vcenter/datacenter/datacenter-53"),
		list("/api/vcenter/cluster/domain-c11"),
		list("/rest/vcenter/cluster/domain-c43"),
		list("/api/vcenter/resource-pool/resgroup-12"),
		list("/rest/vcenter/resource-pool/resgroup-45"),

		// Actions, in an order whose states are known.
		{name: "start a running vm", method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=start", wantStatus: 400},
		{name: "stop", method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=stop", wantStatus: 204},
		{name: "stop again", method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=stop", wantStatus: 400},
		{name: "start", method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=start", wantStatus: 204},
		{name: "suspend", method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=suspend", wantStatus: 204},
		{name: "reset a suspended vm", method: http.MethodPost, path: "/api/vcenter/vm/vm-70/power?action=reset", wantStatus: 400},
		{name: "rest start", method: http.MethodPost, path: "/rest/vcenter/vm/vm-70/power/start", wantStatus: 200},
		{name: "rest reset", method: http.MethodPost, path: "/rest/vcenter/vm/vm-70/power/reset", wantStatus: 200},
		{name: "rest suspend a powered-off vm", method: http.MethodPost, path: "/rest/vcenter/vm/vm-73/power/suspend", wantStatus: 400},
		{name: "rest stop", method: http.MethodPost, path: "/rest/vcenter/vm/vm-71/power/stop", wantStatus: 200},
		{name: "guest shutdown without tools", method: http.MethodPost, path: "/api/vcenter/vm/vm-79/guest/power?action=shutdown", wantStatus: 503},
		{name: "guest shutdown of a suspended vm", method: http.MethodPost, path: "/api/vcenter/vm/vm-78/guest/power?action=shutdown", wantStatus: 400},
		{name: "guest reboot", method: http.MethodPost, path: "/api/vcenter/vm/vm-72/guest/power?action=reboot", wantStatus: 204},
		{name: "rest guest standby", method: http.MethodPost, path: "/rest/vcenter/vm/vm-81/guest/power?action=standby", wantStatus: 200},
		{name: "guest shutdown", method: http.MethodPost, path: "/api/vcenter/vm/vm-72/guest/power?action=shutdown", wantStatus: 204},
		{name: "cpu hot add", method: http.MethodPatch, path: "/api/vcenter/vm/vm-92/hardware/cpu", body: `{"count":4}`, wantStatus: 204},
		{name: "cpu add without hot add", method: http.MethodPatch, path: "/api/vcenter/vm/vm-75/hardware/cpu", body: `{"count":6}`, wantStatus: 400},
		{name: "rest cpu", method: http.MethodPatch, path: "/rest/vcenter/vm/vm-73/hardware/cpu", body: `{"spec":{"count":4,"cores_per_socket":2,"hot_remove_enabled":true}}`, wantStatus: 200},
		{name: "memory hot add", method: http.MethodPatch, path: "/api/vcenter/vm/vm-92/hardware/memory", body: `{"size_MiB":8192}`, wantStatus: 204},
		{name: "rest memory", method: http.MethodPatch, path: "/rest/vcenter/vm/vm-73/hardware/memory", body: `{"spec":{"size_MiB":6144,"hot_add_enabled":false}}`, wantStatus: 200},
		{name: "delete a running vm", method: http.MethodDelete, path: "/api/vcenter/vm/vm-74", wantStatus: 400},
		{name: "delete", method: http.MethodDelete, path: "/api/vcenter/vm/vm-104", wantStatus: 204},
		{name: "rest delete", method: http.MethodDelete, path: "/rest/vcenter/vm/vm-103", wantStatus: 200},

		// URLs vCenter does not have: validated against the standard error schemas.
		{name: "no host get", method: http.MethodGet, path: "/api/vcenter/host/host-15", wantStatus: 404, schema: "VapiStdErrorsNotFound"},
		{name: "no snapshots in /api", method: http.MethodGet, path: "/api/vcenter/vm/vm-76/snapshots", wantStatus: 404, schema: "VapiStdErrorsNotFound"},
		{name: "no /api power path segment", method: http.MethodPost, path: "/api/vcenter/vm/vm-76/power/start", wantStatus: 404, schema: "VapiStdErrorsNotFound"},
		{name: "no rest folder get", method: http.MethodGet, path: "/rest/vcenter/folder/group-v3", wantStatus: 404, schema: "vapi.std.errors.not_found_error"},

		// Logouts last.
		{name: "api logout", method: http.MethodDelete, path: "/api/session", wantStatus: 204},
		{name: "rest logout", method: http.MethodDelete, path: "/rest/com/vmware/cis/session", wantStatus: 200},
	}
	logouts := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := token
			if tc.method == http.MethodDelete && strings.HasSuffix(tc.path, "session") {
				tok = []string{spare, loginAPI(t, s)}[logouts]
				logouts++
			}
			cs.check(t, s, tc, tok)
		})
	}

	t.Run("vm list over the cap", func(t *testing.T) {
		big := newSim(t, Options{VMs: maxVMs + 500})
		tok := loginAPI(t, big)
		cs.check(t, big, contractCase{method: http.MethodGet, path: "/api/vcenter/vm", wantStatus: 500}, tok)
		cs.check(t, big, contractCase{method: http.MethodGet, path: "/rest/vcenter/vm", wantStatus: 400}, tok)
	})
}

// check sends one case and validates the exchange against the specs.
func (cs *contractSpecs) check(t *testing.T, s *Server, tc contractCase, token string) {
	t.Helper()
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	hr, err := http.NewRequest(tc.method, s.URL+tc.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if tc.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	switch tc.basic {
	case "good":
		hr.SetBasicAuth(s.User(), s.Password())
	case "bad":
		hr.SetBasicAuth(s.User(), "wrong")
	}
	if !tc.noAuth {
		hr.Header.Set(sessionHeader, token)
	}
	resp, err := s.Client().Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", tc.method, tc.path, err)
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != tc.wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", tc.method, tc.path, resp.StatusCode, tc.wantStatus, truncate(respBody))
	}

	if tc.schema != "" {
		cs.checkSchema(t, tc.schema, respBody)
		return
	}

	// Validate the same request, action moved into the path, and the answer.
	vreq, err := http.NewRequest(tc.method, actionPath(hr.URL).String(), bytes.NewReader([]byte(tc.body)))
	if err != nil {
		t.Fatal(err)
	}
	vreq.Header = hr.Header.Clone()
	_, route, pathParams, err := cs.routers.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s %s: the specs have no such operation: %v", tc.method, tc.path, err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: pathParams, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && !tc.badRequest {
		t.Errorf("%s %s: request does not match the spec: %v", tc.method, tc.path, err)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: status %d answer does not match the spec: %v\nbody: %s", tc.method, tc.path, resp.StatusCode, err, truncate(respBody))
	}
}

// checkSchema validates a body against a named component schema.
func (cs *contractSpecs) checkSchema(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, truncate(body))
	}
	for _, doc := range cs.docs {
		if ref := doc.Components.Schemas[name]; ref != nil {
			if err := ref.Value.VisitJSON(v); err != nil {
				t.Errorf("answer does not match %s: %v\nbody: %s", name, err, truncate(body))
			}
			return
		}
	}
	t.Fatalf("no schema %s in the specs", name)
}

// Routers are reused across cases; make sure the legacy type still matches
// what FindRoute returns, so a kin-openapi upgrade fails loudly here.
var _ routers.Router = (*legacy.Router)(nil)
