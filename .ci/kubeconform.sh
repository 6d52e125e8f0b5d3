#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml against the Kubernetes API schemas with
# kubeconform, offline: kubeconform comes from the Go module proxy, and so do
# the schemas, generated from the OpenAPI document of the k8s.io/kubernetes
# module (api/openapi-spec/swagger.json) by .ci/k8sschema. The manifests under
# testdata/kubernetes/invalid must each be refused, so that a validator that
# validates nothing fails this script.
#
# Usage: .ci/kubeconform.sh            Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECONFORM_VERSION=v0.8.0
# The Kubernetes release whose API the manifests target.
KUBERNETES_VERSION=v1.36.3
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci"

step() { printf '\n=== %s\n' "$*"; }

step "kubeconform $KUBECONFORM_VERSION"
bin="$CACHE/kubeconform-$KUBECONFORM_VERSION"
if [ ! -x "$bin/kubeconform" ]; then
	mkdir -p "$bin"
	# Outside this module, so go.mod and go.sum are never touched.
	(cd "$CACHE" && GOBIN="$bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION")
fi
kubeconform="$bin/kubeconform"
"$kubeconform" -v

step "Kubernetes $KUBERNETES_VERSION schemas (from the k8s.io/kubernetes module)"
schemas="$CACHE/k8s-schemas-$KUBERNETES_VERSION"
if [ ! -f "$schemas/_definitions.json" ]; then
	dir=$(cd "$CACHE" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$dir" ] || [ ! -f "$dir/api/openapi-spec/swagger.json" ]; then
		echo "k8s.io/kubernetes@$KUBERNETES_VERSION: no api/openapi-spec/swagger.json" >&2
		exit 1
	fi
	rm -rf "$schemas.tmp"
	go run ./.ci/k8sschema "$dir/api/openapi-spec/swagger.json" "$schemas.tmp"
	mv "$schemas.tmp" "$schemas"
fi
location="$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json"

step "deploy/kubernetes: valid"
"$kubeconform" -strict -summary -output text -schema-location "$location" deploy/kubernetes/*.yaml

step "testdata/kubernetes/invalid: each refused"
failed=0
for f in testdata/kubernetes/invalid/*.yaml; do
	if out=$("$kubeconform" -strict -output text -schema-location "$location" "$f" 2>&1); then
		echo "NOT refused: $f" >&2
		failed=1
	else
		echo "refused as it must be: $f: $(echo "$out" | head -1)"
	fi
done
exit "$failed"
