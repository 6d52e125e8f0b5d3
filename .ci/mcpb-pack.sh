#!/usr/bin/env bash
# Packs the ONE Claude Desktop bundle of a release and stamps the MCP
# Registry entry for it:
#
#   dist/vsphere-mcp-pro_<VERSION>.mcpb   binaries for darwin (arm64 + amd64,
#                                         one universal file), linux (amd64,
#                                         arm64) and windows (amd64)
#   dist/server.json                      server.json with that bundle's URL
#                                         and fileSha256
#
# goreleaser runs it as the post hook of its universal binary, after every
# build has finished (see .goreleaser.yaml); .ci/release.sh runs it that way
# in a snapshot release and then validates and inspects the result.
#
# Why the layout is as it is: an MCPB manifest chooses a command per
# operating system (server.mcp_config.platform_overrides, keyed by Node's
# process.platform), never per CPU. So macOS gets one universal Mach-O file
# (macOS runs the slice of its CPU); Linux gets a POSIX sh launcher
# (mcpb/linux-launcher.sh) that execs the binary for `uname -m`; Windows
# gets the amd64 binary, which Windows on Arm runs through its x64
# emulation. mcpb/README.md says more.
#
# Usage: .ci/mcpb-pack.sh VERSION        (from goreleaser: {{ .Version }})
# Needs: node and npm (@anthropic-ai/mcpb, cached like the other CI tools).
set -euo pipefail
cd "$(dirname "$0")/.."

MCPB_VERSION=2.1.2 # @anthropic-ai/mcpb, the bundle format's reference CLI
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci"

fail() { printf 'mcpb-pack.sh: %s\n' "$*" >&2; exit 1; }

version=${1:-}
[ -n "$version" ] || fail "usage: .ci/mcpb-pack.sh VERSION"

npm_dir="$CACHE/npm-mcpb-$MCPB_VERSION"
if [ ! -e "$npm_dir/node_modules/.bin/mcpb" ]; then
	echo "installing @anthropic-ai/mcpb@$MCPB_VERSION into $npm_dir" >&2
	mkdir -p "$npm_dir"
	HOME="$npm_dir" npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error --no-update-notifier \
		"@anthropic-ai/mcpb@$MCPB_VERSION" >&2
fi
mcpb() { HOME="$npm_dir" node "$npm_dir/node_modules/.bin/mcpb" "$@"; }

# binary GLOB: the one goreleaser output matching dist/GLOB (the directory
# name carries a variant such as _v1 or _v8.0 that goreleaser chooses).
binary() {
	local matches=()
	for f in dist/$1; do [ -f "$f" ] && matches+=("$f"); done
	[ ${#matches[@]} -eq 1 ] || fail "want exactly one dist/$1, found ${#matches[@]}: ${matches[*]:-none} (run goreleaser first)"
	printf '%s\n' "${matches[0]}"
}

stage=dist/mcpb-stage
rm -rf "$stage"
mkdir -p "$stage/server/darwin" "$stage/server/linux/amd64" "$stage/server/linux/arm64" "$stage/server/win32"
install -m 0755 "$(binary 'vsphere-mcp-pro-universal_darwin_all/vsphere-mcp-pro')" "$stage/server/darwin/vsphere-mcp-pro"
install -m 0755 "$(binary 'vsphere-mcp-pro_linux_amd64*/vsphere-mcp-pro')" "$stage/server/linux/amd64/vsphere-mcp-pro"
install -m 0755 "$(binary 'vsphere-mcp-pro_linux_arm64*/vsphere-mcp-pro')" "$stage/server/linux/arm64/vsphere-mcp-pro"
install -m 0755 mcpb/linux-launcher.sh "$stage/server/linux/vsphere-mcp-pro"
install -m 0755 "$(binary 'vsphere-mcp-pro_windows_amd64*/vsphere-mcp-pro.exe')" "$stage/server/win32/vsphere-mcp-pro.exe"
install -m 0644 LICENSE "$stage/LICENSE"

# The manifest, stamped with this version.
VERSION="$version" node -e '
	const fs = require("fs");
	const m = JSON.parse(fs.readFileSync("mcpb/manifest.json", "utf8"));
	m.version = process.env.VERSION;
	fs.writeFileSync(process.argv[1], JSON.stringify(m, null, 2) + "\n");
' "$stage/manifest.json"

mcpb validate "$stage/manifest.json" >&2
bundle="dist/vsphere-mcp-pro_${version}.mcpb"
rm -f "$bundle"
mcpb pack "$stage" "$bundle" >&2

# server.json for the MCP Registry: this version, this bundle's release URL
# and its SHA-256. The repository's copy has no fileSha256, so publishing it
# unstamped is refused by the registry instead of sending clients a wrong
# hash.
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
grep -q "\"fileSha256\": \"$sha\"" dist/server.json || fail "could not stamp fileSha256 into dist/server.json"
printf 'mcpb-pack.sh: %s (%s bytes, sha256 %s) and dist/server.json\n' "$bundle" "$(wc -c <"$bundle" | tr -d ' ')" "$sha" >&2
