#!/usr/bin/env bash
# Third-party client check: the official MCP Inspector CLI drives the built
# binary over stdio (with --simulate, so no vCenter is needed).
#   1. tools/list --strict: the Inspector's schema-portability lint must
#      report zero findings (it exits 6 on any error-severity finding), in
#      both protocol eras;
#   2. tools/call list_vms {"limit":3}: must succeed (the Inspector exits 5
#      when the tool returns isError) and return 3 of the simulator's 36 VMs.
#
# Usage: .ci/inspector.sh [BINARY]     (default bin/vsphere-mcp-pro, as .ci/run builds it)
# Needs: node and npm (the Inspector 2.12.0 CLI works on Node 20 despite an
# engine warning). Installed once in ${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci.
set -euo pipefail
cd "$(dirname "$0")/.."

INSPECTOR_VERSION=2.12.0
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vsphere-mcp-pro-ci"
bin=${1:-bin/vsphere-mcp-pro}

step() { printf '\n=== %s\n' "$*"; }
fail() { printf 'inspector.sh: %s\n' "$*" >&2; exit 1; }

[ -x "$bin" ] || fail "$bin is not an executable (build it first: go build -trimpath -o bin/vsphere-mcp-pro .)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
"$bin" version

step "@modelcontextprotocol/inspector $INSPECTOR_VERSION"
npm_dir="$CACHE/npm-inspector-$INSPECTOR_VERSION"
if [ ! -e "$npm_dir/node_modules/.bin/mcp-inspector" ]; then
	echo "installing @modelcontextprotocol/inspector@$INSPECTOR_VERSION into $npm_dir"
	mkdir -p "$npm_dir"
	start=$(date +%s)
	# Its postinstall only installs the clients of a source checkout and does
	# nothing under node_modules; the engine warning (wants Node 22) is known.
	HOME="$npm_dir" npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error --no-update-notifier \
		"@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
	echo "installed in $(($(date +%s) - start))s"
fi

# The Inspector keeps a catalogue and client state under ~/.mcp-inspector:
# give it a throw-away HOME so CI never reads or writes a developer's.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
inspector() {
	HOME="$home" node "$npm_dir/node_modules/.bin/mcp-inspector" --cli "$@"
}
# Everything after the binary is the server's own argv (--simulate), then
# the Inspector's options.
out="$home/out.json" err="$home/err.txt"
# --simulate enables every toolset: the server's own count of its tools.
want=$("$bin" --simulate tools 2>/dev/null | sed -n 's/.*: \([0-9][0-9]*\) tools$/\1/p')
[ -n "$want" ] || fail "could not read the tool count from '$bin --simulate tools'"

for era in legacy modern; do
	step "tools/list --strict (protocol era $era)"
	set +e
	inspector "$bin" --simulate --method tools/list --strict --protocol-era "$era" >"$out" 2>"$err"
	rc=$?
	set -e
	# The Inspector prints findings (path, issue, fix) on stderr, among the
	# server's own stderr lines (which all start with "vsphere-mcp-pro:" or
	# are JSON log lines).
	findings=$(grep -v -e '^vsphere-mcp-pro: ' -e '^{' "$err" || true)
	if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
		cat "$err" >&2
		fail "tools/list --strict ($era): exit $rc, findings above"
	fi
	n=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).tools.length)' "$out")
	[ "$n" = "$want" ] || fail "tools/list ($era) returned $n tools, want $want"
	echo "$n tools, zero findings"
done

step 'tools/call list_vms {"limit":3}'
set +e
inspector "$bin" --simulate --method tools/call --tool-name list_vms --tool-args-json '{"limit":3}' >"$out" 2>"$err"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
	cat "$err" >&2
	fail "tools/call list_vms: exit $rc (5 means the tool returned isError)"
fi
# shellcheck disable=SC2016 # ${…} below is a JavaScript template literal
node -e '
	const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const s = r.structuredContent;
	if (r.isError) throw new Error("isError result");
	if (!s || s.returned !== 3 || s.items.length !== 3 || s.total !== 36 || !s.next_cursor)
		throw new Error("unexpected result: " + JSON.stringify(s));
	if (!r.content.some((c) => c.type === "text")) throw new Error("no text content");
	console.log(`returned ${s.returned} of ${s.total}: ${s.items.map((v) => `${v.name} (${v.id})`).join(", ")}`);
' "$out"

printf '\ninspector check passed\n'
