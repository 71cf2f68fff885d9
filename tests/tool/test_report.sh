#!/bin/sh
# test_report.sh - `lockgraph report`, `dot` and `merge` from the outside:
# golden text of a real program's findings (golden_prog, built with debug
# info, run under liblockgraph.so: function, file and line checked), the
# handcrafted data files, every kind of bad input, suppressions, SARIF
# checked against the 2.1.0 schema's required fields, DOT parsed back by
# Graphviz, the HTML page in a real headless browser, merge finding a
# cycle split across two runs, lock classes in every format (class_prog),
# classes folded by source line (fold_prog), and a module whose path is
# not UTF-8 (bytes_prog loading bytes_lib).
#
# usage: test_report.sh CASE LOCKGRAPH DATA_DIR SOURCE_DIR GOLDEN_PROG LIBLOCKGRAPH CHECK_SARIF
#                       CLASS_PROG FOLD_PROG BYTES_PROG BYTES_LIB
# Exit 77 (ctest: skipped) when a case needs Graphviz or chromium and they
# are not installed; tools/dev.sh installs both. LG_SAVE_GOLDEN=FILE (case
# classes): also write the normalized text there, to record it anew.
set -u
case_name=$1 LG=$2 DATA=$3 SRC=$4 PROG=$5 LIB=$6 CHECK_SARIF=$7 CLASS_PROG=${8:-} FOLD_PROG=${9:-}
BYTES_PROG=${10:-} BYTES_LIB=${11:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-test-report.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
unset LOCKGRAPH_OPTIONS LOCKGRAPH_REPORT NO_COLOR LOCKGRAPH_DOT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

skip() {
    echo "SKIP: $*"
    exit 77
}

# run_lg EXPECTED_RC ARGS...: stdout to $work/out, stderr to $work/err.
run_lg() {
    want=$1
    shift
    "$LG" "$@" >"$work/out" 2>"$work/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        fail "lockgraph $* exited $rc, wanted $want"
        sed 's/^/  out: /' "$work/out" | head -40
        sed 's/^/  err: /' "$work/err" | head -40
    fi
}

# run_lg from the source tree, where the findings' relative source paths
# resolve for the symbolizer.
run_lg_src() {
    cd "$SRC" || exit 1
    run_lg "$@"
    cd - >/dev/null || exit 1
}

has() {
    grep -qF -- "$2" "$work/$1" || {
        fail "$1 lacks: $2"
        sed "s/^/  $1: /" "$work/$1" | head -60
    }
}

lacks() {
    if grep -qF -- "$2" "$work/$1"; then
        fail "$1 should not contain: $2"
    fi
}

# record NAME MODE [OPTIONS]: run golden_prog MODE under the library,
# findings to $work/NAME.jsonl.
record() {
    LD_PRELOAD="$LIB" LOCKGRAPH_REPORT="$work/$1.jsonl" \
        LOCKGRAPH_OPTIONS="quiet=1${3:+:$3}" "$PROG" "$2" >/dev/null 2>"$work/$1.stderr" ||
        fail "golden_prog $2 exited $?: $(cat "$work/$1.stderr")"
}

# Addresses, pids and tids differ from run to run, frames outside the
# program from libc to libc (with or without its debug info): the golden
# text keeps the program's own frames, with function, file and line
# ($keep_src: golden_prog.c unless a case says otherwise).
keep_src=golden_prog
normalize() {
    sed -e 's/(pid [0-9]*)/(pid N)/g' -e 's/(tid [0-9]*)/(tid N)/g' \
        -e 's/[a-z_]*+0x[0-9a-f]*/MOD+0xOFF/g' \
        -e 's/0x[0-9a-f][0-9a-f]*/0xADDR/g' -e "s|$work/||g" \
        -e "/^ *#[0-9][0-9]* /{/$keep_src\\.c:/!d;}" "$@"
}

# run_prog PROG NAME MODE [OPTIONS]: run PROG MODE under the library,
# findings to $work/NAME.jsonl.
run_prog() {
    LD_PRELOAD="$LIB" LOCKGRAPH_REPORT="$work/$2.jsonl" \
        LOCKGRAPH_OPTIONS="quiet=1${4:+:$4}" "$1" "$3" >/dev/null 2>"$work/$2.stderr" ||
        fail "$(basename "$1") $3 exited $?: $(cat "$work/$2.stderr")"
}

need_dot() {
    command -v dot >/dev/null 2>&1 || skip "Graphviz's dot is not installed (apt-get install graphviz)"
}

chromium_bin() {
    for b in chromium chromium-browser google-chrome; do
        command -v "$b" >/dev/null 2>&1 && { command -v "$b"; return 0; }
    done
    return 1
}

case "$case_name" in
golden)
    # Golden text of a real program's findings. Run from the source tree,
    # so source paths print relative to it, as in a CI job.
    record g report
    run_lg_src 1 report "$work/g.jsonl"
    normalize "$work/out" >"$work/got"
    if ! diff -u "$DATA/golden-report.expected" "$work/got" >"$work/diff"; then
        fail "report differs from golden-report.expected (after normalizing):"
        cat "$work/diff"
    fi
    # Colour only when asked or on a terminal; NO_COLOR wins over auto.
    run_lg_src 1 report --color=always "$work/g.jsonl"
    grep -q "$(printf '\033')\[" "$work/out" || fail "--color=always: no escape sequences"
    cp "$work/out" "$work/coloured"
    sed "s/$(printf '\033')\[[0-9;]*m//g" "$work/coloured" >"$work/stripped"
    cd "$SRC" || exit 1
    "$LG" report "$work/g.jsonl" >"$work/plain" 2>/dev/null
    cd - >/dev/null || exit 1
    cmp -s "$work/stripped" "$work/plain" || fail "colour changes the text itself"
    run_lg 1 report --color=never "$work/g.jsonl"
    grep -q "$(printf '\033')" "$work/out" && fail "--color=never wrote escapes"
    NO_COLOR=1 run_lg 1 report "$work/g.jsonl"
    grep -q "$(printf '\033')" "$work/out" && fail "NO_COLOR: escapes in a pipe"
    if command -v script >/dev/null 2>&1; then
        # On a terminal (script(1) gives one), colour by default; NO_COLOR off.
        script -qec "'$LG' report '$work/g.jsonl'" /dev/null >"$work/tty" 2>&1
        grep -q "$(printf '\033')\[1;31m== lock-order-cycle" "$work/tty" ||
            fail "no colour on a terminal"
        NO_COLOR=1 script -qec "'$LG' report '$work/g.jsonl'" /dev/null >"$work/tty" 2>&1
        grep -q "$(printf '\033')\[1" "$work/tty" && fail "NO_COLOR ignored on a terminal"
    fi
    run_lg 2 report --color=sometimes "$work/g.jsonl"
    has err "bad --color 'sometimes'"

    # The same program run again: one finding each, seen twice.
    record g2 report
    run_lg 1 report "$work/g.jsonl" "$work/g2.jsonl"
    has out 'lockgraph: 5 distinct findings (1 lock-order-cycle, 1 self-deadlock, 1 unlock-not-held, 1 held-at-exit, 1 rank-violation) from 10 findings in 2 processes'
    has out '   seen 2 times, in 2 processes: '
    [ "$(grep -c '^== ' "$work/out")" = 5 ] || fail "deduplicated report has $(grep -c '^== ' "$work/out") blocks"
    run_lg 1 report --no-dedupe "$work/g.jsonl" "$work/g2.jsonl"
    [ "$(grep -c '^== ' "$work/out")" = 10 ] || fail "--no-dedupe shows $(grep -c '^== ' "$work/out") blocks"

    # JSON: the finding as written, stacks symbolized beside it.
    run_lg_src 1 report --format json "$work/g.jsonl"
    has out '"function": "transfer"'
    has out '"file": "tests/tool/golden_prog.c"'
    has out '"second_stack_symbolized"'
    has out '"distinct": 5'

    # SARIF: valid, with the cycle at transfer's second lock call.
    run_lg_src 1 report --format sarif -o "$work/g.sarif" "$work/g.jsonl"
    "$CHECK_SARIF" "$work/g.sarif" 5 >"$work/check" || { fail "SARIF invalid:"; cat "$work/check"; }
    tr -d ' \n' <"$work/g.sarif" >"$work/flat"
    grep -q '"ruleId":"lock-order-cycle"' "$work/flat" || fail "SARIF: no lock-order-cycle result"
    grep -q '"artifactLocation":{"uriBaseId":"%SRCROOT%","uri":"tests/tool/golden_prog.c"},"region":{"startLine":35}' \
        "$work/flat" || fail "SARIF: the cycle is not located at golden_prog.c:35"
    grep -q '"threadFlows"' "$work/flat" || fail "SARIF: no code flow"
    has err 'lockgraph: 5 findings'
    ;;
report-data)
    run_lg 1 report "$DATA/cycle.jsonl"
    has out '== lock-order-cycle #1 (pid 4242): potential deadlock among 2 locks'
    has out '== deadlock-from-the-future #1 (pid 4242): a kind this lockgraph does not know; its fields'
    has out 'lockgraph: 3 findings (1 lock-order-cycle, 1 held-at-exit, 1 deadlock-from-the-future) in 1 process; 1 detector error'
    # A kind this lockgraph does not know, field by field: stacks
    # symbolized, threads and locks described.
    run_lg 1 report "$DATA/future.jsonl"
    has out '== priority-inversion #1 (pid 77): a kind this lockgraph does not know; its fields'
    has out '   call: "read"'
    has out '   thread: thread 2 "reader" (tid 78)'
    has out '   lock: mutex 0x7ffd5c1e3a40 "log" (normal), created at 0x55d0c2a01234 (bank+0x1234)'
    has out '     #0 0x55d0c2a01400 (bank+0x1400)'
    has out '   held_ms: 250'
    has out '== lock-convoy #1 (pid 77)'
    has out '== priority-inversion #2 (pid 77)'
    has out 'lockgraph: 3 findings (2 priority-inversion, 1 lock-convoy) in 1 process'
    has err 'note: 3 findings of a kind this lockgraph does not know ("priority-inversion" on line 1, ...)'
    run_lg 0 report "$DATA/empty.jsonl"
    has out 'lockgraph: no findings; report: '
    # Only detector errors: nothing found.
    printf '%s\n' '{"kind":"detector-error","pid":1,"error":"out-of-memory","message":"m"}' >"$work/de.jsonl"
    run_lg 0 report "$work/de.jsonl"
    has out 'lockgraph: no findings; 1 detector error'
    run_lg 0 report --format json "$DATA/empty.jsonl"
    has out '"distinct": 0'
    ;;
report-kinds)
    # Findings recorded from real runs (record_findings.sh). The same
    # deadlock in two runs is one distinct finding, shown once.
    run_lg 1 report "$DATA/deadlock-two.jsonl" "$DATA/deadlock-two-rerun.jsonl" "$DATA/deadlock-three.jsonl"
    has out '== DEADLOCK #1 (pid 30315): 2 threads are blocked on each other (now, not a prediction)'
    has out "   seen 2 times, in 2 processes: $DATA/deadlock-two.jsonl:2 (pid 30315), $DATA/deadlock-two-rerun.jsonl:2 (pid 30323)"
    has out '== DEADLOCK #2 (pid 30331): 3 threads are blocked on each other (now, not a prediction)'
    has out 'lockgraph: 4 distinct findings (2 lock-order-cycle, 2 deadlock) from 6 findings in 3 processes'
    [ "$(grep -c '^== DEADLOCK' "$work/out")" = 2 ] || fail "the rerun's deadlock shown again"
    run_lg 1 report --no-dedupe "$DATA/deadlock-two.jsonl" "$DATA/deadlock-two-rerun.jsonl"
    [ "$(grep -c '^== DEADLOCK' "$work/out")" = 2 ] || fail "--no-dedupe merged the deadlocks"

    # SARIF: a rule per kind, deadlock an error located where the first
    # thread waits (sc_deadlock+0x127b), the rest warnings.
    all="$DATA/deadlock-two.jsonl $DATA/deadlock-two-rerun.jsonl $DATA/long-wait.jsonl $DATA/long-hold.jsonl $DATA/io-fd.jsonl $DATA/io-socket.jsonl"
    # shellcheck disable=SC2086
    run_lg 1 report --format sarif -o "$work/k.sarif" $all
    "$CHECK_SARIF" "$work/k.sarif" 13 >"$work/check" || { fail "SARIF invalid:"; cat "$work/check"; }
    tr -d ' \n' <"$work/k.sarif" >"$work/flat"
    for rule in deadlock:error long-wait:warning long-hold:warning held-across-io:warning; do
        id=${rule%%:*} level=${rule#*:}
        grep -q "\"id\":\"$id\",\"name\":\"[A-Za-z]*\",\"shortDescription\":{[^}]*},\"fullDescription\":{[^}]*},\"defaultConfiguration\":{\"level\":\"$level\"}" "$work/flat" ||
            fail "SARIF: no rule $id of level $level"
        grep -q "\"ruleId\":\"$id\",\"ruleIndex\":[0-9]*,\"level\":\"$level\"" "$work/flat" ||
            fail "SARIF: no $level result of rule $id"
    done
    grep -q 'from a newer lockgraph library' "$work/flat" && fail "SARIF: a new kind taken for an unknown one"
    grep -q '"ruleId":"deadlock",.*"message":{"text":"Deadlock(now,notaprediction):2threadsareblockedoneachother:thread2holdsL1mutex0x55b37425f0c0andwaitsforL2mutex0x55b37425f100at0x55b37425c27b(sc_deadlock+0x127b);thread3holdsL2' "$work/flat" ||
        fail "SARIF: the deadlock's message"
    grep -q '"ruleId":"deadlock",.*"locations":\[{"physicalLocation":{"artifactLocation":{"uri":"file:///nonexistent/lockgraph-test/sc_deadlock"},"address":{"relativeAddress":4731}}' "$work/flat" ||
        fail "SARIF: the deadlock is not located where thread 2 waits"
    grep -q '"threadFlows":\[{"id":"thread2"' "$work/flat" || fail "SARIF: no thread flow of the deadlock"
    grep -q 'Lockheldacross' "$work/flat" || fail "SARIF: no held-across-io message"
    grep -q '100000callsfromthesesites' "$work/flat" || fail "SARIF: the pair's final count"
    has err 'lockgraph: 13 distinct findings (1 lock-order-cycle, 1 deadlock, 1 long-wait, 1 long-hold, 9 held-across-io) from 15 findings in 6 processes'

    # HTML: each kind an article of its own class, the deadlock's table in it.
    # shellcheck disable=SC2086
    LOCKGRAPH_DOT=/nonexistent/dot run_lg 1 report --format html -o "$work/k.html" $all
    for k in deadlock long-wait long-hold held-across-io; do
        grep -q "<article class=\"$k\"" "$work/k.html" || fail "HTML: no $k article"
    done
    grep -q 'article.deadlock{border-left-color:#cf222e}' "$work/k.html" || fail "HTML: no style for deadlock"
    grep -q '2 &quot;sc_deadlock&quot;  L1 0x55b37425f0c0 (mutex)  L2 0x55b37425f100 (mutex)  thread 3' "$work/k.html" ||
        fail "HTML: no deadlock table row"
    ;;
report-bad-input)
    # A last line cut short (the process was killed mid-write): a warning
    # naming file and line; the lines before it are used.
    { head -n 2 "$DATA/cycle.jsonl"; printf '{"kind": "held-at-exit", "version": 1, "se'; } >"$work/cut.jsonl"
    run_lg 1 report "$work/cut.jsonl"
    has err "cut.jsonl:3: warning: last line is incomplete (the process died while writing it?); ignored"
    has out '== lock-order-cycle #1'
    # Garbage and a bad field: file:line and why; the rest still used.
    run_lg 1 report "$DATA/corrupt.jsonl"
    has err 'corrupt.jsonl:2: corrupt line skipped: held-at-exit: "lock" is not an object'
    has err 'corrupt.jsonl:3: corrupt line skipped: not valid JSON'
    has out 'held-at-exit'
    # Nothing found, but a line could not be read: 2, not a clean 0.
    printf 'garbage\n\000\001binary\n' >"$work/garbage.jsonl"
    run_lg 2 report "$work/garbage.jsonl"
    has err 'garbage.jsonl:1: corrupt line skipped: not valid JSON'
    has err 'garbage.jsonl:2: corrupt line skipped'
    # An empty file is a process that found nothing: said, and exit 0.
    : >"$work/empty.jsonl"
    run_lg 0 report "$work/empty.jsonl"
    has err "$work/empty.jsonl: note: empty: no findings"
    # A missing file: named; the other files still reported.
    run_lg 2 report "$work/missing.jsonl"
    has err "cannot open $work/missing.jsonl: No such file or directory"
    run_lg 1 report "$DATA/cycle.jsonl" "$work/missing.jsonl"
    has err "cannot open $work/missing.jsonl"
    has out '; 1 unreadable file; report: 2 files'
    # A kind from a newer runtime: shown and counted, not an error.
    run_lg 1 report "$DATA/future.jsonl"
    # A graph file is not findings: named as such.
    run_lg 2 report "$DATA/graph-cycle-a.jsonl"
    has err 'graph-cycle-a.jsonl:1: a graph file (written by graph=), not a findings file: read it with lockgraph merge'
    # A directory, and bad usage.
    run_lg 2 report "$work"
    run_lg 2 report
    has err 'lockgraph report: no findings file given'
    run_lg 2 report --format xml "$DATA/cycle.jsonl"
    has err "unknown format 'xml'"
    run_lg 2 report -o
    run_lg 2 report -o "$work/no/such/dir/r.txt" "$DATA/cycle.jsonl"
    has err "cannot write $work/no/such/dir/r.txt"
    # SARIF of bad input: the run says it did not fully succeed.
    run_lg 2 report --format sarif "$work/garbage.jsonl"
    tr -d ' \n' <"$work/out" | grep -q '"executionSuccessful":false' ||
        fail "SARIF of unreadable input claims success"
    ;;
garbage)
    # 1 MB of binary garbage: the first lines named, the rest counted in
    # one line; nothing found, input unreadable: 2.
    head -c 1000000 /dev/urandom >"$work/random.bin"
    run_lg 2 report "$work/random.bin"
    [ "$(grep -c 'corrupt line skipped' "$work/err")" -le 10 ] ||
        fail "$(grep -c 'corrupt line skipped' "$work/err") problem lines named, wanted 10 at most"
    has err "random.bin: ... and "
    has err 'more unreadable lines (the first 10 are named)'
    [ "$(wc -l <"$work/err")" -le 15 ] || fail "garbage made $(wc -l <"$work/err") lines of messages"
    run_lg 2 show "$work/random.bin"
    [ "$(wc -l <"$work/err")" -le 15 ] || fail "show: garbage made $(wc -l <"$work/err") lines"
    # Nothing but garbage, not even a newline: unreadable (2), as the
    # README says, not "no findings" and 0.
    printf '\177ELF\002\001\001 not a findings file' >"$work/elf.jsonl"
    run_lg 2 report "$work/elf.jsonl"
    has err 'elf.jsonl:1: corrupt line skipped: not valid JSON (and no newline at the end)'
    has out '1 unreadable line skipped'
    run_lg 2 show "$work/elf.jsonl"
    # A writer cut short is not garbage: a warning, and 0.
    printf '{"kind": "held-at-exit", "version": 1, "se' >"$work/cut.jsonl"
    run_lg 0 report "$work/cut.jsonl"
    has err 'cut.jsonl:1: warning: last line is incomplete'
    # Endless input without a newline ends with an error, not a hang.
    run_lg 2 report /dev/zero
    has err '/dev/zero:1: no end of line in 256 MiB: not a findings file'
    run_lg 2 show /dev/zero
    has err 'stopped reading it'
    run_lg 2 dot /dev/zero
    run_lg 2 merge /dev/zero
    has err 'not a graph file (binary data, or endless input?)'
    # A line over 16 MiB is refused by file:line; the rest is still read.
    { head -n 1 "$DATA/cycle.jsonl"; head -c 17000000 /dev/zero | tr '\0' 'x'; echo;
      tail -n +2 "$DATA/cycle.jsonl"; } >"$work/long.jsonl"
    run_lg 1 report "$work/long.jsonl"
    has err 'long.jsonl:2: line of 17000000 bytes is longer than the 16 MiB a line may have; skipped'
    has out 'lockgraph: 3 findings (1 lock-order-cycle, 1 held-at-exit, 1 deadlock-from-the-future)'
    has out '1 unreadable line skipped'
    ;;
output-files)
    # No input could be read: no report file, no picture, nothing
    # clobbered; said, exit 2.
    printf 'garbage\n' >"$work/garbage.jsonl"
    for args in "--format html -o $work/x.html" "--format sarif -o $work/x.sarif" \
        "--format json -o $work/x.json" "-o $work/x.txt"; do
        # shellcheck disable=SC2086
        run_lg 2 report $args "$work/missing.jsonl" "$work/garbage.jsonl"
        has err 'no input could be read;'
    done
    for f in x.html x.sarif x.json x.txt; do
        [ -e "$work/$f" ] && fail "$f written though no input could be read"
    done
    echo 'the old report' >"$work/old.html"
    run_lg 2 report --format html -o "$work/old.html" "$work/missing.jsonl"
    [ "$(cat "$work/old.html")" = 'the old report' ] || fail "an unreadable input clobbered old.html"
    run_lg 2 dot -o "$work/x.dot" "$work/garbage.jsonl"
    [ -e "$work/x.dot" ] && fail "dot -o wrote x.dot from garbage"
    if command -v dot >/dev/null 2>&1; then
        run_lg 2 dot --svg "$work/x.svg" "$work/missing.jsonl"
        has err "no input could be read; $work/x.svg not written"
        [ -e "$work/x.svg" ] && fail "dot --svg wrote x.svg though no input could be read"
    fi
    run_lg 2 merge -o "$work/m.txt" "$work/missing.jsonl"
    [ -e "$work/m.txt" ] && fail "merge -o wrote m.txt though no input could be read"
    # Some input read: the file is written (the problems said), exit 2.
    run_lg 1 report --format sarif -o "$work/y.sarif" "$DATA/cycle.jsonl" "$work/missing.jsonl"
    [ -s "$work/y.sarif" ] || fail "report -o wrote nothing though a file was read"
    # An empty findings file is a process that found nothing: a report.
    : >"$work/empty.jsonl"
    run_lg 0 report --format html -o "$work/e.html" "$work/empty.jsonl"
    [ -s "$work/e.html" ] || fail "report -o wrote nothing for an empty findings file"
    left=$(find "$work" -maxdepth 1 \( -name '*.html.*' -o -name '*.sarif.*' -o -name '*.json.*' \
        -o -name '*.txt.*' -o -name '*.dot.*' \))
    [ -z "$left" ] || fail "temporary files left: $left"
    ;;
utf8)
    # Names that are not UTF-8 (a file name in another encoding, from the
    # program or the file system) are written as U+FFFD: JSON, SARIF, HTML
    # and DOT stay valid.
    bad=$(printf 'caf\351')
    printf '{"kind":"self-deadlock","version":1,"seq":1,"pid":1,"modules":[{"path":"/nonexistent/%s/libx.so","base":"0x1000","end":"0x9000"}],"lock":{"id":1,"addr":"0x10","type":"mutex","name":"na\357ve \377 lock","stack":["0x1234"]},"thread":{"tid":1,"seq":1,"name":"t\351"},"first_stack":["0x1234"],"second_stack":["0x1240"]}\n' \
        "$bad" >"$work/$bad.jsonl"
    for fmt in json sarif html; do
        run_lg 1 report --format "$fmt" -o "$work/u.$fmt" "$work/$bad.jsonl"
        iconv -f UTF-8 -t UTF-8 "$work/u.$fmt" >/dev/null 2>&1 || fail "$fmt output is not valid UTF-8"
        grep -q "$(printf '\357\277\275')" "$work/u.$fmt" || fail "$fmt output has no U+FFFD"
    done
    "$CHECK_SARIF" "$work/u.sarif" 1 >"$work/check" || { fail "SARIF invalid:"; cat "$work/check"; }
    run_lg 1 report --format json "$work/$bad.jsonl"
    iconv -f UTF-8 -t UTF-8 "$work/out" >/dev/null 2>&1 || fail "JSON on stdout is not valid UTF-8"
    run_lg 0 dot "$work/$bad.jsonl"
    iconv -f UTF-8 -t UTF-8 "$work/out" >/dev/null 2>&1 || fail "DOT is not valid UTF-8"
    # Valid UTF-8 goes through as it is.
    printf '{"kind":"self-deadlock","pid":1,"lock":{"id":1,"addr":"0x10","type":"mutex","name":"caf\303\251 \342\202\254"},"thread":{"tid":1,"seq":1},"first_stack":[],"second_stack":[]}\n' >"$work/ok.jsonl"
    run_lg 1 report --format json "$work/ok.jsonl"
    has out "$(printf 'caf\303\251 \342\202\254')"
    ;;
suppressions)
    cat >"$work/supp.txt" <<'EOF'
# accepted: the worker queue is handed over on purpose
kind:held-at-exit lock:queue

lock:account?1   # matches "account 1"
EOF
    run_lg 1 report --suppressions "$work/supp.txt" "$DATA/cycle.jsonl"
    lacks out '== held-at-exit'
    lacks out '== lock-order-cycle'
    has out "suppressed 1 finding by $work/supp.txt:2 (kind:held-at-exit lock:queue)"
    has out "suppressed 1 finding by $work/supp.txt:4 (lock:account?1)"
    has out 'lockgraph: 1 finding (1 deadlock-from-the-future) in 1 process; 2 suppressed'
    # Everything suppressed: nothing found.
    printf 'kind:*\n' >"$work/all.txt"
    run_lg 0 report --suppressions "$work/all.txt" "$DATA/cycle.jsonl"
    has out '; 4 suppressed'
    # Named in LOCKGRAPH_OPTIONS, as the library accepts it.
    LOCKGRAPH_OPTIONS="quiet=1:suppressions=$work/all.txt" run_lg 0 report "$DATA/cycle.jsonl"
    has out '; 4 suppressed'
    # Function patterns match symbolized frames, file patterns source files.
    record g report
    printf 'function:transfer\nfile:*golden_prog.c kind:held-at-exit\n' >"$work/fn.txt"
    run_lg 1 report --suppressions "$work/fn.txt" "$work/g.jsonl"
    lacks out '== lock-order-cycle'
    lacks out '== held-at-exit'
    has out '; 2 suppressed'
    # A bad suppressions file stops the report: file:line and why.
    printf 'lock:ok\nfrobnicate\n' >"$work/bad.txt"
    run_lg 2 report --suppressions "$work/bad.txt" "$DATA/cycle.jsonl"
    has err "$work/bad.txt:2: bad suppression: 'frobnicate' is not a pattern"
    [ -s "$work/out" ] && fail "a report was printed despite a bad suppressions file"
    run_lg 2 report --suppressions "$work/none.txt" "$DATA/cycle.jsonl"
    has err "cannot open suppressions file $work/none.txt"
    # show and run apply them too.
    run_lg 66 show --suppressions "$work/supp.txt" "$DATA/cycle.jsonl"
    has out '2 suppressed'
    LOCKGRAPH_OPTIONS="suppressions=$work/all.txt" run_lg 0 show "$DATA/cycle.jsonl"
    # SARIF and JSON say so.
    run_lg 1 report --format json --suppressions "$work/supp.txt" "$DATA/cycle.jsonl"
    has out '"suppressed": 2'
    ;;
dot)
    need_dot
    record g report
    run_lg 0 dot "$work/g.jsonl"
    has out 'digraph lockgraph {'
    has out '\"savings\"'
    has out 'color="#c00000"'
    dot -Tcanon "$work/out" >"$work/canon" 2>"$work/dot-err" || { fail "dot rejects our DOT:"; cat "$work/dot-err"; }
    grep -q 'n0 -> n1' "$work/canon" || fail "DOT parsed back lacks the cycle's edge"
    run_lg 0 dot --svg "$work/g.svg" "$work/g.jsonl"
    [ -s "$work/out" ] && fail "--svg alone also wrote DOT to stdout"
    grep -q '<svg' "$work/g.svg" || fail "--svg wrote no SVG"
    grep -q 'savings' "$work/g.svg" || fail "the SVG does not name the locks"
    run_lg 0 dot -o "$work/g.dot" --svg "$work/g2.svg" "$work/g.jsonl"
    dot -Tsvg "$work/g.dot" >/dev/null || fail "dot rejects -o's DOT"
    # Names that could break a DOT file do not.
    printf '%s\n' '{"kind":"self-deadlock","pid":1,"lock":{"id":1,"addr":"0x10","type":"mutex","name":"a \"quoted\" \\ name\nnext"},"thread":{"tid":1,"seq":1},"first_stack":[],"second_stack":[]}' >"$work/q.jsonl"
    run_lg 0 dot "$work/q.jsonl"
    dot -Tcanon "$work/out" >/dev/null 2>"$work/dot-err" || { fail "dot rejects escaped names:"; cat "$work/dot-err"; }
    # Two locks of one class inverted (an instance cycle, sc_classes
    # nest-any): each lock its own node, in a box naming their class, not
    # a loop on the class's one node (which reads as one lock taken twice).
    run_lg 0 dot "$DATA/classes-nest-any.jsonl"
    has out 'subgraph cluster_'
    has out 'label="2 locks of one class: site:sc_classes+0x1722\nevery mutex (normal) made at '
    has out 'n0 [label="mutex 0x55d6717393b8"'
    has out 'n1 [label="mutex 0x55d671739318"'
    has out '  n0 -> n1 [label="#1 thread 2'
    has out '  n1 -> n0 [label="#1 thread 1'
    grep -Eq '^ *n([0-9]+) -> n\1 ' "$work/out" && fail "DOT: a same-class instance cycle drawn as a loop"
    dot -Tcanon "$work/out" >"$work/canon" 2>"$work/dot-err" || { fail "dot rejects the box:"; cat "$work/dot-err"; }
    grep -q 'subgraph cluster_0' "$work/canon" || fail "Graphviz lost the box"
    # The HTML report's picture is the same drawing.
    run_lg 1 report --format html -o "$work/nest.html" "$DATA/classes-nest-any.jsonl"
    grep -q '2 locks of one class' "$work/nest.html" || fail "HTML: the picture has no box of one class"
    # Two locks of one class nested against their order: the same.
    run_lg 0 dot "$DATA/ranks.jsonl"
    has out 'label="2 locks of one class'
    has out 'label="rank-violation #2 (same-class)"'
    grep -Eq '^ *n([0-9]+) -> n\1 ' "$work/out" && fail "DOT: a same-class rank violation drawn as a loop"
    # A cycle between classes keeps one node per class; a lock taken twice
    # by its thread is still a loop.
    run_lg 0 dot "$DATA/classes-conn.jsonl"
    lacks out 'subgraph cluster_'
    has out 'label="class site:sc_classes+0x'
    run_lg 0 dot "$DATA/kinds.jsonl"
    grep -Eq '^ *n([0-9]+) -> n\1 \[label="self-deadlock #1' "$work/out" || fail "DOT: the self-deadlock is no loop"
    # Graph files: the union, its cycle in red, each edge's run named.
    run_lg 0 dot "$DATA/graph-cycle-a.jsonl" "$DATA/graph-cycle-b.jsonl"
    has out 'label="#1: 1x\ngraph-cycle-b.jsonl", color="#c00000"'
    dot -Tcanon "$work/out" >/dev/null || fail "dot rejects the union's DOT"
    run_lg 2 dot "$DATA/graph-cycle-a.jsonl" "$DATA/cycle.jsonl"
    has err 'give findings files or graph files, not both'
    # No Graphviz: --svg says so and fails; plain DOT still works.
    LOCKGRAPH_DOT=/nonexistent/dot run_lg 2 dot --svg "$work/x.svg" "$work/g.jsonl"
    has err '--svg needs Graphviz'"'"'s dot program, which is not installed'
    LOCKGRAPH_DOT=/nonexistent/dot run_lg 0 dot "$work/g.jsonl"
    run_lg 2 dot "$work/missing.jsonl"
    has err "cannot open $work/missing.jsonl"
    ;;
html)
    record g report
    run_lg_src 1 report --format html -o "$work/g.html" "$work/g.jsonl"
    has err 'lockgraph: 5 findings'
    page="$work/g.html"
    grep -q '<!DOCTYPE html>' "$page" || fail "not an HTML page"
    grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$page" || fail "no CSP"
    grep -q '<details class="stack"><summary>' "$page" || fail "stacks are not folded"
    grep -q 'transfer (tests/tool/golden_prog.c:35)' "$page" || fail "no symbolized frame"
    # Self-contained: nothing fetched from anywhere.
    if grep -Eiq '(src|href)=["'"'"']?(https?:|//)|@import|url\(' "$page"; then
        fail "the page refers to something outside itself"
    fi
    if command -v dot >/dev/null 2>&1; then
        grep -q '<svg' "$page" || fail "Graphviz is installed but the page has no picture"
    fi
    # Without Graphviz: a list of each cycle instead.
    LOCKGRAPH_DOT=/nonexistent/dot run_lg 1 report --format html -o "$work/nodot.html" "$work/g.jsonl"
    grep -q '<ol class="cycles">' "$work/nodot.html" || fail "no cycle list without Graphviz"
    grep -q '<svg' "$work/nodot.html" && fail "a picture without Graphviz?"
    has err "Graphviz's dot is not installed; the page lists each cycle"
    # Names from the program are escaped.
    printf '%s\n' '{"kind":"self-deadlock","pid":1,"lock":{"id":1,"addr":"0x10","type":"mutex","name":"<script>alert(1)</script>"},"thread":{"tid":1,"seq":1},"first_stack":[],"second_stack":[]}' >"$work/x.jsonl"
    run_lg 1 report --format html "$work/x.jsonl"
    lacks out '<script>alert'
    has out '&lt;script&gt;alert(1)&lt;/script&gt;'
    ;;
html-browser)
    # The page in a real headless browser: it loads, its script runs to the
    # end, nothing is blocked or logged as an error, and the DOM shows the
    # cycle's locks, the picture and the folded stacks.
    browser=$(chromium_bin) || skip "chromium is not installed (apt-get install chromium)"
    record g report
    run_lg 1 report --format html -o "$work/g.html" "$work/g.jsonl"
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --user-data-dir="$work/profile" \
        --enable-logging=stderr --v=0 --dump-dom "file://$work/g.html" \
        >"$work/dom" 2>"$work/console"
    rc=$?
    [ $rc = 0 ] || { fail "chromium exited $rc"; tail -20 "$work/console"; }
    grep -q 'data-lockgraph="ready"' "$work/dom" || { fail "the page's script did not run to its end"; tail -20 "$work/console"; }
    if command -v dot >/dev/null 2>&1; then
        grep -q '<svg' "$work/dom" || fail "the DOM shows no cycle picture"
    else
        grep -q '<ol class="cycles">' "$work/dom" || fail "the DOM shows no cycle list"
    fi
    grep -q 'savings' "$work/dom" || fail "the DOM does not name the lock savings"
    grep -q 'checking' "$work/dom" || fail "the DOM does not name the lock checking"
    grep -q '<details class="stack">' "$work/dom" || fail "the DOM has no folded stacks"
    grep -q 'lock-order-cycle #1' "$work/dom" || fail "the DOM lacks the finding"
    if grep -E 'CONSOLE|Uncaught|Refused to|Content Security Policy|net::ERR' "$work/console" >"$work/errors"; then
        fail "the browser logged errors:"
        cat "$work/errors"
    fi
    ;;
merge)
    # Two handcrafted runs: each has half of a cycle.
    run_lg 1 merge "$DATA/graph-cycle-a.jsonl" "$DATA/graph-cycle-b.jsonl"
    has out '== merged lock-order-cycle #1: potential deadlock among 2 locks; only the union of the runs shows it'
    has out "   edge L1 -> L2, from $DATA/graph-cycle-a.jsonl (pid 300), 3 instances:"
    has out "   edge L2 -> L1, from $DATA/graph-cycle-b.jsonl (pid 400), 1 instance:"
    has out "     one instance, $DATA/graph-cycle-b.jsonl:4, by thread 3 \"right\" (tid 401):"
    has out '       #0 0x55d0c2a02310 (bank+0x2310)'
    has out "     $DATA/graph-cycle-a.jsonl has L1 -> L2"
    has out '<- waits for thread A: deadlock'
    has out 'lockgraph merge: 1 lock-order cycle (1 only in the union, 0 already in one run) in the union of 2 graph files: 3 keys, 3 edges'
    run_lg 0 merge "$DATA/graph-cycle-a.jsonl"
    has out 'lockgraph merge: no lock-order cycle in the union of 1 graph file'
    run_lg 0 merge "$DATA/graph-clean-a.jsonl" "$DATA/graph-clean-b.jsonl"
    run_lg 1 merge --format json "$DATA/graph-cycle-a.jsonl" "$DATA/graph-cycle-b.jsonl"
    has out '"only_in_union": true'
    has out '"from_key": "name:alpha"'
    # Suppressed by key or name.
    printf 'lock:alpha\n' >"$work/s.txt"
    run_lg 0 merge --suppressions "$work/s.txt" "$DATA/graph-cycle-a.jsonl" "$DATA/graph-cycle-b.jsonl"
    has out '; 1 suppressed'
    # Bad input: named; the rest merged.
    run_lg 2 merge "$DATA/graph-cycle-a.jsonl" "$work/missing.jsonl"
    has err "cannot open $work/missing.jsonl"
    has out '1 unreadable file'
    run_lg 1 merge "$DATA/graph-cycle-a.jsonl" "$DATA/graph-cycle-b.jsonl" "$DATA/graph-garbage.jsonl"
    has err 'graph-garbage.jsonl:1: not a graph file: not valid JSON'
    run_lg 0 merge "$DATA/graph-truncated.jsonl"
    has err 'graph-truncated.jsonl: warning: no graph-end line'
    run_lg 2 merge "$DATA/cycle.jsonl"
    has err 'not a graph file'
    run_lg 2 merge
    has err 'lockgraph merge: no graph file given'

    # Real runs of a real program: one takes savings then checking, the
    # other checking then savings. Neither run's findings has a cycle;
    # merging their graph files finds it, names both runs and points at
    # transfer() in golden_prog.c.
    record left left "graph=$work/left.graph.jsonl"
    record right right "graph=$work/right.graph.jsonl"
    grep -q lock-order-cycle "$work/left.jsonl" "$work/right.jsonl" && fail "a single run had the cycle"
    run_lg_src 1 merge "$work/left.graph.jsonl" "$work/right.graph.jsonl"
    has out 'only the union of the runs shows it'
    # Named locks are lock classes (class_kind name): said as such.
    has out 'potential deadlock between 2 lock classes; only the union of the runs shows it'
    has out 'class C1 name:checking: mutex "checking"'
    has out "from $work/left.graph.jsonl (pid"
    has out "from $work/right.graph.jsonl (pid"
    has out '#0 transfer (tests/tool/golden_prog.c:34)'
    has out '#1 teller_to_savings (tests/tool/golden_prog.c:50)'
    has out '#1 teller_to_checking (tests/tool/golden_prog.c:43)'
    run_lg 0 merge "$work/left.graph.jsonl" "$work/left.graph.jsonl"

    # What the graph files' vertices are: lock classes (classes=1, the
    # default), or one lock each (classes=0); every count and label says
    # which. class_prog conn: conn1 -> table, table -> conn2.
    run_prog "$CLASS_PROG" m-cls conn "graph=$work/cls.graph.jsonl"
    run_prog "$CLASS_PROG" m-inst conn "classes=0:graph=$work/inst.graph.jsonl"
    run_lg 1 merge "$work/cls.graph.jsonl"
    has out 'potential deadlock between 2 lock classes;'
    has out '   class C1 site:class_prog+0x'
    has out '   class C2 site:class_prog+0x'
    has out '   edge C1 -> C2, from '
    has out '     holds a C1 lock, taken at:'
    has out '     then takes a C2 lock at:'
    has out 'Possible scenario, when these paths run at once in one process, on the same C1 lock and C2 lock:'
    has out '       lock(C1)'
    has out 'Fix: take locks of these classes in one order everywhere'
    has out 'in the union of 1 graph file: 2 lock classes, 2 edges'
    lacks out 'lock L1'
    lacks out 'among 2 locks'
    lacks out ' keys, '
    run_lg 1 merge "$work/inst.graph.jsonl"
    has out 'potential deadlock among 2 locks;'
    has out '   lock L1 site:class_prog+0x'
    has out '   edge L1 -> L2, from '
    has out '     holds L1, taken at:'
    has out 'in the union of 1 graph file: 2 keys, 2 edges'
    lacks out 'class C1'
    lacks out 'lock class'
    run_lg 1 merge --format json "$work/cls.graph.jsonl"
    has out '"scope": "class"'
    has out '"classes": true'
    run_lg 1 merge --format json "$work/inst.graph.jsonl"
    has out '"scope": "instance"'
    has out '"classes": false'
    # A file cut short says what it used in the same words.
    head -n 2 "$work/cls.graph.jsonl" >"$work/cut.graph.jsonl"
    run_lg 0 merge "$work/cut.graph.jsonl"
    has err 'using the 1 lock class and 0 edges read'
    head -n 2 "$work/inst.graph.jsonl" >"$work/cut.graph.jsonl"
    run_lg 0 merge "$work/cut.graph.jsonl"
    has err 'using the 1 lock and 0 edges read'
    grep -v '"graph-edge"' "$work/cls.graph.jsonl" >"$work/miscount.graph.jsonl"
    run_lg 0 merge "$work/miscount.graph.jsonl"
    has err 'warning: graph-end counts 2 lock classes and 2 edges, 2 and 0 were read'
    # ranks: the cycle, and the rank file's header.
    run_lg 1 ranks "$work/cls.graph.jsonl"
    has err 'together they have a cycle of 2 lock classes, a potential deadlock'
    has err '   class C1 site:class_prog+0x'
    has err '   edge C1 -> C2, in '
    run_lg 1 ranks "$work/inst.graph.jsonl"
    has err 'together they have a cycle of 2 locks, a potential deadlock'
    has err '   lock L1 site:class_prog+0x'
    run_lg 0 ranks "$work/miscount.graph.jsonl"
    has out "# A lock class's rank is 10 x (1 + the longest chain of lock classes taken"
    # dot of graph files: class nodes labelled as the findings' picture does.
    run_lg 0 dot "$work/cls.graph.jsonl"
    has out 'the union of the lock-class graphs'
    has out 'label="class site:class_prog+0x'
    run_lg 0 dot "$work/inst.graph.jsonl"
    has out 'the union of the lock graphs'
    lacks out 'label="class '
    ;;
classes)
    # Real lock-class findings of class_prog (built -g -O0): a cycle
    # between classes (locks made directly, and through a mutex_create()
    # wrapper), a lock freed and one destroyed while held.
    keep_src=class_prog
    for m in conn helper freed destroy; do
        run_prog "$CLASS_PROG" "c-$m" "$m" on_wait=off
    done
    set -- "$work/c-conn.jsonl" "$work/c-helper.jsonl" "$work/c-freed.jsonl" "$work/c-destroy.jsonl"
    run_lg_src 1 report "$@"
    normalize "$work/out" >"$work/got"
    [ -n "${LG_SAVE_GOLDEN:-}" ] && cp "$work/got" "$LG_SAVE_GOLDEN"
    if ! diff -u "$DATA/golden-classes.expected" "$work/got" >"$work/diff"; then
        fail "report differs from golden-classes.expected (after normalizing):"
        cat "$work/diff"
    fi
    # The same with every lock its own class (classes=0): no cycle between
    # classes, nothing found in conn.
    run_prog "$CLASS_PROG" c-off conn classes=0
    [ -e "$work/c-off.jsonl" ] && fail "classes=0 still reported: $(cat "$work/c-off.jsonl")"
    # run prints the class cycle, and fails the run.
    LOCKGRAPH_LIB="$LIB" run_lg 66 run --report "$work/r.%p.jsonl" -- "$CLASS_PROG" helper
    has err 'potential deadlock between 2 lock classes (did not hang in this run)'
    has err 'made by mutex_create ('
    has err ') called from conn_new ('

    # JSON: as written, the class sites symbolized beside them.
    run_lg_src 1 report --format json "$@"
    has out '"scope": "class"'
    has out '"lock_class": {'
    has out '"site_symbolized": ['
    has out '"function": "mutex_create"'
    has out '"holder_stack_symbolized": ['
    has out '"call": "pthread_rwlock_destroy"'

    # SARIF: valid; the class cycle's message names its classes by where
    # their locks are made; held-lock-freed a rule of its own.
    run_lg_src 1 report --format sarif -o "$work/c.sarif" "$@"
    "$CHECK_SARIF" "$work/c.sarif" 4 >"$work/check" || { fail "SARIF invalid:"; cat "$work/check"; }
    tr -d ' \n' <"$work/c.sarif" >"$work/flat"
    grep -q '"text":"Potentialdeadlockbetween2lockclasses:neverononepairoflocksinthisrun' "$work/flat" ||
        fail "SARIF: the class cycle's message"
    grep -q 'holdsaC1lock(everymutex(normal)madebymutex_create(tests/tool/class_prog.c:[0-9]*)calledfromtable_new(tests/tool/class_prog.c:[0-9]*))' "$work/flat" ||
        fail "SARIF: the wrapper's class by its caller"
    grep -q '"scope":"class"' "$work/flat" || fail "SARIF: no scope property"
    grep -q '"id":"held-lock-freed","name":"HeldLockFreed"' "$work/flat" || fail "SARIF: no held-lock-freed rule"
    grep -q '"ruleId":"held-lock-freed",[^}]*"level":"warning","message":{"text":"Heldlockdestroyed:thread1destroysrwlock0x[0-9a-f]*atdestroy(tests/tool/class_prog.c:[0-9]*)(pthread_rwlock_destroy)whilethread2holdsitforreading."' "$work/flat" ||
        fail "SARIF: the held-lock-freed message"
    grep -q 'from a newer lockgraph library' "$work/flat" && fail "SARIF: held-lock-freed taken for an unknown kind"

    # HTML: an article per kind; without Graphviz, classes in the list.
    LOCKGRAPH_DOT=/nonexistent/dot run_lg 1 report --format html -o "$work/c.html" "$@"
    grep -q '<article class="held-lock-freed"' "$work/c.html" || fail "HTML: no held-lock-freed article"
    grep -q 'article.held-lock-freed{' "$work/c.html" || fail "HTML: no style for held-lock-freed"
    grep -q '<h3>== lock-order-cycle #1 (pid [0-9]*): potential deadlock between 2 lock classes</h3>' "$work/c.html" ||
        fail "HTML: no class cycle"
    grep -q '<li value="1">\[class: every mutex (normal) made at table_new' "$work/c.html" ||
        fail "HTML: the cycle list does not name classes"

    # DOT: a node per class, each edge with the two locks it was taken on.
    run_lg_src 0 dot "$work/c-conn.jsonl" "$work/c-helper.jsonl"
    has out 'label="class site:class_prog+0x'
    has out 'every mutex (normal) made by mutex_create (tests/tool/class_prog.c:'
    has out '\ncalled from conn_new ('
    [ "$(grep -c ' -> n[0-9]* \[label="#[12] thread [12]\\n.*\\non 0x[0-9a-f]* -> 0x[0-9a-f]*"' "$work/out")" = 4 ] ||
        fail "DOT: the class edges do not name their locks"

    # Suppressed by class key, by the wrapper's caller, by kind.
    key=$(grep -o '"key":"site:class_prog+0x[0-9a-f]*<[^"]*"' "$work/c-helper.jsonl" | head -n 1 | cut -d'"' -f4)
    printf 'lock:%s\n' "$key" >"$work/s1.txt"
    run_lg 1 report --suppressions "$work/s1.txt" "$@"
    has out '; 1 suppressed;'
    printf 'function:conn_new kind:lock-order-cycle\nkind:held-lock-freed\n' >"$work/s2.txt"
    run_lg 0 report --suppressions "$work/s2.txt" "$@"
    has out 'lockgraph: no findings; 4 suppressed'
    ;;
fold)
    # An init helper inlined in two places (fold_prog, -O2 -g): the
    # library sees two classes, the tools one source line.
    run_prog "$FOLD_PROG" f-cycle graph-cycle "graph=$work/g-cycle.jsonl"
    run_prog "$FOLD_PROG" f-order graph-order "graph=$work/g-order.jsonl"
    [ -e "$work/f-cycle.jsonl" ] && fail "the library folded the classes itself: $(cat "$work/f-cycle.jsonl")"
    [ "$(grep -c '"kind":"graph-lock","key":"site:fold_prog+0x' "$work/g-cycle.jsonl")" = 2 ] ||
        fail "fold_prog: not two init sites (was guard_init inlined twice?): $(cat "$work/g-cycle.jsonl")"
    # merge: g -> the class, the class -> g: one cycle, one class.
    run_lg 1 merge "$work/g-cycle.jsonl"
    has out '== merged lock-order-cycle #1: potential deadlock between 2 lock classes'
    has out ': mutex, 2 instances, created at guard_init ('
    has out '; one class with site:fold_prog+0x'
    has out "(their locks are made on one source line, guard_init at "
    has out 'lockgraph merge: 1 lock-order cycle (0 only in the union, 1 already in one run) in the union of 1 graph file: 2 lock classes, 2 edges'
    run_lg 1 merge --format json "$work/g-cycle.jsonl"
    has out '"also_keys": ['
    has out '"class_kind": "site"'
    # ranks: the two keys are one class; with it the library reports a
    # lock of either taken against the order.
    run_lg 1 ranks "$work/g-cycle.jsonl"
    has err 'no rank order fits these graphs: together they have a cycle of 2 lock classes'
    run_lg 0 ranks -o "$work/ranks.txt" "$work/g-order.jsonl"
    grep -q '^class guard_init\.[0-9]* site:fold_prog+0x[0-9a-f]* site:fold_prog+0x[0-9a-f]*$' "$work/ranks.txt" ||
        { fail "ranks: no class of the two keys"; cat "$work/ranks.txt"; }
    grep -q '^rank 20 guard_init\.[0-9]*$' "$work/ranks.txt" || fail "ranks: the class is not ranked"
    run_prog "$FOLD_PROG" f-ranked graph-cycle "ranks=$work/ranks.txt"
    grep -q '"kind":"rank-violation"' "$work/f-ranked.jsonl" || fail "the folded class's rank not enforced"
    grep -q '"class":"guard_init\.[0-9]*"' "$work/f-ranked.jsonl" || fail "the rank-violation does not name the folded class"
    # report: a class cycle through each copy, in two runs: the classes'
    # keys differ, one source line: one finding.
    run_prog "$FOLD_PROG" f-a class-a
    run_prog "$FOLD_PROG" f-b class-b
    a=$(grep -o '"key":"site:[^"]*"' "$work/f-a.jsonl")
    b=$(grep -o '"key":"site:[^"]*"' "$work/f-b.jsonl")
    [ -n "$a" ] && [ "$a" != "$b" ] || fail "class-a and class-b: keys $a and $b"
    run_lg 1 report "$work/f-a.jsonl" "$work/f-b.jsonl"
    has out 'lockgraph: 1 distinct finding (1 lock-order-cycle) from 2 findings in 2 processes'
    has out '   seen 2 times, in 2 processes: '
    run_lg 1 report --no-dedupe "$work/f-a.jsonl" "$work/f-b.jsonl"
    [ "$(grep -c '^== ' "$work/out")" = 2 ] || fail "--no-dedupe merged them"
    # dot: one node for the two classes.
    run_lg 0 dot "$work/f-a.jsonl" "$work/f-b.jsonl"
    [ "$(grep -c '^  n[0-9]* \[label=' "$work/out")" = 2 ] || { fail "dot: not two nodes"; cat "$work/out"; }
    ;;
bytes)
    # A module in a directory whose name is not UTF-8, with a file name
    # that is not either. The library writes those bytes as \u00XX (what
    # JSON reads as other bytes: U+00FF is c3 bf); the tool must read them
    # back as bytes to open the module, and write valid UTF-8 itself.
    dir="$work/$(printf 'mod\377dir')"
    mod="$dir/$(printf 'libbytes\351.so')"
    mkdir "$dir" && cp "$BYTES_LIB" "$mod" || fail "cannot copy the module to a non-UTF-8 path"
    run_bytes() { # NAME FUNCTION [OPTIONS]
        LD_PRELOAD="$LIB" LOCKGRAPH_REPORT="$work/$1.jsonl" \
            LOCKGRAPH_OPTIONS="quiet=1${3:+:$3}" "$BYTES_PROG" "$mod" "$2" >/dev/null 2>"$work/$1.stderr" ||
            fail "bytes_prog $2 exited $?: $(cat "$work/$1.stderr")"
    }
    run_bytes b bytes_cycle "graph=$work/b.graph.jsonl"
    grep -q 'mod\\u00ffdir/libbytes\\u00e9\.so' "$work/b.jsonl" ||
        fail "the library no longer escapes the path as \\u00XX: $(grep -o '"path":"[^"]*bytes[^"]*"' "$work/b.jsonl")"
    run_lg_src 1 report "$work/b.jsonl"
    has out 'created at make_locks (tests/tool/bytes_lib.c:'
    has out '#0 bytes_ba (tests/tool/bytes_lib.c:'
    has out '#1 bytes_cycle (tests/tool/bytes_lib.c:'
    lacks err 'cannot read the file'
    lacks out 'libbytes'
    # Its own JSON, SARIF, HTML and DOT: valid UTF-8 (a byte that is not is
    # U+FFFD), the SARIF valid and located in the module's source.
    for fmt in json sarif html; do
        run_lg 1 report --format "$fmt" -o "$work/b.$fmt" "$work/b.jsonl"
        iconv -f UTF-8 -t UTF-8 "$work/b.$fmt" >/dev/null 2>&1 || fail "$fmt output is not valid UTF-8"
        grep -q 'bytes_ba' "$work/b.$fmt" || fail "$fmt output does not name bytes_ba"
    done
    grep -q "mod$(printf '\357\277\275')dir/libbytes$(printf '\357\277\275').so" "$work/b.json" ||
        fail "JSON: the module path's bytes are not U+FFFD"
    "$CHECK_SARIF" "$work/b.sarif" 1 >"$work/check" || { fail "SARIF invalid:"; cat "$work/check"; }
    grep -q '"uri": "[^"]*bytes_lib.c"' "$work/b.sarif" || fail "SARIF: not located in bytes_lib.c"
    run_lg 0 dot "$work/b.jsonl"
    iconv -f UTF-8 -t UTF-8 "$work/out" >/dev/null 2>&1 || fail "DOT is not valid UTF-8"
    has out 'created at make_locks ('
    has out '/tests/tool/bytes_lib.c:'
    # A frame with no source line (here: the module's build-id does not
    # match, as for a rebuilt module) is located by the module's own path,
    # percent-encoded byte for byte.
    sed 's/"build_id":"[0-9a-f]*"/"build_id":"00"/g' "$work/b.jsonl" >"$work/nobuild.jsonl"
    run_lg 1 report --format sarif -o "$work/nb.sarif" "$work/nobuild.jsonl"
    "$CHECK_SARIF" "$work/nb.sarif" 1 >"$work/check" || { fail "SARIF invalid:"; cat "$work/check"; }
    grep -q '"uri": "file://[^"]*/mod%FFdir/libbytes%E9.so"' "$work/nb.sarif" ||
        fail "SARIF: the module's URI is not its bytes percent-encoded: $(grep -o '"uri": "[^"]*bytes[^"]*"' "$work/nb.sarif" | sort -u)"
    # The graph file: merge symbolizes the module's stacks too.
    run_lg_src 1 merge "$work/b.graph.jsonl"
    has out 'created at make_locks (tests/tool/bytes_lib.c:'
    lacks err 'cannot read the file'
    run_lg 1 merge --format json -o "$work/m.json" "$work/b.graph.jsonl"
    iconv -f UTF-8 -t UTF-8 "$work/m.json" >/dev/null 2>&1 || fail "merge JSON is not valid UTF-8"
    # Rank-file keys name the module by its file name, bytes and all: the
    # library must recognize them. A clean run's order, then a run against
    # it.
    run_bytes o bytes_order "graph=$work/o.graph.jsonl"
    run_lg 0 ranks -o "$work/ranks.txt" "$work/o.graph.jsonl"
    grep -q "^rank [0-9]* site:$(printf 'libbytes\351').so+0x" "$work/ranks.txt" ||
        { fail "ranks: the keys do not hold the module's own bytes"; cat "$work/ranks.txt"; }
    run_bytes r bytes_cycle "ranks=$work/ranks.txt"
    grep -q '"kind":"rank-violation"' "$work/r.jsonl" ||
        fail "the library did not enforce the rank file's keys: $(cat "$work/r.stderr")"
    ;;
*)
    echo "unknown case $case_name"
    exit 2
    ;;
esac

if [ "$failures" -ne 0 ]; then
    echo "$case_name: $failures failure(s)"
    exit 1
fi
echo "$case_name: ok"
