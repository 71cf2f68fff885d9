#!/usr/bin/env bash
# layout.sh - does the fast path's cost depend on the process start, and on
# what address? (issue 12: nested4 at ~26 or ~37 ns from one start to the
# next.)
#
# What it does: runs layout_probe (nested4 under lockgraph and bare in one
# process, alternating short samples, the best of each kept) and prints,
# per start, lockgraph's best, bare's best, their difference and the page
# offsets of the addresses involved. Three experiments:
#   starts   N process starts with ASLR, as a user gets them (default)
#   moff     the mutexes moved to every 16-byte page offset of a static
#            buffer (the stack still random), each offset twice, in random
#            order: an offset slow both times is a layout effect; one slow
#            once is a busy moment of the machine
#   series   one start printing every sample: a slowdown that comes and
#            goes within one process is not the layout
#   evict    the same with 0 to 128 KiB touched after every round (both
#            sides): what lockgraph adds once its lines have left the L1,
#            as when an SMT sibling shares the core
# A difference is "slow" above --slow ns (default 16: nested4 adds ~11-12
# ns on the quiet machine of README.md, ~20-24 in its slow state).
#
# What it does not do: decide pass/fail. It needs bash, awk and the build's
# layout_probe and liblockgraph.so (nm, from binutils, to find lg__self).
#
# Usage: layout.sh [--build DIR] [--starts N] [--samples N] [--slow NS]
#                  [starts|moff|series|evict]

set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/.." && pwd)/build
starts=40 samples=150 slow=16 what=starts
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift ;;
    --starts) starts=$2; shift ;;
    --samples) samples=$2; shift ;;
    --slow) slow=$2; shift ;;
    starts | moff | series | evict) what=$1 ;;
    -h | --help) sed -n '/^# Usage:/,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "layout.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
probe=$build/stress/layout_probe
lib=$build/lib/liblockgraph.so
for f in "$probe" "$lib"; do
    [ -e "$f" ] || { echo "layout.sh: $f not found (build first)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Where lg__tls (whose first word is lg__self) lives in the library's TLS block,
# and registry.c's table.
self_off=0x$(nm "$lib" 2>/dev/null | awk '$3 == "lg__tls" { print $1; exit }')
table_off=0x$(readelf -sW "$lib" 2>/dev/null |
    awk '$4 == "FILE" { f = $8 } f == "registry.c" && $8 == "table" { print $2; exit }')

run() { # probe arguments...
    LG_SELF_OFF=$self_off LG_TABLE_OFF=$table_off LD_PRELOAD=$lib \
        LOCKGRAPH_REPORT="$tmp/r.%p.jsonl" "$probe" "$@"
    rm -f "$tmp"/r.*
}

# summary FILE: min/median/max of the difference, and the slow starts
summary() {
    awk -v slow="$slow" '
    $1 == "lg" { d[++n] = $10; if ($10 > slow) s++ }
    END {
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && d[j - 1] > d[j]; j--) { t = d[j]; d[j] = d[j - 1]; d[j - 1] = t }
        printf "lockgraph - bare, ns/pair over %d starts: min %.2f median %.2f max %.2f;" \
            " slow (> %s ns): %d\n", n, d[1], (n % 2 ? d[(n + 1) / 2] : (d[n / 2] + d[n / 2 + 1]) / 2),
            d[n], slow, s }' "$1"
}

case "$what" in
starts)
    echo "layout_probe, $starts starts with ASLR, $samples samples each ($(date -u '+%F %H:%M UTC'))"
    for s in $(seq 1 "$starts"); do
        run --samples "$samples" | grep '^lg' | tee -a "$tmp/all"
    done
    summary "$tmp/all"
    ;;
moff)
    echo "layout_probe --moff: every 16-byte page offset twice, random order"
    offs=$(for o in $(seq 0 16 4080); do echo "$RANDOM $o"; echo "$RANDOM $o"; done |
        sort -n | cut -d' ' -f2)
    for o in $offs; do
        printf 'moff %d ' "$o"
        run --samples "$samples" --moff "$o" | grep '^lg'
    done >"$tmp/moff"
    summary "$tmp/moff"
    echo "offsets slow both times (a layout effect), and how many were slow once (the machine):"
    awk -v slow="$slow" '{ o = $2; n[o]++; if ($12 > slow) s[o]++ }
        END { for (o in n) { if (s[o] == n[o]) printf "  moff %#05x slow %d/%d\n", o, s[o], n[o];
                             else if (s[o]) once++ }
              printf "  slow once: %d offsets\n", once }' "$tmp/moff" | sort
    ;;
series)
    echo "layout_probe --series: one start, every sample (lg ns, bare ns)"
    run --samples "$samples" --series
    ;;
evict)
    echo "layout_probe --evict: bytes touched after every nested4 round, both sides"
    for e in 0 8192 16384 32768 49152 65536 131072; do
        printf 'evict %6d B: ' "$e"
        run --samples "$samples" --rounds 5000 --evict "$e" | grep '^lg' | cut -d' ' -f1-10
    done
    ;;
esac
