// Command k8sschema turns the OpenAPI (v2) document of a Kubernetes release
// into the JSON schemas kubeconform validates manifests with, offline: one
// _definitions.json holding every definition, strict (no property a type
// does not declare), and per kind a small file named as kubeconform looks
// it up ({kind}-{group}-{version}.json, {kind}-{version}.json for the core
// group) that refers to its definition and pins apiVersion and kind.
//
// The OpenAPI document comes from the k8s.io/kubernetes module
// (api/openapi-spec/swagger.json), which the Go module proxy serves; see
// .ci/kubeconform.sh. Usage:
//
//	go run ./.ci/k8sschema SWAGGER_JSON OUT_DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: k8sschema SWAGGER_JSON OUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "k8sschema:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(doc.Definitions) < 100 {
		return fmt.Errorf("%s: %d definitions: not a Kubernetes OpenAPI document", in, len(doc.Definitions))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	defs := map[string]any{}
	for name, d := range doc.Definitions {
		defs[name] = strict(d)
	}
	if err := write(filepath.Join(out, "_definitions.json"), map[string]any{"definitions": defs}); err != nil {
		return err
	}
	names := make([]string, 0, len(doc.Definitions))
	for name := range doc.Definitions {
		names = append(names, name)
	}
	sort.Strings(names)
	kinds := 0
	for _, name := range names {
		gvks, _ := doc.Definitions[name]["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if version == "" || kind == "" {
				continue
			}
			apiVersion, file := version, strings.ToLower(kind)
			if group != "" {
				apiVersion = group + "/" + version
				file += "-" + strings.ToLower(strings.Split(group, ".")[0])
			}
			file += "-" + strings.ToLower(version) + ".json"
			schema := map[string]any{
				"allOf": []any{
					map[string]any{"$ref": "_definitions.json#/definitions/" + name},
					map[string]any{
						"required": []any{"apiVersion", "kind"},
						"properties": map[string]any{
							"apiVersion": map[string]any{"enum": []any{apiVersion}},
							"kind":       map[string]any{"enum": []any{kind}},
						},
					},
				},
			}
			if err := write(filepath.Join(out, file), schema); err != nil {
				return err
			}
			kinds++
		}
	}
	fmt.Printf("k8sschema: %d definitions, %d kind schemas in %s\n", len(defs), kinds, out)
	return nil
}

// strict rewrites one schema for JSON Schema draft 4 as kubeconform reads
// it: an object type declaring its properties allows no others (unless it
// keeps unknown fields), int-or-string becomes a choice of the two, and the
// OpenAPI extensions are dropped.
func strict(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range t {
			if strings.HasPrefix(k, "x-") {
				continue
			}
			out[k] = strict(val)
		}
		if t["format"] == "int-or-string" || t["x-kubernetes-int-or-string"] == true {
			delete(out, "format")
			delete(out, "type")
			out["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
		}
		_, hasProps := t["properties"]
		_, hasAdditional := t["additionalProperties"]
		if hasProps && !hasAdditional && t["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = strict(e)
		}
		return out
	}
	return v
}

func write(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644) //nolint:gosec // G306: schemas for CI, not secrets
}
