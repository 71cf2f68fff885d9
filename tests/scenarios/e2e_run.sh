#!/bin/sh
# e2e_run.sh LOCKGRAPH SCENARIO_DIR - `lockgraph run` with the real library:
# it never says "no findings" when something was found or nothing was
# watched, writes only where asked, and prints each thing once, in order.
set -u
lg=$1 sc=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-e2e-run.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work/tmp"
mkdir "$TMPDIR"
unset LOCKGRAPH_OPTIONS LOCKGRAPH_REPORT
failures=0
fail() {
    echo "FAIL: $*"
    sed 's/^/  | /' "$work/err"
    failures=$((failures + 1))
}
# run_lg WANT_RC ARGS...: stderr to $work/err
run_lg() {
    want=$1
    shift
    "$lg" "$@" >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" = "$want" ] || fail "lockgraph $*: exit $rc, want $want"
}
has() { grep -qF -- "$1" "$work/err" || fail "stderr lacks: $1"; }
lacks() { ! grep -qF -- "$1" "$work/err" || fail "stderr has: $1"; }

# A program that replaces itself with something unwatched: not "no findings".
run_lg 67 run -- sh -c "unset LD_PRELOAD; exec '$sc/sc_ab_ba_one_thread'"
has 'lockgraph: the program was not watched to its end'
lacks 'lockgraph: no findings;'

# A finding the library could put in no file (a link planted at the
# process's own findings file name) went to stderr: it counts.
run_lg 66 run --report "$work/r.%p.jsonl" -- "$sc/sc_report_file" symlink "$work"
has "' is a symbolic link: not writing there; findings go to stderr"
has 'lockgraph: 1 finding could not be written to a report file'
has 'lockgraph: 1 finding, none in a report file (see above)'
[ -e "$work/victim" ] && fail "a finding was written through the link"

# Nothing left behind by processes that found nothing: not sh, env,
# timeout, each command; the run's own directory goes too.
run_lg 0 run --report "$work/clean.%p.jsonl" -- sh -c 'env true; timeout 20 true; echo x | cat >/dev/null'
[ -z "$(ls "$work" | grep '^clean\.')" ] || fail "empty findings files left: $(ls "$work")"
[ -z "$(ls "$TMPDIR")" ] || fail "run left $(ls "$TMPDIR") in TMPDIR"
has 'lockgraph: no findings; report: none written'

# The README's `--report out/lg.%p.jsonl` in a fresh directory.
mkdir "$work/fresh"
cd "$work/fresh" || exit 1
run_lg 66 run --report out/lg.%p.jsonl -- "$sc/sc_ab_ba_one_thread"
cd - >/dev/null || exit 1
has "report: $work/fresh/out/lg."
[ "$(ls "$work/fresh/out" | wc -l)" = 1 ] || fail "out/: $(ls "$work/fresh/out")"

# --live: each finding's line as it happens, then run's report, once: not
# the library's own closing summary as well.
run_lg 66 run --live -- "$sc/sc_ab_ba_one_thread"
has 'lockgraph: lock-order-cycle: potential deadlock among 2 locks'
has '== lock-order-cycle #1'
lacks 'prints them with symbols'
[ "$(grep -c 'finding (1 lock-order-cycle)' "$work/err")" = 1 ] || fail "--live: the count twice"

# A module without debug info: the note about it is a line of its own,
# before the first finding that has frames in it (never inside a stack),
# and says what its frames look like.
run_lg 66 run -- "$sc/sc_ab_ba_nodebug"
has 'no debug info'
has 'only function+offset where its symbol table names the function, else module+offset'
grep -q '^lockgraph: note: .*sc_ab_ba_nodebug: no debug info' "$work/err" ||
    fail "the note does not start a line of its own"
awk '/^== /{f=1} /no debug info/{if(f) bad=1; n=1} /^lockgraph: 1 finding/{if(!n) bad=1} END{exit bad}' \
    "$work/err" || fail "the note is not before the finding that needs it"
grep -q '^, first locked at' "$work/err" && fail "a line cut in two by the note"

# Options the library would refuse: refused before anything runs.
run_lg 2 run --options stack_dept=4 -- sh -c "touch '$work/ran'"
has "unknown option 'stack_dept'"
[ -e "$work/ran" ] && fail "the program ran despite a bad option"

[ "$failures" -eq 0 ] || { echo "$failures failed"; exit 1; }
echo "e2e run: ok"
