#!/bin/sh
# e2e_ranks.sh LOCKGRAPH PROG - the README's rank workflow, end to end, on an
# unannotated program (sc_rank_file) under `lockgraph run`: a clean run
# writes a graph file; `lockgraph ranks` proposes a rank file from it (table
# lock before the account locks, nested in address order, before the log
# lock); the clean run passes under that file; the run that takes the table
# lock while holding the log lock - once, with no cycle - is caught, and the
# report names both locks and the rank rule. A graph file with a cycle gets
# no proposal.
set -u
lg=$1 prog=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/out "$dir"/ranks.txt; do [ -e "$f" ] && sed "s|^|  $(basename "$f") | |" "$f"; done; exit 1; }

"$lg" run --report "$dir/learn.%p.jsonl" --options "graph=$dir/graph.%p.jsonl" -- "$prog" good \
    >"$dir/out" 2>&1 || fail "learning run: exit $?"
ls "$dir"/graph.*.jsonl >/dev/null 2>&1 || fail "no graph file written"

"$lg" ranks "$dir"/graph.*.jsonl -o "$dir/ranks.txt" >"$dir/out" 2>&1 || fail "ranks: exit $?"
rank_of() { awk -v k="$1" '$1 == "rank" && $3 == k { print $2 }' "$dir/ranks.txt"; }
table=$(rank_of sym:sc_rank_file:table_lock)
log=$(rank_of sym:sc_rank_file:log_lock)
site_line=$(grep '^rank [0-9]* site:sc_rank_file+0x' "$dir/ranks.txt")
site=$(echo "$site_line" | awk '{print $2}')
[ -n "$table" ] && [ -n "$log" ] && [ -n "$site" ] || fail "proposal lacks a lock"
[ "$table" -lt "$site" ] && [ "$site" -lt "$log" ] || fail "ranks out of order: $table $site $log"
echo "$site_line" | grep -q 'same=address' || fail "account locks not same=address: $site_line"

"$lg" run --report "$dir/good.%p.jsonl" --options "ranks=$dir/ranks.txt" -- "$prog" good \
    >"$dir/out" 2>&1 || fail "clean run under the proposed ranks: exit $?"
grep -qF 'no findings' "$dir/out" || fail "clean run: output lacks 'no findings'"

"$lg" run --report "$dir/bad.%p.jsonl" --options "ranks=$dir/ranks.txt" -- "$prog" bad \
    >"$dir/out" 2>&1
rc=$?
[ "$rc" -eq 66 ] || fail "bad run: exit $rc, want 66"
grep -h '"kind":"rank-violation"' "$dir"/bad.*.jsonl | grep -q '"why":"rank"' ||
    fail "bad run: no rank-violation in the findings file"
[ "$(grep -hc '"kind"' "$dir"/bad.*.jsonl)" -eq 1 ] || fail "bad run: more than the one finding"
for want in 'rank' 'table_lock' 'log_lock' 'sc_rank_file.c'; do
    grep -qF -- "$want" "$dir/out" || fail "bad run: output lacks '$want'"
done

# Learned from a run with a cycle: no proposal, the cycle named, exit 1.
"$lg" run --report "$dir/cyc.%p.jsonl" --options "graph=$dir/cycle.%p.jsonl" -- "$prog" cycle \
    >"$dir/out" 2>&1
"$lg" ranks "$dir"/cycle.*.jsonl -o "$dir/cycle-ranks.txt" >"$dir/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "ranks on a cyclic graph: exit $rc, want 1"
grep -qF 'table_lock' "$dir/out" && grep -qF 'log_lock' "$dir/out" ||
    fail "ranks on a cyclic graph: the cycle's locks are not named"
[ ! -s "$dir/cycle-ranks.txt" ] || fail "ranks on a cyclic graph wrote a proposal"
echo "1 passed, 0 failed"
