#!/usr/bin/env bash
# Release check: the goreleaser configuration is valid with no warning, a
# snapshot build works offline, the binary carries the injected version, and
# mcpb/manifest.json packs with that binary into a valid Claude Desktop bundle
# whose MCP Registry entry (server.json) can be stamped with its SHA-256.
#
# Usage: .ci/release.sh            (from anywhere in the repository)
# Needs: go, git; node + npm for the bundle step (skipped with SKIP_MCPB=1).
# Tools are cached in ${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci.
set -euo pipefail
cd "$(dirname "$0")/.."

GORELEASER_VERSION=v2.15.1 # newer releases need go >= 1.27.1 (see go-stack.md)
MCPB_VERSION=2.1.2         # @anthropic-ai/mcpb, the bundle format's reference CLI
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

step "goreleaser $GORELEASER_VERSION"
gr_dir="$CACHE/goreleaser-$GORELEASER_VERSION"
install_go_tool "$gr_dir" "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
goreleaser="$gr_dir/goreleaser"
"$goreleaser" --version 2>/dev/null | grep -q "GitVersion: *$GORELEASER_VERSION" ||
	fail "$goreleaser is not $GORELEASER_VERSION"

step "goreleaser check (no warning allowed)"
# check exits 2 on deprecated properties; other warnings only print, so the
# output is searched as well.
set +e
check_out=$("$goreleaser" check 2>&1)
check_rc=$?
set -e
printf '%s\n' "$check_out"
if [ "$check_rc" -ne 0 ] || printf '%s\n' "$check_out" | grep -Eiq 'deprecat|warn|⨯'; then
	fail "goreleaser check reported a problem (exit $check_rc)"
fi

step "goreleaser build --snapshot --clean --single-target"
# goreleaser reads the commit only when the repository has a remote (git
# ls-remote --get-url); a CI checkout without one would build commit "none".
# Give it the project's URL through git's environment configuration, which
# changes nothing on disk.
if ! git ls-remote --get-url >/dev/null 2>&1; then
	echo "no git remote: using https://github.com/vsphere-mcp-pro/vsphere-mcp-pro.git for this build"
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
		GIT_CONFIG_VALUE_0=https://github.com/vsphere-mcp-pro/vsphere-mcp-pro.git
fi
start=$(date +%s)
"$goreleaser" build --snapshot --clean --single-target
echo "snapshot build took $(($(date +%s) - start))s"

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2"; }
version=$(json_field version dist/metadata.json)
commit=$(json_field commit dist/metadata.json)
if [ -z "$version" ] || [ -z "$commit" ]; then fail "dist/metadata.json has no version or commit"; fi
bin=$(find dist -type f \( -name vsphere-mcp-pro -o -name vsphere-mcp-pro.exe \) -path 'dist/vsphere-mcp-pro_*' | head -n 1)
[ -n "$bin" ] || fail "no binary under dist/"
echo "snapshot $version (commit $commit): $bin"

step "the binary carries the injected version"
line=$("$bin" version)
echo "$line"
case "$line" in
*"vsphere-mcp-pro $version (commit $commit, go1.26.10,"*) ;;
*) fail "version line does not show version $version, commit $commit and go1.26.10" ;;
esac
[ "$("$bin" --version)" = "$line" ] || fail "--version differs from version"
buildinfo=$(go version -m "$bin")
for want in "$bin: go1.26.10" "build	-trimpath=true" "build	CGO_ENABLED=0"; do
	printf '%s\n' "$buildinfo" | grep -qF -- "$want" || fail "go version -m: missing \"$want\""
done
# -trimpath keeps -ldflags out of the build info; -s shows as no symbol table.
nm_out=$(go tool nm "$bin" 2>&1 || true)
case "$nm_out" in *"no symbol"*) ;; *) fail "$bin has a symbol table: -s was not applied" ;; esac
echo "build info: go1.26.10, -trimpath, CGO_ENABLED=0, stripped (-s -w)"

if [ "${SKIP_MCPB:-}" = 1 ]; then
	echo "SKIP_MCPB=1: bundle step skipped"
	exit 0
fi

step "Claude Desktop bundle: mcpb $MCPB_VERSION validate, pack, info"
npm_dir="$CACHE/npm-mcpb-$MCPB_VERSION"
if [ ! -x "$npm_dir/node_modules/.bin/mcpb" ]; then
	echo "installing @anthropic-ai/mcpb@$MCPB_VERSION into $npm_dir"
	mkdir -p "$npm_dir"
	HOME="$npm_dir" npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error --no-update-notifier \
		"@anthropic-ai/mcpb@$MCPB_VERSION"
fi
mcpb() { HOME="$npm_dir" node "$npm_dir/node_modules/.bin/mcpb" "$@"; }
mcpb validate mcpb/manifest.json

# Stage what the bundle holds: the manifest stamped with the snapshot
# version, the binary at the manifest's entry point and the licence.
stage=dist/mcpb-stage
rm -rf "$stage" && mkdir -p "$stage/server"
entry=$(VERSION="$version" node -e '
	const fs = require("fs");
	const m = JSON.parse(fs.readFileSync("mcpb/manifest.json", "utf8"));
	m.version = process.env.VERSION;
	fs.writeFileSync(process.argv[1], JSON.stringify(m, null, 2) + "\n");
	process.stdout.write(m.server.entry_point);
' "$stage/manifest.json")
[ -n "$entry" ] || fail "mcpb/manifest.json has no server.entry_point"
case "$bin" in *.exe) cp "$bin" "$stage/$entry.exe" ;; *) cp "$bin" "$stage/$entry" ;; esac
cp LICENSE "$stage/"
goos_arch=$(basename "$(dirname "$bin")" | sed 's/^vsphere-mcp-pro_//')
bundle="dist/vsphere-mcp-pro_${version}_${goos_arch}.mcpb"
mcpb pack "$stage" "$bundle"
mcpb info "$bundle"
# The packed binary must still be executable and be this build.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
unzip -q "$bundle" -d "$unpacked"
[ -x "$unpacked/$entry" ] || fail "$bundle: $entry is missing or not executable"
[ "$("$unpacked/$entry" version)" = "$line" ] || fail "the bundled binary is not the snapshot binary"
echo "bundle ok: $bundle"

step "server.json stamped for this bundle"
# A release publishes server.json with the bundle's URL and SHA-256, which
# exist only once the bundle is built; the repository's copy has no hash, so
# publishing it unstamped fails instead of sending a wrong one to clients.
sha=$(sha256sum "$bundle" | cut -d' ' -f1)
# shellcheck disable=SC2016 # ${…} below is a JavaScript template literal
VERSION="$version" SHA="$sha" ASSET="$(basename "$bundle")" node -e '
	const fs = require("fs");
	const s = JSON.parse(fs.readFileSync("server.json", "utf8"));
	const v = process.env.VERSION, base = s.repository.url, old = s.version;
	s.version = v;
	// install hints in _meta name the release too (go install …@vX, releases/tag/vX)
	s._meta = JSON.parse(JSON.stringify(s._meta || {}).split(`v${old}`).join(`v${v}`));
	const p = s.packages.find((p) => p.registryType === "mcpb");
	p.version = v;
	p.identifier = `${base}/releases/download/v${v}/${process.env.ASSET}`;
	p.fileSha256 = process.env.SHA;
	fs.writeFileSync("dist/server.json", JSON.stringify(s, null, 2) + "\n");
'
grep -q "\"fileSha256\": \"$sha\"" dist/server.json || fail "could not stamp fileSha256"
echo "dist/server.json: version $version, $(basename "$bundle"), fileSha256 $sha"

printf '\nrelease check passed\n'
