#!/bin/sh
# stress/scale.sh [BUILD_DIR] - lockgraph at scale, bare and under the
# preload in the same run: a million mutexes (two rounds of init, pair-wise
# use, destroy: 2M lock lifetimes, ~2M edges) and a 5,000-lock cycle. Prints
# time and peak RSS for each and their ratios, and checks the findings: the
# million locks give none, the cycle gives exactly one 5,000-lock finding.
# A measurement, not a test: it is not part of ctest.
set -eu
build=${1:-$(dirname "$0")/../build}
lib=$build/lib/liblockgraph.so
sc=$build/tests/scenarios
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

measure() { # name preload args...
    name=$1 pre=$2
    shift 2
    if [ -n "$pre" ]; then
        /usr/bin/time -f "%e %M" -o "$out/$name.time" env LD_PRELOAD="$pre" \
            LOCKGRAPH_REPORT="$out/$name.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 "$@" >/dev/null
    else
        /usr/bin/time -f "%e %M" -o "$out/$name.time" "$@" >/dev/null
    fi
    cat "$out/$name.time"
}

printf '%-26s %12s %12s %12s %12s\n' workload "bare s" "lockgraph s" "bare RSS MB" "lg RSS MB"
for w in "million:$sc/sc_many_locks 1000000" "cycle5000:$sc/sc_long_cycle"; do
    name=${w%%:*} cmd=${w#*:}
    set -- $(measure "$name.bare" "" $cmd) $(measure "$name.lg" "$lib" $cmd)
    printf '%-26s %12s %12s %12d %12d   time %.0fx\n' "$name" "$1" "$3" $(($2 / 1024)) $(($4 / 1024)) \
        "$(echo "$3 / ($1 + 0.001)" | bc -l)"
done
million=$(cat "$out"/million.lg.*.jsonl | wc -l)
cycles=$(cat "$out"/cycle5000.lg.*.jsonl | grep -c '"kind":"lock-order-cycle"' || true)
echo "findings: million locks: $million (want 0); 5,000-lock cycle: $cycles (want 1)"
[ "$million" -eq 0 ] && [ "$cycles" -eq 1 ]
