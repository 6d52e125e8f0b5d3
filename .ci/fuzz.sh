#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, for FUZZTIME
# each (default 20s; Go duration or "Nx" executions), and prints one line per
# target with its executions. Targets are found with `go test -list '^Fuzz'`,
# so a new Fuzz function is picked up without editing this file.
#
#   .ci/fuzz.sh              # 20s per target
#   FUZZTIME=60s .ci/fuzz.sh # the figures of RELIABILITY.md
#   .ci/fuzz.sh 5s ./vcenter # one package
#
# Seed corpora live in each package's testdata/fuzz/FuzzXxx; inputs the
# fuzzer finds interesting go to Go's cache. A failing input is written to
# testdata/fuzz/FuzzXxx/ by `go test` itself: commit it with the fix. Exits
# non-zero if any target fails.
#
# go1.26's fuzzing coordinator can fail a target at the -fuzztime boundary
# with a bare "context deadline exceeded" and no failing input
# (go.dev/issue/75804, fixed in go1.27): its deadline races the workers'
# context under CPU contention. Such a run is run once more, and reported
# as "ok*" if that one passes; a run that wrote a failing input, or any
# other failure, fails at once.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${1:-${FUZZTIME:-20s}}"
shift || true
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	pkgs=(./...)
fi

# coordinator_deadline LOG: the run failed only with go1.26's coordinator
# race: its last line is the bare error, and no failing input was written.
coordinator_deadline() {
	[ "$(grep -v '^\(FAIL\|exit status\|ok \)' "$1" | tail -1 | tr -d '[:space:]')" = contextdeadlineexceeded ] &&
		! grep -q 'Failing input written to' "$1"
}

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
status=0
printf '%-55s %-24s %6s %12s %9s\n' package target result execs execs/s
for pkg in $(go list "${pkgs[@]}"); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	# Only packages with a fuzz function are built and listed.
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		log="$logdir/$target.log"
		result=ok
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
			result=FAIL
			if coordinator_deadline "$log"; then
				mv "$log" "$log.first"
				if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
					result='ok*'
					echo "    $target: the first run failed with the coordinator's bare deadline (go.dev/issue/75804) and wrote no input; the second passed" >&2
				fi
			fi
			if [ "$result" = FAIL ]; then
				status=1
			fi
		fi
		# The last progress line: "fuzz: elapsed: 60s, execs: 123456 (2058/sec), ..."
		line=$(grep -E '^fuzz: elapsed: [0-9]+s, execs: [0-9]+' "$log" | tail -1 || true)
		execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$line")
		secs=$(sed -E 's/^fuzz: elapsed: ([0-9]+)s.*/\1/' <<<"$line")
		rate=-
		if [ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ]; then
			rate=$((execs / secs))
		fi
		printf '%-55s %-24s %6s %12s %9s\n' "$pkg" "$target" "$result" "${execs:--}" "$rate"
		if [ "$result" = FAIL ]; then
			sed 's/^/    /' "$log" | tail -40 >&2
		fi
	done
done
exit $status
