#!/usr/bin/env bash
# Release check: the goreleaser configuration is valid with no warning; a
# snapshot release (everything but publishing) builds every archive and the
# ONE Claude Desktop bundle for all platforms (.ci/mcpb-pack.sh, run by
# goreleaser); the binaries carry the injected version and go1.26.10; the
# bundle validates, packs, unpacks with the reference CLI and passes the
# inspection of TestReleaseBundle (universal macOS binary, Linux launcher
# and binaries, Windows binary, a real start on this machine); and
# dist/server.json, stamped with the bundle's URL and SHA-256, follows the
# MCP Registry's schema and rules.
#
# Usage: .ci/release.sh            (from anywhere in the repository)
# Needs: go, git; node + npm for the bundle (SKIP_MCPB=1 skips it).
# Tools are cached in ${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci.
set -euo pipefail
cd "$(dirname "$0")/.."

GORELEASER_VERSION=v2.15.1 # newer releases need go >= 1.27.1 (see go-stack.md)
MCPB_VERSION=2.1.2         # @anthropic-ai/mcpb, as in .ci/mcpb-pack.sh
RELEASE_GO=go1.26.10       # .goreleaser.yaml builds with it (GOTOOLCHAIN)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci"

step() { printf '\n=== %s\n' "$*"; }
fail() { printf 'release.sh: %s\n' "$*" >&2; exit 1; }

# install_go_tool DIR PACKAGE@VERSION: go install into a per-version cache
# directory, so a rerun finds it and a version bump installs afresh.
install_go_tool() {
	local dir=$1 pkg=$2 name start
	name=$(basename "${pkg%@*}")
	case "$name" in v[0-9]*) name=$(basename "$(dirname "${pkg%@*}")") ;; esac # …/goreleaser/v2
	if [ ! -x "$dir/$name" ]; then
		echo "installing $pkg into $dir"
		start=$(date +%s)
		# Outside this module, so go.mod and go.sum are never touched.
		mkdir -p "$CACHE"
		(cd "$CACHE" && GOBIN="$dir" go install "$pkg")
		echo "installed in $(($(date +%s) - start))s"
	fi
}

step "go.mod: toolchain $RELEASE_GO"
# The toolchain line makes `go install …@vX.Y.Z` (GOTOOLCHAIN=auto, the
# default) build with $RELEASE_GO; goreleaser sets it explicitly because
# CI machines may say GOTOOLCHAIN=local, which ignores the line.
grep -qx "toolchain $RELEASE_GO" go.mod || fail "go.mod has no \"toolchain $RELEASE_GO\" line"
grep -q "GOTOOLCHAIN=$RELEASE_GO" .goreleaser.yaml || fail ".goreleaser.yaml does not build with GOTOOLCHAIN=$RELEASE_GO"
echo "go.mod and .goreleaser.yaml agree on $RELEASE_GO"

step "goreleaser $GORELEASER_VERSION"
gr_dir="$CACHE/goreleaser-$GORELEASER_VERSION"
install_go_tool "$gr_dir" "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
goreleaser="$gr_dir/goreleaser"
gr_version=$("$goreleaser" --version 2>/dev/null)
grep -q "GitVersion: *$GORELEASER_VERSION" <<<"$gr_version" ||
	fail "$goreleaser is not $GORELEASER_VERSION"

step "goreleaser check (no warning allowed)"
# check exits 2 on deprecated properties; other warnings only print, so the
# output is searched as well.
set +e
check_out=$("$goreleaser" check 2>&1)
check_rc=$?
set -e
printf '%s\n' "$check_out"
if [ "$check_rc" -ne 0 ] || grep -Eiq 'deprecat|warn|⨯' <<<"$check_out"; then
	fail "goreleaser check reported a problem (exit $check_rc)"
fi

step "goreleaser release --snapshot --clean --skip=publish"
# goreleaser reads the commit only when the repository has a remote (git
# ls-remote --get-url); a CI checkout without one would build commit "none".
# Give it the project's URL through git's environment configuration, which
# changes nothing on disk.
if ! git ls-remote --get-url >/dev/null 2>&1; then
	echo "no git remote: using https://github.com/vsphere-mcp-pro/vsphere-mcp-pro.git for this build"
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
		GIT_CONFIG_VALUE_0=https://github.com/vsphere-mcp-pro/vsphere-mcp-pro.git
fi
skip=publish
if [ "${SKIP_MCPB:-}" = 1 ]; then
	skip=publish,post-hooks # the bundle is packed by a post hook
fi
start=$(date +%s)
"$goreleaser" release --snapshot --clean --skip="$skip"
echo "snapshot release took $(($(date +%s) - start))s"

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2"; }
version=$(json_field version dist/metadata.json)
commit=$(json_field commit dist/metadata.json)
if [ -z "$version" ] || [ -z "$commit" ]; then fail "dist/metadata.json has no version or commit"; fi
host="$(go env GOOS)_$(go env GOARCH)"
bin=$(find dist -type f \( -name vsphere-mcp-pro -o -name vsphere-mcp-pro.exe \) -path "dist/vsphere-mcp-pro_${host}*" -print -quit)
[ -n "$bin" ] || fail "no $host binary under dist/"
echo "snapshot $version (commit $commit): $bin"
for a in darwin_amd64 darwin_arm64 linux_amd64 linux_arm64; do
	[ -f "dist/vsphere-mcp-pro_${version}_$a.tar.gz" ] || fail "no archive for $a"
done
for a in windows_amd64 windows_arm64; do
	[ -f "dist/vsphere-mcp-pro_${version}_$a.zip" ] || fail "no archive for $a"
done
# Listed first, and searched as a here-string, never through a pipe: grep -q
# stops reading at its match, and under pipefail the writer's SIGPIPE fails
# the pipeline. Bash writes printf's output a line at a time, so
# `printf … | grep -q` failed at random on the first line of the listing
# (CI, 2026-12-02: "the linux_amd64 archive lacks CHANGELOG.md").
listing=$(tar -tzf "dist/vsphere-mcp-pro_${version}_linux_amd64.tar.gz")
for f in README.md CHANGELOG.md LICENSE docs/vcenter-api.md docs/clients/claude-desktop.md; do
	grep -qx "$f" <<<"$listing" || fail "the linux_amd64 archive lacks $f"
done
echo "archives: darwin, linux (amd64, arm64), windows (amd64, arm64), with README, CHANGELOG and docs/"

step "the binary carries the injected version"
line=$("$bin" version)
echo "$line"
case "$line" in
*"vsphere-mcp-pro $version (commit $commit, $RELEASE_GO,"*) ;;
*) fail "version line does not show version $version, commit $commit and $RELEASE_GO" ;;
esac
[ "$("$bin" --version)" = "$line" ] || fail "--version differs from version"
buildinfo=$(go version -m "$bin")
for want in "$bin: $RELEASE_GO" "build	-trimpath=true" "build	CGO_ENABLED=0"; do
	grep -qF -- "$want" <<<"$buildinfo" || fail "go version -m: missing \"$want\""
done
# -trimpath keeps -ldflags out of the build info; -s shows as no symbol table.
nm_out=$(go tool nm "$bin" 2>&1 || true)
case "$nm_out" in *"no symbol"*) ;; *) fail "$bin has a symbol table: -s was not applied" ;; esac
echo "build info: $RELEASE_GO, -trimpath, CGO_ENABLED=0, stripped (-s -w)"

if [ "${SKIP_MCPB:-}" = 1 ]; then
	echo "SKIP_MCPB=1: bundle step skipped"
	exit 0
fi

step "Claude Desktop bundle: one for every platform"
bundle="dist/vsphere-mcp-pro_${version}.mcpb"
[ -f "$bundle" ] || fail "$bundle is missing: .ci/mcpb-pack.sh did not run"
[ -f dist/server.json ] || fail "dist/server.json is missing: .ci/mcpb-pack.sh did not run"
grep -q " $(basename "$bundle")\$" dist/checksums.txt || fail "checksums.txt does not list $(basename "$bundle")"
npm_dir="$CACHE/npm-mcpb-$MCPB_VERSION"
mcpb() { HOME="$npm_dir" node "$npm_dir/node_modules/.bin/mcpb" "$@"; }
mcpb validate mcpb/manifest.json
mcpb info "$bundle"
# Unpacked by the reference CLI, as a client installs it: every platform's
# file is there with its mode.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
mcpb unpack "$bundle" "$unpacked" >/dev/null
mcpb validate "$unpacked/manifest.json"
for f in server/darwin/vsphere-mcp-pro server/linux/vsphere-mcp-pro server/linux/amd64/vsphere-mcp-pro \
	server/linux/arm64/vsphere-mcp-pro server/win32/vsphere-mcp-pro.exe; do
	[ -f "$unpacked/$f" ] || fail "$bundle: $f is missing"
	case "$f" in *.exe) ;; *) [ -x "$unpacked/$f" ] || fail "$bundle: $f is not executable after mcpb unpack" ;; esac
done
(cd "$unpacked" && find . -type f | sort | xargs ls -l)
size=$(wc -c <"$bundle" | tr -d ' ')
echo "bundle $bundle: $size bytes ($((size / 1048576)) MiB), unpacked $(du -sm "$unpacked" | cut -f1) MiB"

step "inspect the bundle and dist/server.json (TestReleaseBundle)"
out="$unpacked/test.txt"
if ! MCPB_BUNDLE="$bundle" RELEASE_SERVER_JSON=dist/server.json RELEASE_VERSION="$version" \
	go test -count=1 -run '^TestReleaseBundle$' -v . >"$out" 2>&1; then
	cat "$out" >&2
	fail "TestReleaseBundle failed"
fi
grep -E '^(--- |    --- )' "$out"
grep -q '^--- PASS: TestReleaseBundle' "$out" || fail "TestReleaseBundle did not run (skipped?)"
if grep -q -- '--- SKIP' "$out"; then
	cat "$out" >&2
	fail "part of TestReleaseBundle was skipped"
fi
echo "dist/server.json: version $version, $(basename "$bundle"), fileSha256 $(sha256sum "$bundle" | cut -d' ' -f1)"

printf '\nrelease check passed\n'
