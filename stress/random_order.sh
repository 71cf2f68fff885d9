#!/bin/sh
# stress/random_order.sh [BUILD_DIR] [THREADS] [ROUNDS] - run random_order
# under lockgraph: first with no inversion (nothing may be reported), then
# with one injected inversion (exactly one lock-order-cycle, containing both
# injected locks). Prints the time of each run bare and under lockgraph.
set -u
build=${1:-$(dirname "$0")/../build}
threads=${2:-8}
rounds=${3:-20000}
prog=$build/stress/random_order
lg=$build/tools/lockgraph
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

t0=$(date +%s.%N)
"$prog" "$threads" "$rounds" >/dev/null || fail=1
t1=$(date +%s.%N)
"$lg" run --report "$work/clean.%p.jsonl" --exit-code 0 -- "$prog" "$threads" "$rounds" \
    >"$work/clean.out" 2>"$work/clean.err" || fail=1
t2=$(date +%s.%N)
clean=$(cat "$work"/clean.*.jsonl 2>/dev/null | wc -l)
echo "hidden order, $threads threads x $rounds rounds: $clean findings (want 0);" \
    "bare $(echo "$t1 - $t0" | bc) s, lockgraph $(echo "$t2 - $t1" | bc) s"
[ "$clean" -eq 0 ] || { fail=1; head -c 2000 "$work"/clean.*.jsonl; }

"$lg" run --report "$work/inj.%p.jsonl" --exit-code 0 -- "$prog" "$threads" "$rounds" inject \
    >"$work/inj.out" 2>"$work/inj.err" || fail=1
set -- $(sed -n 's/^inject: //p' "$work/inj.out")
a=${1:-none} b=${2:-none}
cycles=$(cat "$work"/inj.*.jsonl | grep -c '"kind":"lock-order-cycle"')
others=$(cat "$work"/inj.*.jsonl | grep -vc '"kind":"lock-order-cycle"')
has_both=no
cat "$work"/inj.*.jsonl | grep '"kind":"lock-order-cycle"' | grep -q "\"addr\":\"$a\"" &&
    cat "$work"/inj.*.jsonl | grep '"kind":"lock-order-cycle"' | grep -q "\"addr\":\"$b\"" && has_both=yes
echo "one injected inversion ($a before $b): $cycles cycle(s) (want 1), with both locks: $has_both," \
    "other findings: $others (want 0)"
[ "$cycles" -eq 1 ] && [ "$has_both" = yes ] && [ "$others" -eq 0 ] || fail=1
[ "$fail" -eq 0 ] && echo "ok" || echo "FAILED"
exit "$fail"
