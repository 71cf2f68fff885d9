#!/bin/sh
# readme_test.sh SRC BUILD PROG - the README, followed as written, after the
# two set-up commands.
#
# 1. The sample output under "Two commands" is what `lockgraph run` prints
#    for the demo (as tools/dev.sh demo runs it, from the checkout): each of
#    its lines, in order, with pids, tids, addresses and the report
#    directory's random name as they come; a line that is only `...`
#    stands for lines left out, a line ending in ` ...` for its rest.
# 2. Every ```sh block of "Using it" runs, line by line, in one shell, in a
#    scratch directory that holds what the commands name as the user's own:
#    `build` (the build tree, as in the checkout), the programs `./server`,
#    `./test_suite`, `./test_a`, `./test_b` (PROG under those names) and
#    `accepted.txt` (a suppressions file). LD_LIBRARY_PATH=build/lib stands
#    for an installed library (`ldconfig`), which the by-hand LD_PRELOAD
#    line needs. Each line's exit status is checked against the table below;
#    a command the table does not know fails the test, so a README change
#    comes with its expected outcome.
set -u
src=$1 build=$2 prog=$3
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-readme.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
unset LOCKGRAPH_OPTIONS LOCKGRAPH_REPORT LOCKGRAPH_LIB LD_PRELOAD NO_COLOR
export TMPDIR="$work/tmp"
mkdir "$TMPDIR"
readme=$src/README.md

# ---- 1. the demo's sample output ----
# section NAME: the README's "## NAME..." section, to the next "## ".
section() { awk -v h="## $1" 'index($0, h) == 1 {on=1; next} on && /^## /{exit} on' "$readme"; }
section "Two commands" | awk '/^```/{n++; next} n == 3' >"$work/sample"
[ -s "$work/sample" ] || fail "no sample output found in README.md's Two commands"
(cd "$src" && "$build/tools/lockgraph" run -- "$build/demo/lockgraph-demo-bank") \
    >/dev/null 2>"$work/demo.out"
rc=$?
[ "$rc" = 66 ] || fail "the demo: lockgraph run exit $rc, want 66"
# Each sample line found, in order, in the real output, once both have the
# parts that vary from run to run replaced by placeholders.
awk '
    function norm(s) {
        gsub(/0x[0-9a-f]+/, "0xN", s)
        gsub(/pid [0-9]+/, "pid N", s)
        gsub(/tid [0-9]+/, "tid N", s)
        gsub(/findings[.][0-9]+/, "findings.N", s)
        sub(/report: .*\/lockgraph[.][A-Za-z0-9]+\//, "report: DIR/", s)
        return s
    }
    NR == FNR {
        if ($0 ~ /^[ \t]*$/ || $0 ~ /^[ \t]*[.][.][.]$/) next
        n++
        prefix[n] = ($0 ~ / [.][.][.]$/)
        if (prefix[n]) sub(/ [.][.][.]$/, "")
        want[n] = norm($0)
        next
    }
    i < n {
        got = norm($0)
        w = want[i + 1]
        if (prefix[i + 1] ? index(got, w) == 1 : got == w) i++
    }
    END {
        if (i < n) { print "README sample line not in the output, in order: " want[i + 1]; exit 1 }
    }' "$work/sample" "$work/demo.out" || {
    fail "the README's sample output is not what the demo prints:"
    sed 's/^/  | /' "$work/demo.out"
}

# ---- 2. the "Using it" commands ----
have_dot=1
command -v dot >/dev/null 2>&1 || have_dot=0
# Expected exit status of each command, as written (its comment left out).
# dot --svg exits 2 where Graphviz is missing.
expected() {
    cat <<'EOF'
0	export PATH="$PWD/build/tools:$PATH"
66	lockgraph run -- ./server --port 8080
66	lockgraph run --report out/lg.%p.jsonl --options on_cycle=abort -- ./test_suite
66	lockgraph show out/lg.*.jsonl
0	LD_PRELOAD=liblockgraph.so LOCKGRAPH_REPORT=lg.%p.jsonl ./server
1	lockgraph report out/lg.*.jsonl
1	lockgraph report --format sarif -o lg.sarif out/*.jsonl
1	lockgraph report --format html -o lg.html out/*.jsonl
1	lockgraph report --format json out/*.jsonl
DOT	lockgraph dot --svg cycles.svg out/*.jsonl
1	lockgraph report --suppressions accepted.txt out/*.jsonl
0	lockgraph run --options graph=g.%p.jsonl -- ./test_a
0	lockgraph run --options graph=g.%p.jsonl -- ./test_b
1	lockgraph merge g.*.jsonl
DOT	lockgraph dot --svg union.svg g.*.jsonl
0	lockgraph run --report lockgraph-out/lg.%p.jsonl -- ./test_suite || status=$?
1	lockgraph report --format sarif -o lockgraph.sarif lockgraph-out/*.jsonl
EOF
}
section "Using it" | awk '/^```/{ if (on) {on=0} else if ($0 == "```sh") {on=1}; next } on' |
    sed 's/[[:space:]]\{1,\}#.*$//; s/^[[:space:]]*//; s/[[:space:]]*$//' | grep -v '^$' |
    grep -v '^#' >"$work/commands"
[ "$(wc -l <"$work/commands")" -ge 10 ] || fail "only $(wc -l <"$work/commands") commands found in Using it"

dir=$work/user
mkdir "$dir"
ln -s "$build" "$dir/build"
for name in server test_suite test_a test_b; do ln -s "$prog" "$dir/$name"; done
printf '# lockgraph suppressions\n# (none accepted yet)\n' >"$dir/accepted.txt"

script=$work/script.sh
{
    echo "cd '$dir' || exit 99"
    echo "export LD_LIBRARY_PATH='$dir/build/lib'"
}>"$script"
n=0
while IFS= read -r line; do
    n=$((n + 1))
    case $line in *\\) fail "line continuation in a README command: $line" ;; esac
    want=$(expected | awk -F '\t' -v c="$line" '$2 == c {print $1; exit}')
    if [ -z "$want" ]; then
        fail "README command not known to tests/readme/readme_test.sh (add its exit status): $line"
        continue
    fi
    if [ "$want" = DOT ]; then
        want=0
        [ "$have_dot" = 1 ] || want=2
    fi
    echo "$n	$want	$line" >>"$work/plan"
    printf '{ %s\n} >"%s/out.%d" 2>&1\necho "%d $?" >>"%s/status"\n' "$line" "$work" "$n" "$n" "$work" >>"$script"
done <"$work/commands"
sh "$script"
while IFS='	' read -r i want line; do
    got=$(awk -v i="$i" '$1 == i {print $2}' "$work/status")
    if [ "$got" != "$want" ]; then
        fail "README: '$line': exit ${got:-none}, want $want"
        sed 's/^/  | /' "$work/out.$i"
    fi
done <"$work/plan"

# What the commands say they make is there.
ls "$dir"/out/lg.*.jsonl >/dev/null 2>&1 || fail "no out/lg.<pid>.jsonl (run --report's directory)"
ls "$dir"/lg.*.jsonl >/dev/null 2>&1 || fail "no lg.<pid>.jsonl from LD_PRELOAD=liblockgraph.so by hand"
ls "$dir"/g.*.jsonl >/dev/null 2>&1 || fail "no graph files g.<pid>.jsonl"
for f in lg.sarif lg.html lockgraph.sarif; do
    [ -s "$dir/$f" ] || fail "no $f"
done
if [ "$have_dot" = 1 ]; then
    for f in cycles.svg union.svg; do
        grep -q '<svg' "$dir/$f" 2>/dev/null || fail "no SVG in $f"
    done
fi

[ "$failures" = 0 ] || exit 1
echo "ok: the sample output and $n README commands"
