#!/bin/sh
# stress/rank_cost.sh [BUILD_DIR] [REPS] - what a rank check costs, measured.
#
# Runs bench_lock's nested4 workload (four mutexes nested in one order) in
# one go: bare; under lockgraph with no ranks (every lock unranked: the rank
# check must cost nothing measurable); and under lockgraph enforcing a rank
# file learned from the workload itself (graph=FILE, then `lockgraph ranks`:
# the four locks share one init site, so they are one class with
# same=address, and every acquisition checks the held ranked locks). Prints
# best and median ns per lock/unlock pair and the ratio to bare, per round.
# A measurement, not a test: nothing fails on speed.
set -eu
build=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
reps=${2:-5}
bench=$build/stress/bench_lock lib=$build/lib/liblockgraph.so lg=$build/tools/lockgraph
for f in "$bench" "$lib" "$lg"; do
    [ -e "$f" ] || { echo "rank_cost.sh: $f not found (build first)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

LOCKGRAPH_OPTIONS="graph=$work/g.%p.jsonl:quiet=1" LD_PRELOAD=$lib \
    "$bench" --workload nested4 --reps 1 --scale 0.01 >/dev/null
"$lg" ranks "$work"/g.*.jsonl -o "$work/ranks.txt" 2>/dev/null
echo "rank file learned from the workload:"
grep '^rank' "$work/ranks.txt" | sed 's/^/    /'

# best median of one run: "nested4  best  median  worst  ns/pair ..."
measure() { "$@" "$bench" --workload nested4 --reps "$reps" 2>/dev/null | awk '$1 == "nested4" { print $2, $3 }'; }
printf '%-10s %-22s %-22s %-22s\n' round bare "lockgraph, no ranks" "lockgraph, ranked"
for round in 1 2 3; do
    set -- $(measure env)
    bare_b=$1 bare_m=$2
    set -- $(measure env LD_PRELOAD="$lib")
    lg_b=$1 lg_m=$2
    set -- $(measure env LD_PRELOAD="$lib" LOCKGRAPH_OPTIONS="ranks=$work/ranks.txt")
    rk_b=$1 rk_m=$2
    awk -v r="$round" -v bb="$bare_b" -v bm="$bare_m" -v lb="$lg_b" -v lm="$lg_m" -v kb="$rk_b" -v km="$rk_m" 'BEGIN {
        printf "%-10s %5.1f (%5.1f) ns        %5.1f (%5.1f) %4.2fx     %5.1f (%5.1f) %4.2fx\n",
            r, bb, bm, lb, lm, lb / bb, kb, km, kb / bb }'
done
echo "ns per lock/unlock pair: best (median) of $reps; ratio of best to bare's best"
