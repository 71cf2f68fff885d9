#!/bin/sh
# stress/wait_cost.sh [BUILD_DIR] [REPS] - what wait-for tracking costs.
#
# Runs bench_lock's nested4 (uncontended: every lock free when taken) and
# contended4t (4 threads on one shared innermost mutex: many busy locks, so
# many waits) in one go: bare, lockgraph with wait_for=0 (a busy lock is
# waited for in one call, as before wait-for tracking existed), and
# lockgraph as shipped (try first; a busy lock publishes the wait and
# follows the chain of owners). Prints best (median) ns per lock/unlock pair
# and the ratio to bare. Uncontended, the two lockgraph columns must match
# within noise. A measurement, not a test.
set -eu
build=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
reps=${2:-5}
bench=$build/stress/bench_lock lib=$build/lib/liblockgraph.so
for f in "$bench" "$lib"; do
    [ -e "$f" ] || { echo "wait_cost.sh: $f not found (build first)" >&2; exit 2; }
done
measure() { # workload, then the environment to run it in
    w=$1
    shift
    env "$@" "$bench" --workload "$w" --reps "$reps" 2>/dev/null | awk -v w="$w" '$1 == w { print $2, $3 }'
}
printf '%-12s %-6s %-18s %-24s %-24s\n' workload round bare "lockgraph wait_for=0" "lockgraph (wait-for)"
for w in nested4 contended4t; do
    for round in 1 2 3; do
        set -- $(measure "$w" A=1)
        bb=$1 bm=$2
        set -- $(measure "$w" LD_PRELOAD="$lib" LOCKGRAPH_OPTIONS=wait_for=0:quiet=1)
        ob=$1 om=$2
        set -- $(measure "$w" LD_PRELOAD="$lib" LOCKGRAPH_OPTIONS=quiet=1)
        nb=$1 nm=$2
        awk -v w="$w" -v r="$round" -v bb="$bb" -v bm="$bm" -v ob="$ob" -v om="$om" -v nb="$nb" -v nm="$nm" 'BEGIN {
            printf "%-12s %-6s %5.1f (%5.1f)      %5.1f (%5.1f) %4.2fx       %5.1f (%5.1f) %4.2fx\n",
                w, r, bb, bm, ob, om, ob / bb, nb, nm, nb / bb }'
    done
done
echo "ns per lock/unlock pair: best (median) of $reps; ratio of best to bare's best"
