#!/bin/sh
# bench_io.sh - what lockgraph's I/O shims cost: bench_io bare and under
# LD_PRELOAD=liblockgraph.so, in one run, rounds interleaved.
#
# Prints per workload the best ns/call over all rounds (median of the
# rounds' medians in brackets), bare and under lockgraph, the difference in
# ns and the ratio. Checks the findings file: the two held-* workloads must
# give exactly two held-across-io pairs, one line each plus their final
# counts, and nothing else.
#
# Usage: bench_io.sh [--build DIR] [--rounds N] [--reps N] [--scale F]
#                    [--workload NAME]
# Exit status: 0 measured (speed is reported, never enforced), 1 wrong
# findings or bench_io failed, 2 bad usage.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/.." && pwd)/build
rounds=3 reps=5 scale=1 workload=all
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --reps) reps=$2; shift ;;
    --scale) scale=$2; shift ;;
    --workload) workload=$2; shift ;;
    -h | --help) sed -n '/^# Usage:/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_io.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
bench=$build/stress/bench_io
lib=$build/lib/liblockgraph.so
for f in "$bench" "$lib"; do
    [ -e "$f" ] || { echo "bench_io.sh: $f not found (build first, or --build DIR)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lgbenchio.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0

echo "lockgraph I/O shim benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(uname -srm), $(nproc) CPUs," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
git -C "$here" rev-parse --short HEAD >/dev/null 2>&1 &&
    echo "lockgraph: commit $(git -C "$here" rev-parse --short HEAD)"
echo "$rounds rounds x $reps reps, scale $scale; ns per call"
echo

args="--json --reps $reps --scale $scale --workload $workload"
r=1
while [ "$r" -le "$rounds" ]; do
    "$bench" $args --label bare >>"$tmp/results" || status=1
    LD_PRELOAD=$lib LOCKGRAPH_OPTIONS=quiet=1 LOCKGRAPH_REPORT="$tmp/lg.$r.%p.jsonl" \
        "$bench" $args --label lockgraph >>"$tmp/results" || status=1
    r=$((r + 1))
done

# workload label min median, one line per result
sed -e 's/.*"workload":"\([^"]*\)","label":"\([^"]*\)".*"min":\([0-9.]*\),"median":\([0-9.]*\).*/\1 \2 \3 \4/' \
    "$tmp/results" >"$tmp/rows"
printf '%-12s %18s %18s %9s %7s\n' workload "bare" "lockgraph" "+ns" ratio
for w in $(awk '{print $1}' "$tmp/rows" | awk '!seen[$0]++'); do
    awk -v w="$w" '
        $1 == w { if (!($2 in min) || $3 < min[$2]) min[$2] = $3; med[$2, ++n[$2]] = $4 }
        function median(l,   i, j, t, k) {
            k = n[l]
            for (i = 1; i <= k; i++) a[i] = med[l, i]
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return a[int((k + 1) / 2)]
        }
        END {
            b = min["bare"]; l = min["lockgraph"]
            printf "%-12s %8.2f (%7.2f) %8.2f (%7.2f) %+9.2f %6.2fx\n", w, b, median("bare"), l, median("lockgraph"), l - b, l / b
        }' "$tmp/rows"
done

# findings: per round two pairs (held-write, held-fwrite), no other kind
echo
want=2
[ "$workload" != all ] && case "$workload" in held-*) want=1 ;; *) want=0 ;; esac
for f in "$tmp"/lg.*.jsonl; do
    # A process that found nothing leaves no file: only a missing file where
    # findings were due says the library was not loaded.
    if [ ! -e "$f" ]; then
        [ "$want" = 0 ] && break
        echo "no findings file: lockgraph was not loaded"
        status=1
        break
    fi
    firsts=$(grep -c '"kind":"held-across-io".*"final":false' "$f")
    others=$(grep -vc '"kind":"held-across-io"' "$f")
    if [ "$firsts" != "$want" ] || [ "$others" != 0 ]; then
        echo "$(basename "$f"): $firsts held-across-io pairs (want $want), $others other findings"
        status=1
    fi
done
[ "$status" = 0 ] && echo "findings as expected: the held-* workloads' pairs, nothing else"
exit "$status"
