#!/usr/bin/env bash
# Usage: infra/local/lint/complexity.sh [-write]
#
# The complexity ceiling of `make lint`: no production function (test files excluded) may have a
# cyclomatic complexity above CEILING (15, gocyclo's count, pinned in go.mod as a tool). The
# functions that were above it when the ceiling came in are listed in complexity-baseline.txt with
# their count then: each may only go down (lower its line when it does), none may be added.
# -write rewrites the baseline from the code (only for lowering it; say why in the commit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
CEILING=15
baseline=infra/local/lint/complexity-baseline.txt
# "<complexity> <package> <function> <file>:<line>:<col>" -> "<file> <function> <complexity>"
current=$(go tool gocyclo -over "$CEILING" -ignore '_test\.go$|/testdata/' shared infra functions |
	awk '{split($4, at, ":"); print at[1], $3, $1}' | sort || true)
if [[ "${1:-}" == -write ]]; then
	printf '%s\n' "$current" >"$baseline"
	echo "complexity: wrote $(grep -c . "$baseline") functions over $CEILING to $baseline"
	exit 0
fi
fail=0
while read -r file fn n; do
	[[ -n "$file" ]] || continue
	was=$(awk -v p="$file" -v f="$fn" '$1 == p && $2 == f {print $3}' "$baseline")
	if [[ -z "$was" ]]; then
		echo "complexity: $file $fn is $n, over the ceiling of $CEILING: split it into named steps"
		fail=1
	elif ((n > was)); then
		echo "complexity: $file $fn is $n, up from $was (baseline): split it into named steps"
		fail=1
	fi
done <<<"$current"
over=$(grep -c . <<<"$current" || true)
((fail)) || echo "complexity: $over functions over $CEILING, each at or below its baseline"
exit "$fail"
