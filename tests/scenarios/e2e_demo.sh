#!/bin/sh
# e2e_demo.sh LOCKGRAPH DEMO DEMO_FIXED - the README's demo, end to end:
# `lockgraph run` on the bank demo finds the cycle, names both accounts and
# points at transfer() in bank.c with file:line, exits 66; the fixed build
# (accounts locked by number) gives no findings and exit 0.
set -u
lg=$1 demo=$2 fixed=$3
out=$(mktemp)
# `run` keeps its report directory ($TMPDIR/lockgraph.XXXXXX) when it found
# something, for the user to read: here it goes with the test.
TMPDIR=$(mktemp -d) && export TMPDIR
trap 'rm -f "$out"; rm -rf "$TMPDIR"' EXIT
fail() { echo "FAIL: $*"; sed 's/^/  | /' "$out"; exit 1; }

"$lg" run -- "$demo" >"$out.stdout" 2>"$out"
rc=$?
# the program's own output, and nothing else, on stdout
[ "$(cat "$out.stdout")" = "checking 485, savings 1015 (total 1500)" ] ||
    fail "demo: stdout is not the program's own: $(cat "$out.stdout")"
rm -f "$out.stdout"
[ "$rc" -eq 66 ] || fail "demo: exit $rc, want 66"
for want in 'lock-order-cycle #1' '"savings"' '"checking"' 'transfer (' 'bank.c:38' 'bank.c:39' \
    'teller_to_savings' 'teller_to_checking' 'Possible scenario' '1 finding (1 lock-order-cycle)'; do
    grep -qF -- "$want" "$out" || fail "demo: output lacks '$want'"
done

"$lg" run -- "$fixed" >"$out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "fixed demo: exit $rc, want 0"
grep -qF 'no findings' "$out" || fail "fixed demo: output lacks 'no findings'"
echo "1 passed, 0 failed"
