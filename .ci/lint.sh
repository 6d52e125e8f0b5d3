#!/usr/bin/env bash
# Static analysis with golangci-lint v2 and the repository's .golangci.yml
# (errcheck, govet, staticcheck, gosec, bodyclose, errorlint, noctx and the
# STYLE.md rules forbidigo can see). Exits non-zero on any finding.
#
# Usage: .ci/lint.sh [golangci-lint run arguments]   (default: ./...)
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_LINT_VERSION=v2.15.0
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci"

step() { printf '\n=== %s\n' "$*"; }

step "golangci-lint $GOLANGCI_LINT_VERSION"
dir="$CACHE/golangci-lint-$GOLANGCI_LINT_VERSION"
if [ ! -x "$dir/golangci-lint" ]; then
	echo "installing golangci-lint $GOLANGCI_LINT_VERSION into $dir"
	start=$(date +%s)
	# Outside this module, so go.mod and go.sum are never touched.
	mkdir -p "$CACHE"
	(cd "$CACHE" && GOBIN="$dir" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION")
	echo "installed in $(($(date +%s) - start))s"
fi
lint="$dir/golangci-lint"
"$lint" version

step "golangci-lint config verify"
"$lint" config verify

step "golangci-lint run"
start=$(date +%s)
# Every finding, not the first few per linter.
"$lint" run --max-issues-per-linter 0 --max-same-issues 0 "${@:-./...}"
printf '\nlint passed in %ss\n' "$(($(date +%s) - start))"
