#!/usr/bin/env bash
# process_cost.sh - what lockgraph costs per process start and per fork,
# bare and under lockgraph in the same run (bench_process.c says what each
# workload does).
#
# What it does: runs bench_process bare, under liblockgraph.so, under it
# with dump=0 (no dump thread: what that thread costs), and under an older
# library given with --before, the tools interleaved within each of
# --starts rounds. A round's figure is bench_process's median over --count
# processes; the table gives, per workload and tool, the median of the
# rounds' medians and the smallest round median, then microseconds over
# bare and the ratio (cold-* rows: microseconds per step over bare). It
# checks that lockgraph wrote no finding (no program here takes two locks
# in both orders).
#
# What it does not do: decide pass/fail (a measurement, not a test).
#
# Usage: process_cost.sh [--build DIR] [--starts N] [--count N]
#                        [--threads T] [--workload LIST] [--before LIB]

set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/.." && pwd)/build
starts=5 count=200 threads=2 workload=all before=
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift ;;
    --starts) starts=$2; shift ;;
    --count) count=$2; shift ;;
    --threads) threads=$2; shift ;;
    --workload) workload=$2; shift ;;
    --before) before=$2; shift ;;
    -h | --help) sed -n '/^# Usage:/,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "process_cost.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
bench=$build/stress/bench_process
lib=$build/lib/liblockgraph.so
for f in "$bench" "$lib" ${before:+"$before"}; do
    [ -e "$f" ] || { echo "process_cost.sh: $f not found (build first)" >&2; exit 2; }
done
case "$starts$count$threads" in
*[!0-9]*) echo "process_cost.sh: --starts, --count and --threads take numbers" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

one() { # label, then the environment for it
    local label=$1
    shift
    env "$@" "$bench" --count "$count" --threads "$threads" --workload "$workload" --json |
        sed "s/^{/{\"label\":\"$label\",/" >>"$tmp/all.jsonl" ||
        { echo "process_cost.sh: bench_process failed under $label" >&2; exit 1; }
}

for s in $(seq 1 "$starts"); do
    one bare
    one lockgraph LD_PRELOAD="$lib" LOCKGRAPH_REPORT="$tmp/lg.%p.jsonl"
    one dump=0 LD_PRELOAD="$lib" LOCKGRAPH_REPORT="$tmp/nd.%p.jsonl" LOCKGRAPH_OPTIONS=dump=0
    [ -n "$before" ] && one before LD_PRELOAD="$before" LOCKGRAPH_REPORT="$tmp/bf.%p.jsonl"
done

echo "Per process, microseconds: median of $starts rounds' medians (smallest round median)"
echo "over $count processes a round, $threads threads each where a workload makes them;"
echo "cold-* rows: one step of a fresh process (bench_process.c), microseconds per step."
awk '
function field(line, key,   re, m) {
    re = "\"" key "\":(\"[^\"]*\"|[-0-9.]+)"
    if (!match(line, re)) return ""
    m = substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
    gsub(/"/, "", m)
    return m
}
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function smallest(list,   a, n, i, m) {
    n = split(list, a, " "); m = a[1]
    for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]
    return m
}
{
    w = field($0, "workload"); l = field($0, "label")
    v[w, l] = v[w, l] " " field($0, "median")
    unit[w] = field($0, "unit")
    if (!(w in seenw)) { seenw[w] = 1; order[++nw] = w }
    if (!(l in seenl)) { seenl[l] = 1; labels[++nl] = l }
}
END {
    printf "%-19s", "workload"
    for (j = 1; j <= nl; j++) printf " | %-26s", labels[j]
    printf "\n"
    for (i = 1; i <= nw; i++) {
        w = order[i]; b = median(v[w, "bare"])
        printf "%-19s", w
        for (j = 1; j <= nl; j++) {
            l = labels[j]; m = median(v[w, l])
            cell = sprintf("%.0f (%.0f)", m, smallest(v[w, l]))
            if (l != "bare")
                cell = cell (unit[w] == "us/step" ? sprintf(" +%.0f", m - b) \
                                                  : sprintf(" +%.0f %.2fx", m - b, m / b))
            printf " | %-26s", cell
        }
        printf "\n"
    }
}' "$tmp/all.jsonl"

found=$(cat "$tmp"/lg.*.jsonl "$tmp"/nd.*.jsonl 2>/dev/null | wc -l)
if [ "$found" -ne 0 ]; then
    echo "process_cost.sh: lockgraph wrote $found finding(s) where there is nothing to find" >&2
    exit 1
fi
echo "lockgraph wrote no findings."
