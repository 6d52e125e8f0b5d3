#!/usr/bin/env bash
# Vulnerability check with govulncheck against an OFFLINE database: the
# golang.org/x/vulndb module (the Go vulnerability reports as OSV JSON) is
# fetched through the module proxy and indexed locally with its own
# cmd/indexdb, so no request goes to vuln.go.dev.
#
# It scans with the release toolchain (GOTOOLCHAIN=go1.26.10, as in
# .goreleaser.yaml) for each released GOOS, and fails on any vulnerability
# the code can reach (govulncheck exits non-zero); vulnerabilities only in
# required modules, which the code does not call, are printed but allowed.
#
# Usage: .ci/vuln.sh
#   VULNDB_VERSION=v0.0.0-…  pin the database (default: the newest in the proxy)
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci (tools and one
# built database per vulndb version).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

GOVULNCHECK_VERSION=v1.9.0
RELEASE_TOOLCHAIN=go1.26.10
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci"

step() { printf '\n=== %s\n' "$*"; }
fail() { printf 'vuln.sh: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }
t0=$(now)

# Module downloads and installs run outside this module, so go.mod and
# go.sum are never touched.
outside() { (cd "$CACHE" && "$@"); }
mkdir -p "$CACHE"

step "govulncheck $GOVULNCHECK_VERSION"
gv_dir="$CACHE/govulncheck-$GOVULNCHECK_VERSION"
if [ ! -x "$gv_dir/govulncheck" ]; then
	start=$(now)
	outside env GOBIN="$gv_dir" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
	echo "installed in $(($(now) - start))s"
fi
govulncheck="$gv_dir/govulncheck"

step "vulnerability database (golang.org/x/vulndb via the module proxy)"
start=$(now)
ver=${VULNDB_VERSION:-latest}
# One download resolves "latest" to a version and gives the module's directory.
info=$(outside go mod download -json "golang.org/x/vulndb@$ver")
json_field() { printf '%s\n' "$info" | sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p"; }
ver=$(json_field Version)
src=$(json_field Dir)
if [ -z "$ver" ] || [ ! -d "$src/data/osv" ]; then
	fail "no OSV data in golang.org/x/vulndb@${VULNDB_VERSION:-latest}: $info"
fi
echo "golang.org/x/vulndb@$ver: $(find "$src/data/osv" -name '*.json' | wc -l) reports"
db="$CACHE/vulndb-$ver"
if [ ! -f "$db/index/db.json" ]; then
	ix_dir="$CACHE/vulndb-indexdb-$ver"
	if [ ! -x "$ix_dir/indexdb" ]; then
		echo "installing golang.org/x/vulndb/cmd/indexdb@$ver"
		outside env GOBIN="$ix_dir" go install "golang.org/x/vulndb/cmd/indexdb@$ver"
	fi
	tmp=$(mktemp -d "$CACHE/vulndb-build.XXXXXX")
	"$ix_dir/indexdb" -vulns "$src/data/osv" -out "$tmp/db"
	rm -rf "$db" && mv "$tmp/db" "$db" && rmdir "$tmp"
fi
for f in index/db.json index/modules.json index/vulns.json; do
	[ -s "$db/$f" ] || fail "$db/$f is missing: delete $db and rerun"
done
echo "database $db ready in $(($(now) - start))s"
"$govulncheck" -db "file://$db" -version | sed -n '2,3p'

step "toolchain $RELEASE_TOOLCHAIN (through the module proxy)"
GOTOOLCHAIN=$RELEASE_TOOLCHAIN go version

status=0
for goos in linux darwin windows; do
	step "govulncheck ./... for GOOS=$goos with $RELEASE_TOOLCHAIN"
	start=$(now)
	set +e
	GOOS=$goos GOARCH=amd64 GOTOOLCHAIN=$RELEASE_TOOLCHAIN "$govulncheck" -db "file://$db" ./...
	rc=$?
	set -e
	echo "GOOS=$goos: exit $rc in $(($(now) - start))s"
	[ "$rc" -eq 0 ] || status=1
done

git -C "$root" diff --quiet -- go.mod go.sum || fail "go.mod or go.sum changed"
if [ "$status" -ne 0 ]; then
	fail "reachable vulnerabilities above: upgrade the module or the toolchain that fixes them"
fi
printf '\nvulnerability check passed in %ss (no reachable vulnerability)\n' "$(($(now) - t0))"
