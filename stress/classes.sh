#!/bin/sh
# stress/classes.sh [BUILD_DIR] - lock classes' measured targets (issue 11),
# bare, under lockgraph and under ThreadSanitizer in the same run:
#   churn   make two mutexes, nest them, destroy them (target: at most 3x bare)
#   phases  400,000 short-lived locks in 4 phases (target: RSS after phase 4
#           within 8 MiB of phase 1)
#   live    1,000,000 live locks nested once under a global (target: at most
#           192 bytes of lockgraph memory per live lock, then 128)
#   benign  ns per lock, phase by phase, with a harmless cycle in the graph
#           (target: flat)
#   held    one thread holding 10,000 / 40,000 / 100,000 locks at once
#           (issue 14: the cost per acquisition must not grow with how many
#           are held; was 0.24 / 1.27 / 6.2 s against 0.06 s bare)
# Each side of churn runs START times (default 5: min/median/max over
# process starts). A measurement, not a test; nothing here fails on speed.
# Exit 1 only when lockgraph reported something (every workload is clean).
set -u
build=${1:-$(dirname "$0")/../build}
starts=${START:-5}
here=$(cd "$(dirname "$0")" && pwd)
bench=$build/stress/bench_classes
lib=$build/lib/liblockgraph.so
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tsan=$out/bench_classes.tsan
if ! ${CC:-gcc} -O2 -g -fsanitize=thread -o "$tsan" "$here/bench_classes.c" -lpthread 2>/dev/null; then
    echo "(no ThreadSanitizer build: gcc -fsanitize=thread failed)"
    tsan=
fi

lg() { LD_PRELOAD=$lib LOCKGRAPH_REPORT="$out/lg.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 "$@"; }
ts() { TSAN_OPTIONS="detect_deadlocks=1 report_signal_unsafe=0" "$tsan" "$@"; }

stats() { # numbers on stdin -> "min median max"
    sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f %.1f %.1f", v[1], m, v[NR]}'
}

echo "== churn (ns per round: init two, nest, destroy two), $starts process starts each"
for side in bare lockgraph tsan; do
    [ "$side" = tsan ] && [ -z "$tsan" ] && continue
    : >"$out/$side"
    i=0
    while [ $i -lt "$starts" ]; do
        case $side in
        bare) "$bench" churn 500000 ;;
        lockgraph) lg "$bench" churn 500000 ;;
        tsan) ts "$tsan" churn 100000 2>/dev/null || ts churn 100000 ;;
        esac | awk '{print $2}' >>"$out/$side"
        i=$((i + 1))
    done
    set -- $(stats <"$out/$side")
    printf '  %-10s min %8s  median %8s  max %8s\n' "$side" "$1" "$2" "$3"
done
b=$(stats <"$out/bare" | awk '{print $2}')
l=$(stats <"$out/lockgraph" | awk '{print $2}')
printf '  lockgraph / bare (medians): %.2fx (target: at most 3x)\n' "$(echo "$l / $b" | bc -l)"
if [ -n "$tsan" ]; then
    t=$(stats <"$out/tsan" | awk '{print $2}')
    printf '  ThreadSanitizer / bare:     %.2fx\n' "$(echo "$t / $b" | bc -l)"
fi

echo "== phases (RSS after each of 4 phases of 100,000 short-lived locks)"
printf '  bare       '; "$bench" phases
printf '  lockgraph  '; lg "$bench" phases
[ -n "$tsan" ] && { printf '  tsan       '; ts phases 2>/dev/null; }

echo "== live (1,000,000 live locks, each nested under a global)"
bare_kib=$("$bench" live | sed 's/.*: \([0-9]*\) KiB.*/\1/')
lg_kib=$(lg "$bench" live | sed 's/.*: \([0-9]*\) KiB.*/\1/')
printf '  bare %s KiB, lockgraph %s KiB: lockgraph itself %.0f bytes per live lock (target 192, then 128)\n' \
    "$bare_kib" "$lg_kib" "$(echo "($lg_kib - $bare_kib) * 1024 / 1000000" | bc -l)"
if [ -n "$tsan" ]; then
    ts_kib=$(ts live 2>/dev/null | sed 's/.*: \([0-9]*\) KiB.*/\1/')
    printf '  ThreadSanitizer %s KiB: %.0f bytes per live lock\n' "$ts_kib" \
        "$(echo "($ts_kib - $bare_kib) * 1024 / 1000000" | bc -l)"
fi

echo "== benign (ns per lock, phase by phase, a harmless cycle in the graph)"
printf '  bare      '; "$bench" benign 20 | sed 's/benign ns\/lock by phase://'
printf '  lockgraph '; lg "$bench" benign 20 | sed 's/benign ns\/lock by phase://'

echo "== held (N locks held at once, released first-taken first, then last-taken first)"
for n in 10000 40000 100000; do
    printf '  bare      '; "$bench" held $n
    printf '  lockgraph '; lg "$bench" held $n
done

found=$(cat "$out"/lg.*.jsonl 2>/dev/null | wc -l)
echo "lockgraph findings: $found (want 0)"
[ "$found" -eq 0 ]
