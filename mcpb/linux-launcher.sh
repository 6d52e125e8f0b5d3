#!/bin/sh
# The Linux command of the Claude Desktop bundle. An MCPB manifest chooses a
# command per operating system, never per CPU, so this starts the binary
# built for this machine's CPU. It writes nothing to stdout: stdout carries
# the MCP messages of the server it replaces itself with.
dir=$(dirname "$0")
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64 | armv8*) arch=arm64 ;;
*)
	echo "vsphere-mcp-pro: this bundle has Linux binaries for amd64 and arm64, not for $(uname -m); install a release archive for your CPU instead" >&2
	exit 2
	;;
esac
exec "$dir/$arch/vsphere-mcp-pro" "$@"
