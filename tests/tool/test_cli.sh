#!/bin/sh
# test_cli.sh - the lockgraph command from the outside: exit codes, usage
# errors, the `show` text on handcrafted findings files, the `run`
# launcher (with fake_preload.so standing in for liblockgraph.so, so these
# tests check the tool alone), and `ranks` on handcrafted graph files.
#
# usage: test_cli.sh CASE LOCKGRAPH DATA_DIR FAKE_PRELOAD [STATIC_PROG]
set -u
case_name=$1 LG=$2 DATA=$3 FAKE=$4 STATIC=${5:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-test-cli.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"
export LOCKGRAPH_LIB="$FAKE"
unset LOCKGRAPH_OPTIONS LGTEST_CANNED LOCKGRAPH_REPORT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run_lg EXPECTED_RC ARGS...: run lockgraph, stdout to $work/out, stderr to
# $work/err, and check the exit code.
run_lg() {
    want=$1
    shift
    "$LG" "$@" >"$work/out" 2>"$work/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        fail "lockgraph $* exited $rc, wanted $want"
        sed 's/^/  out: /' "$work/out"
        sed 's/^/  err: /' "$work/err"
    fi
}

# has FILE TEXT: FILE (out or err) contains TEXT literally.
has() {
    grep -qF -- "$2" "$work/$1" || {
        fail "$1 lacks: $2"
        sed "s/^/  $1: /" "$work/$1"
    }
}

# next_line FILE LINE NEXT: some line of FILE is exactly LINE and the one
# after it exactly NEXT.
next_line() {
    awk -v a="$2" -v b="$3" 'prev == a && $0 == b { found = 1 } { prev = $0 } END { exit !found }' \
        "$work/$1" || {
        fail "$1 lacks the line after '$2': $3"
        sed "s/^/  $1: /" "$work/$1"
    }
}

lacks() {
    if grep -qF -- "$2" "$work/$1"; then
        fail "$1 should not contain: $2"
    fi
}

case "$case_name" in
show)
    run_lg 66 show "$DATA/cycle.jsonl"
    has out '== lock-order-cycle #1 (pid 4242): potential deadlock among 2 locks'
    has out 'lock L1 mutex 0x7ffd5c1e3a40 "account 1" (normal), created at 0x55d0c2a01234 (bank+0x1234)'
    has out 'edge L1 -> L2 by thread 2 "teller-1" (tid 4244):'
    has out 'edge L2 -> L1 by thread 3 "teller-2" (tid 4245):'
    has out 'Possible scenario:'
    has out '<- waits for thread 2: deadlock'
    has out '#2 0x7f1234594ac3 (libc.so.6+0x94ac3)'
    has out '== held-at-exit #1 (pid 4242): thread 4 "worker" (tid 4246) ended holding 1 lock'
    has out '== detector-error (pid 4242)'
    # A kind this lockgraph does not know is shown field by field and
    # counted (a newer runtime's finding is still a finding).
    has out '== deadlock-from-the-future #1 (pid 4242): a kind this lockgraph does not know; its fields'
    has out 'lockgraph: 3 findings (1 lock-order-cycle, 1 held-at-exit, 1 deadlock-from-the-future) in 1 process; 1 detector error'
    has out "report: $DATA/cycle.jsonl"
    # A module that is not on this machine is explained once, on stderr.
    has err 'bank: cannot read the file'
    has err 'note: 1 finding of a kind this lockgraph does not know ("deadlock-from-the-future" on line 3)'
    [ "$(grep -c 'bank: cannot read' "$work/err")" = 1 ] || fail "module note repeated"

    run_lg 3 show --exit-code 3 "$DATA/cycle.jsonl"
    run_lg 0 show --exit-code=0 "$DATA/cycle.jsonl"

    run_lg 66 show "$DATA/kinds.jsonl"
    has out '== self-deadlock #1 (pid 100): thread 1 "main" (tid 100) takes a lock it already holds'
    has out '== unlock-not-held #1 (pid 100)'
    has out 'never seen locked by lockgraph'
    has out 'potential deadlock among 3 locks'
    has out 'thread 4 holds L3, waits for L1: deadlock'
    has out 'timed lock'
    has out 'lockgraph: 3 findings (1 lock-order-cycle, 1 self-deadlock, 1 unlock-not-held) in 1 process'

    # Rank findings: what was taken under what, where, and why.
    run_lg 66 show "$DATA/ranks.jsonl"
    has out '== rank-violation #1 (pid 4242): thread 2 "teller-1" (tid 4244) takes a lock against the declared lock order'
    has out 'rank violation: mutex L2 "account" (class accounts, rank 20) taken while holding L1 "log" (rank 30)'
    has out 'lock L2 mutex 0x7ffd5c1e3a80 "account" (normal), created at 0x55d0c2a01234 (bank+0x1234) [key site:bank+0x1a2b, class accounts, rank 20]'
    next_line out '   L2 taken at:' '     #0 0x55d0c2a01410 (bank+0x1410)'
    next_line out '   while holding L1, taken at:' '     #0 0x55d0c2a01700 (bank+0x1700)'
    has out 'why: L1 has rank 30, not below L2'"'"'s rank 20'
    has out 'taken while holding L1 sym:bank:config_lock (class config) and L2 "account" (class accounts, rank 20)'
    has out 'puts accounts before config (order)'
    has out 'nested in decreasing address order (0x7ffd5c1e3a80 then 0x7ffd5c1e3a40)'
    has out '== rank-order-cycle #1 (pid 4242): the declared lock order contradicts itself (3 classes)'
    has out 'config < table < stats < config'
    has out 'lock L1 mutex 0x10 "a" (normal), created at 0x55d0c2a01234 (bank+0x1234) [key name:a, class alpha, rank 10]'
    has out 'lockgraph: 5 findings (1 lock-order-cycle, 2 rank-violation, 1 rank-order-cycle, 1 kind-from-the-future) in 1 process'
    has err 'note: 1 finding of a kind this lockgraph does not know ("kind-from-the-future" on line'

    # Several files: findings of all of them.
    run_lg 66 show "$DATA/cycle.jsonl" "$DATA/kinds.jsonl"
    has out 'lockgraph: 6 findings'
    has out 'report: 2 files'
    ;;
show-kinds)
    # The kinds of findings that happen now, recorded from real runs of the
    # runtime (record_findings.sh): each printed in its own words.
    run_lg 66 show "$DATA/deadlock-two.jsonl"
    has out '== DEADLOCK #1 (pid 30315): 2 threads are blocked on each other (now, not a prediction)'
    next_line out '   thread           holds                      waits for                  held by   waiting at' \
        '   2 "sc_deadlock"  L1 0x55b37425f0c0 (mutex)  L2 0x55b37425f100 (mutex)  thread 3  0x55b37425c27b (sc_deadlock+0x127b)'
    has out '   3 "sc_deadlock"  L2 0x55b37425f100 (mutex)  L1 0x55b37425f0c0 (mutex)  thread 2  0x55b37425c27b (sc_deadlock+0x127b)'
    next_line out '   thread 2 "sc_deadlock" (tid 30318):' '     waits for L2 (exclusive), 101 ms so far, at:'
    has out 'None of these threads can go on: the program hangs here.'
    has out 'lockgraph: 2 findings (1 lock-order-cycle, 1 deadlock) in 1 process'
    lacks out 'a kind this lockgraph does not know'
    lacks err 'a kind this lockgraph does not know'

    run_lg 66 show "$DATA/deadlock-timed.jsonl"
    has out 'with a timeout, at:'
    has out 'A wait has a timeout: the threads stall until it expires'

    run_lg 66 show "$DATA/long-wait.jsonl" "$DATA/long-hold.jsonl"
    has out '== long-wait #1 (pid 30348): thread 3 "sc_deadlock" (tid 30353) has waited 1000 ms for a lock (watchdog: 1000 ms)'
    next_line out '   held by thread 2 (tid 30352), taken at:' '     #0 0x55e30b5223f1 (sc_deadlock+0x13f1)'
    has out '== long-hold #1 (pid 30357): a lock held too long 3 times at one site, the longest 60 ms (hold_warn_ms=40)'
    # Two lines of one site: one finding, with its final count.
    has out 'lockgraph: 2 findings (1 long-wait, 1 long-hold) in 2 processes'

    run_lg 66 show "$DATA/io-fd.jsonl" "$DATA/io-socket.jsonl" "$DATA/io-sleep.jsonl"
    has out '== held-across-io #1 (pid 30363): thread 1 "sc_io_fd" (tid 30363) calls write while holding 1 lock, 100000 times'
    has out '   call write (fd) on fd 3 (char-device "/dev/null")'
    has out 'io_allow key name:fd%20lock'
    has out '   100000 calls from these sites (the total, at exit)'
    has out '   call connect (socket) on fd 4 (socket "socket:[216985]", peer "127.0.0.1:59469")'
    has out '   call nanosleep (sleep), no fd'
    has out 'lockgraph: 12 findings (12 held-across-io) in 3 processes'
    [ "$(grep -c '^== held-across-io #1 (pid 30363)' "$work/out")" = 1 ] || fail "a pair shown twice"

    # Suppressions see the new kinds' locks and kinds.
    printf 'kind:held-across-io lock:fd?lock\n' >"$work/supp"
    run_lg 66 show --suppressions "$work/supp" "$DATA/io-fd.jsonl" "$DATA/io-sleep.jsonl"
    has out 'lockgraph: 3 findings (3 held-across-io) in 1 process; 1 suppressed'
    ;;
show-bad-input)
    run_lg 0 show "$DATA/empty.jsonl"
    has out 'lockgraph: no findings; report:'

    run_lg 2 show "$work/missing.jsonl"
    has err "cannot open $work/missing.jsonl"

    # Corrupt lines are named by file:line and skipped; what is readable
    # still counts.
    run_lg 66 show "$DATA/corrupt.jsonl"
    has err "corrupt.jsonl:2: corrupt line skipped: held-at-exit: \"lock\" is not an object"
    has err "corrupt.jsonl:3: corrupt line skipped: not valid JSON"
    has err "corrupt.jsonl:5: warning: last line is incomplete"
    has out 'lockgraph: 2 findings (2 held-at-exit) in 1 process; 3 unreadable lines skipped'

    # Nothing found but input was unreadable: 2, not a clean 0.
    printf 'garbage\n' >"$work/bad.jsonl"
    run_lg 2 show "$work/bad.jsonl"
    run_lg 2 show "$DATA/empty.jsonl" "$work/missing.jsonl"
    ;;
usage)
    run_lg 2 bogus
    has err "unknown command 'bogus'"
    has err 'usage: lockgraph run'
    run_lg 2
    run_lg 2 run
    has err 'missing -- before the program'
    run_lg 2 run /bin/true
    has err "put -- before the program"
    run_lg 2 run --
    has err 'no program to run after --'
    run_lg 2 run --frobnicate -- /bin/true
    has err "unknown option '--frobnicate'"
    run_lg 2 run --exit-code abc -- /bin/true
    has err "bad --exit-code 'abc'"
    run_lg 2 run --exit-code 256 -- /bin/true
    run_lg 2 run --report -- /bin/true
    has err '--report needs a value'
    run_lg 2 run --options report=/tmp/x -- /bin/true
    has err 'use --report FILE instead'
    # Options the library would refuse before main are refused before
    # anything runs, by the library's own parser.
    run_lg 2 run --options stack_dept=4 -- sh -c "touch '$work/ran'"
    has err "lockgraph run: --options: unknown option 'stack_dept'"
    has err 'nothing was run'
    [ -e "$work/ran" ] && fail "run started the program despite a bad option"
    run_lg 2 run --options stack_depth=500 -- /bin/true
    has err "option 'stack_depth' takes a whole number from 1 to 128"
    LOCKGRAPH_OPTIONS=watchdog=x run_lg 2 run -- /bin/true
    has err "lockgraph run: LOCKGRAPH_OPTIONS: option 'watchdog'"
    run_lg 2 run --options io_allow=wrte -- /bin/true
    has err "'wrte' is neither a watched call"
    run_lg 2 show
    run_lg 2 show --nope x
    run_lg 0 --help
    has out 'usage: lockgraph run'
    has out 'lockgraph ranks GRAPH... [-o FILE]'
    has out 'ranks Propose a rank file'
    run_lg 2 ranks
    has err 'lockgraph ranks: no graph file given'
    run_lg 2 ranks --frobnicate "$DATA/graph-clean-a.jsonl"
    has err "unknown option '--frobnicate'"
    run_lg 2 ranks "$DATA/graph-clean-a.jsonl" -o
    has err '-o needs a file name'
    run_lg 2 ranks -o a -o b "$DATA/graph-clean-a.jsonl"
    has err '-o given twice'
    # Each verb's --help is its own usage, not the whole one.
    for verb in run show report dot merge ranks; do
        run_lg 0 "$verb" --help
        has out "usage: lockgraph $verb"
        lacks out 'lockgraph help | --help'
        [ "$verb" = report ] || lacks out 'usage: lockgraph report'
        run_lg 0 "$verb" -h
        has out "usage: lockgraph $verb"
    done
    # --help after other options, even where a value would go: the verb's
    # usage, exit 0, and nothing run, read or written.
    run_lg 0 run --report "$work/r.%p.jsonl" --help -- sh -c "touch '$work/ran'"
    has out 'usage: lockgraph run'
    lacks out 'lockgraph help | --help'
    run_lg 0 run --report "$work/r.%p.jsonl" --options quiet=1 --help
    has out 'usage: lockgraph run'
    run_lg 0 run --report --help -- sh -c "touch '$work/ran'"
    has out 'usage: lockgraph run'
    run_lg 0 run --live -h -- sh -c "touch '$work/ran'"
    has out 'usage: lockgraph run'
    [ -e "$work/ran" ] && fail "run --help after other options ran the program"
    [ -n "$(ls "$work" | grep '^r\.')" ] && fail "run --help wrote a report: $(ls "$work")"
    # After "--" it is the program's.
    run_lg 0 run --report "$work/r.%p.jsonl" -- sh -c 'echo "ARGS $*"' sh --help
    has out 'ARGS --help'
    lacks out 'usage: lockgraph run'
    # A bad option: run's usage after the message, not every verb's.
    run_lg 2 run --frobnicate -- /bin/true
    has err 'usage: lockgraph run'
    lacks err 'lockgraph show ['
    lacks err 'lockgraph help | --help'
    run_lg 0 show "$DATA/cycle.jsonl" --help
    has out 'usage: lockgraph show'
    lacks out 'lock-order-cycle'
    run_lg 0 show --exit-code 3 --help "$DATA/cycle.jsonl"
    has out 'usage: lockgraph show'
    run_lg 0 report --format json -o "$work/rep.json" --help "$DATA/cycle.jsonl"
    has out 'usage: lockgraph report'
    cd "$work" || exit 1
    run_lg 0 report -o --help "$DATA/cycle.jsonl"
    cd - >/dev/null || exit 1
    has out 'usage: lockgraph report'
    run_lg 0 dot "$DATA/cycle.jsonl" -o "$work/d.dot" -h
    has out 'usage: lockgraph dot'
    run_lg 0 merge --format json "$DATA/graph-cycle-a.jsonl" -o "$work/m.json" --help
    has out 'usage: lockgraph merge'
    run_lg 0 ranks "$DATA/graph-clean-a.jsonl" -o "$work/rk.txt" --help
    has out 'usage: lockgraph ranks'
    run_lg 0 dump --format json --help
    has out 'usage: lockgraph dump'
    run_lg 0 dump 1 --timeout 3 -h
    has out 'usage: lockgraph dump'
    for f in rep.json d.dot m.json rk.txt ./--help; do
        [ -e "$work/$f" ] && fail "--help after other options still wrote $f"
    done
    # Options after the files, as report takes them; "--" ends them.
    run_lg 3 show "$DATA/cycle.jsonl" --exit-code 3
    run_lg 2 show -- --exit-code
    has err 'cannot open --exit-code'
    # lockgraph help VERB: that verb's usage.
    run_lg 0 help merge
    has out 'usage: lockgraph merge'
    lacks out 'usage: lockgraph run'
    run_lg 2 help bogus
    has err "lockgraph help: unknown command 'bogus'"
    run_lg 0 show --help
    has out 'show  Print findings files'
    has out 'Lines longer than 16 MiB are refused'
    run_lg 0 report --help
    has out '--no-dedupe     show every finding'
    # A bad option: the verb's usage after the message.
    run_lg 2 report --frobnicate x.jsonl
    has err "unknown option '--frobnicate'"
    has err 'usage: lockgraph report'
    lacks err 'usage: lockgraph run'
    run_lg 0 help
    run_lg 0 --version
    grep -Eq '^lockgraph [0-9]+\.[0-9]+' "$work/out" || fail "--version: $(cat "$work/out")"
    ;;
run-status)
    run_lg 1 run -- /bin/false
    has err 'lockgraph: the program exited with status 1'
    has err 'lockgraph: no findings; report: none written'
    run_lg 0 run -- /bin/true
    lacks out 'the program exited'
    # the program's stdout is its own: nothing of lockgraph's lands there
    run_lg 0 run -- sh -c 'printf "exact bytes\n"'
    [ "$(cat "$work/out")" = "exact bytes" ] || { echo "FAIL: run wrote to the program's stdout"; cat "$work/out"; exit 1; }
    run_lg 7 run -- sh -c 'exit 7'
    run_lg 143 run -- sh -c 'kill -TERM $$'
    has err 'killed by signal 15'
    run_lg 127 run -- /nonexistent/program
    has err "cannot run '/nonexistent/program': No such file or directory"
    lacks out 'lockgraph:'
    run_lg 127 run -- no-such-program-lockgraph-test
    run_lg 126 run -- "$DATA/cycle.jsonl"
    # A run that found nothing leaves no temporary directory behind.
    [ -z "$(ls "$work" | grep '^lockgraph\.')" ] || fail "temporary report directory left: $(ls "$work")"
    # A signal sent to lockgraph reaches the program, and lockgraph stays to
    # report how it ended.
    "$LG" run -- sh -c "touch '$work/started'; exec sleep 30" >"$work/out" 2>"$work/err" &
    lgpid=$!
    tries=0
    while [ ! -e "$work/started" ] && [ $tries -lt 100 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
    kill -TERM $lgpid
    wait $lgpid
    rc=$?
    [ $rc = 143 ] || fail "run killed with TERM exited $rc, wanted 143"
    has err 'the program was killed by signal 15'
    # The library must exist: a clear error, not a silent unwatched run.
    LOCKGRAPH_LIB="$work/none.so" run_lg 125 run -- /bin/true
    has err "LOCKGRAPH_LIB=$work/none.so: not a readable file"
    ;;
run-env)
    # Our library goes first in LD_PRELOAD, the user's entries after it.
    LD_PRELOAD="$work/user-preload.so" run_lg 0 run -- sh -c 'echo "PRELOAD=$LD_PRELOAD"'
    has out "PRELOAD=$(readlink -f "$FAKE"):$work/user-preload.so"
    run_lg 0 run -- sh -c 'echo "REPORT=$LOCKGRAPH_REPORT"'
    grep -Eq "^REPORT=$work/lockgraph\.[A-Za-z0-9]{6}/findings\.%p\.jsonl\$" "$work/out" ||
        fail "default report: $(cat "$work/out")"
    run_lg 0 run --options on_cycle=abort:stack_depth=8 --quiet -- sh -c 'echo "OPTS=$LOCKGRAPH_OPTIONS"'
    has out 'OPTS=on_cycle=abort:stack_depth=8:quiet=1'
    run_lg 0 run --quiet -- sh -c 'echo "OPTS=$LOCKGRAPH_OPTIONS"'
    has out 'OPTS=quiet=1'
    run_lg 0 run -- sh -c 'echo "OPTS=$LOCKGRAPH_OPTIONS"'
    has out 'OPTS=quiet=1'
    run_lg 0 run --live -- sh -c 'echo "OPTS=[$LOCKGRAPH_OPTIONS]"'
    has out 'OPTS=[]'
    run_lg 0 run --options stack_depth=8 -- sh -c 'echo "OPTS=$LOCKGRAPH_OPTIONS"'
    has out 'OPTS=stack_depth=8'
    # A relative --report is made absolute: the program may change directory.
    cd "$work" || exit 1
    run_lg 0 run --report rel.%p.jsonl -- sh -c 'echo "REPORT=$LOCKGRAPH_REPORT"'
    cd - >/dev/null || exit 1
    has out "REPORT=$work/rel.%p.jsonl"
    ;;
run-findings)
    # Findings written by the preloaded library are read back, symbolized
    # and fail the run with 66 (or --exit-code), whatever the program's
    # status.
    export LGTEST_CANNED="$DATA/cycle.jsonl"
    run_lg 66 run -- /bin/true
    has err '== lock-order-cycle #1 (pid 4242)'
    has err 'lockgraph: 3 findings (1 lock-order-cycle, 1 held-at-exit, 1 deadlock-from-the-future) in 1 process'
    grep -Eq "report: $work/lockgraph\.[A-Za-z0-9]{6}/findings\.[0-9]+\.jsonl\$" "$work/err" ||
        fail "report path: $(tail -1 "$work/err")"
    run_lg 5 run --exit-code 5 -- /bin/false
    has err 'the program exited with status 1'

    # Every process of the run: a %p pattern collects one file per pid.
    run_lg 66 run --report "$work/r.%p.jsonl" -- sh -c '/bin/true; /bin/true'
    has err 'lockgraph: 9 findings (3 lock-order-cycle, 3 held-at-exit, 3 deadlock-from-the-future) in 1 process'
    has err "report: $work/r.%p.jsonl (3 files)"

    # A fixed name is removed first: the findings of an earlier run are
    # not reported again, and a clean run leaves no file.
    run_lg 66 run --report "$work/fixed.jsonl" -- /bin/true
    run_lg 66 run --report "$work/fixed.jsonl" -- /bin/true
    has err 'lockgraph: 3 findings'
    unset LGTEST_CANNED
    run_lg 0 run --report "$work/fixed.jsonl" -- /bin/true
    has err "lockgraph: no findings; report: none written ($work/fixed.jsonl)"
    [ -e "$work/fixed.jsonl" ] && fail "a clean run left the stale fixed report"

    # Never through a link planted at a fixed name, nor a file not ours
    # to replace: refused before the program runs, the victim untouched.
    printf 'precious\n' >"$work/victim"
    ln -s "$work/victim" "$work/link.jsonl"
    run_lg 125 run --report "$work/link.jsonl" -- sh -c "touch '$work/ran'"
    has err "lockgraph: report file $work/link.jsonl is a symbolic link: not writing there"
    [ "$(cat "$work/victim")" = precious ] || fail "--report through a link touched its target"
    [ -e "$work/ran" ] && fail "run started the program despite a refused report"
    mkfifo "$work/fifo.jsonl"
    run_lg 125 run --report "$work/fifo.jsonl" -- /bin/true
    has err 'is not a regular file'

    # The report directory is made when missing (the README's example).
    cd "$work" || exit 1
    LGTEST_CANNED="$DATA/cycle.jsonl" run_lg 66 run --report reports/deep/lg.%p.jsonl -- /bin/true
    cd - >/dev/null || exit 1
    has err "report: $work/reports/deep/lg."
    [ -n "$(ls "$work/reports/deep")" ] || fail "nothing in the report directory made for it"

    # Findings the library could write to no file (it said so on the
    # program's stderr) still count: named, and the run fails with 66.
    LGTEST_STDERR_FINDINGS=2 run_lg 66 run -- /bin/true
    has err "lockgraph: 2 findings could not be written to a report file and went to the program's stderr instead"
    has err 'lockgraph: 2 findings, none in a report file (see above); report: none written'
    lacks err 'no findings'
    LGTEST_STDERR_FINDINGS=1 run_lg 9 run --exit-code 9 -- /bin/true
    LGTEST_STDERR_FINDINGS=1 LGTEST_CANNED="$DATA/cycle.jsonl" run_lg 66 run -- /bin/true
    has err 'lockgraph: 3 findings (1 lock-order-cycle'
    has err '1 finding could not be written to a report file'
    ;;
run-watched)
    # The library never started in the program, or not in what it became:
    # never "no findings", but what happened, and 67.
    LOCKGRAPH_LIB="$DATA/cycle.jsonl" run_lg 67 run -- /bin/true
    has err 'lockgraph: nothing was watched: liblockgraph.so never started in the program'
    has err 'lockgraph: no findings, because nothing was watched; report: none written'
    run_lg 67 run -- env -u LD_PRELOAD /bin/true
    has err 'lockgraph: the program was not watched to its end: fake ran another executable in its place (exec)'
    run_lg 67 run -- sh -c 'LD_PRELOAD= exec /bin/true'
    has err 'not watched to its end'
    # A program whose exit status says it failed still gets 67: its status
    # is named, but the run cannot vouch for anything.
    run_lg 67 run -- sh -c 'LD_PRELOAD= exec /bin/false'
    has err 'the program exited with status 1'
    # Watched to the end, through exec and _exit: the program's status.
    run_lg 0 run -- sh -c 'exec /bin/true'
    run_lg 3 run -- sh -c 'exit 3'

    # Checked before starting anything: a static executable and secure
    # mode, each with what to do instead.
    if [ -n "$STATIC" ]; then
        run_lg 67 run -- "$STATIC"
        has err "lockgraph: cannot watch $STATIC: it is statically linked"
        has err 'link a test build of it with -llockgraph'
        lacks out 'static program ran'
        printf '#!%s\n' "$STATIC" >"$work/script"
        chmod +x "$work/script"
        run_lg 67 run -- "$work/script"
        has err "its interpreter $STATIC is statically linked"
    fi
    if [ "$(id -u)" = 0 ]; then
        cp /bin/true "$work/sgid-true"
        chgrp 65534 "$work/sgid-true" && chmod g+s "$work/sgid-true"
        run_lg 67 run -- "$work/sgid-true"
        has err 'is set-group-ID, so the loader runs it in secure mode and ignores LD_PRELOAD'
        has err 'run a copy without the set-user-ID or set-group-ID bits'
        # set-user-ID to one's own user is no secure mode: it runs
        cp /bin/true "$work/suid-own"
        chmod u+s "$work/suid-own"
        run_lg 0 run -- "$work/suid-own"
        # file capabilities put an unprivileged user's run in secure mode
        if command -v setcap >/dev/null && command -v setpriv >/dev/null; then
            chmod 755 "$work"
            cp /bin/true "$work/cap-true"
            if setcap cap_net_raw+ep "$work/cap-true" 2>/dev/null; then
                setpriv --reuid=65534 --regid=65534 --clear-groups "$LG" run -- "$work/cap-true" \
                    >"$work/out" 2>"$work/err"
                rc=$?
                [ $rc = 67 ] || fail "a program with file capabilities, run as nobody: exit $rc"
                has err 'has file capabilities, so the loader runs it in secure mode'
            fi
        fi
    fi

    # A deadlock happening now fails a run like a cycle, on its own too.
    grep '"kind":"deadlock"' "$DATA/deadlock-two.jsonl" >"$work/dl.jsonl"
    LGTEST_CANNED="$work/dl.jsonl" run_lg 66 run -- /bin/true
    has err '== DEADLOCK #1 (pid 30315): 2 threads are blocked on each other (now, not a prediction)'
    has err 'lockgraph: 1 finding (1 deadlock) in 1 process'
    LGTEST_CANNED="$work/dl.jsonl" run_lg 9 run --exit-code 9 -- /bin/true

    # The rank kinds are printed by run too.
    LGTEST_CANNED="$DATA/ranks.jsonl" run_lg 66 run -- /bin/true
    has err 'rank violation: mutex L2 "account" (class accounts, rank 20) taken while holding L1 "log" (rank 30)'
    has err 'config < table < stats < config'
    has err 'lockgraph: 5 findings (1 lock-order-cycle, 2 rank-violation, 1 rank-order-cycle, 1 kind-from-the-future) in 1 process'

    # suppressions= in the options is applied by run (the library only
    # accepts it).
    printf 'kind:*\n' >"$work/all.txt"
    LGTEST_CANNED="$DATA/cycle.jsonl" run_lg 0 run --options "suppressions=$work/all.txt" -- /bin/true
    has err "suppressed 4 findings by $work/all.txt:1 (kind:*)"
    has err 'lockgraph: no findings; 4 suppressed'

    # Only detector errors: not a failure of the program.
    printf '%s\n' '{"kind":"detector-error","pid":1,"error":"out-of-memory","message":"m"}' >"$work/de.jsonl"
    LGTEST_CANNED="$work/de.jsonl" run_lg 0 run -- /bin/true
    has err 'lockgraph: no findings; 1 detector error'
    ;;
ranks)
    # The union of two clean runs, compared whole with the expected file.
    # Run from the data directory so the file names in its header are the
    # same wherever the tree is checked out.
    cd "$DATA" || exit 1
    run_lg 0 ranks graph-clean-a.jsonl graph-clean-b.jsonl
    cd - >/dev/null || exit 1
    if ! diff -u "$DATA/ranks-clean.expected" "$work/out" >"$work/diff"; then
        fail "ranks output differs from ranks-clean.expected:"
        cat "$work/diff"
    fi
    has err 'left out key "name:account 3": a rank file cannot hold a key with blanks'
    lacks err 'bad line'

    # -o FILE: the same text, in the file; nothing on stdout.
    cd "$DATA" || exit 1
    run_lg 0 ranks graph-clean-a.jsonl -o "$work/r.txt" graph-clean-b.jsonl
    cd - >/dev/null || exit 1
    [ -s "$work/out" ] && fail "ranks -o wrote to stdout: $(cat "$work/out")"
    cmp -s "$DATA/ranks-clean.expected" "$work/r.txt" || fail "ranks -o FILE differs from stdout"
    has err "rank file written to $work/r.txt"
    [ -z "$(ls "$work" | grep '^r\.txt\.')" ] || fail "temporary file left: $(ls "$work")"
    run_lg 2 ranks "$DATA/graph-clean-a.jsonl" -o "$work/no/such/dir/r.txt"
    has err "cannot write $work/no/such/dir/r.txt"

    # Self-edges: same=address only when every file saw ascending order.
    run_lg 0 ranks "$DATA/graph-self-asc.jsonl"
    has out 'rank 10 site:bank+0x3000 same=address'
    has out '# its instances were nested, always in ascending address order'
    run_lg 0 ranks "$DATA/graph-self-asc.jsonl" "$DATA/graph-self-desc.jsonl"
    has out 'rank 10 site:bank+0x3000 same=any'
    has out "# warning: its instances were nested in both address orders ($DATA/graph-self-asc.jsonl: ascending; $DATA/graph-self-desc.jsonl: descending); same=any leaves them to the cycle detector"
    lacks out 'same=address'
    run_lg 0 ranks "$DATA/graph-self-both.jsonl"
    has out 'rank 10 site:bank+0x3000 same=any'
    has out 'nested in both address orders'
    run_lg 0 ranks "$DATA/graph-self-desc.jsonl"
    has out 'rank 10 site:bank+0x3000 same=any'
    has out 'nested in descending address order'
    ;;
ranks-cycle)
    # Neither run has a cycle; together they do. Both files are named, with
    # the stacks of the edge each contributed; nothing is written.
    echo 'old ranks' >"$work/r.txt"
    run_lg 1 ranks "$DATA/graph-cycle-a.jsonl" "$DATA/graph-cycle-b.jsonl" -o "$work/r.txt"
    has err 'lockgraph ranks: no rank order fits these graphs: together they have a cycle of 2 locks, a potential deadlock'
    has err '   lock L1 name:alpha: mutex "alpha", 1 instance in each of 2 files, created at 0x55d0c2a02000 (bank+0x2000)'
    has err '   lock L2 name:beta: mutex "beta"'
    has err "   edge L1 -> L2, in $DATA/graph-cycle-a.jsonl (3 instances):"
    has err "     one instance, $DATA/graph-cycle-a.jsonl:6, by thread 2 \"left\" (tid 301):"
    has err "   edge L2 -> L1, in $DATA/graph-cycle-b.jsonl (1 instance):"
    has err "     one instance, $DATA/graph-cycle-b.jsonl:4, by thread 3 \"right\" (tid 401):"
    next_line err '     holds L2, taken at:' '       #0 0x55d0c2a02300 (bank+0x2300)'
    next_line err '     then takes L1 at:' '       #0 0x55d0c2a02310 (bank+0x2310)'
    has err 'no rank file was written'
    lacks err 'gamma'
    [ -s "$work/out" ] && fail "a cycle still wrote to stdout: $(cat "$work/out")"
    [ "$(cat "$work/r.txt")" = 'old ranks' ] || fail "-o FILE was touched on a cycle"
    [ -z "$(ls "$work" | grep '^r\.txt\.')" ] || fail "temporary file left: $(ls "$work")"
    # Either file alone is fine.
    run_lg 0 ranks "$DATA/graph-cycle-a.jsonl"
    has out 'rank 10 sym:bank:gamma'
    has out 'rank 20 name:alpha'
    has out 'rank 30 name:beta'
    ;;
ranks-bad-input)
    # Cut short: used as far as it goes, with warnings in stderr and in
    # the rank file.
    run_lg 0 ranks "$DATA/graph-truncated.jsonl"
    has err "graph-truncated.jsonl:5: warning: last line is incomplete"
    has err "graph-truncated.jsonl: warning: no graph-end line: the file was cut short"
    has out "# warning: $DATA/graph-truncated.jsonl was cut short (no graph-end line): orders it lost are not here"
    has out 'rank 10 name:first'
    has out 'rank 20 name:second'

    # Bad lines: each named by file:line and skipped; the rest is used.
    run_lg 0 ranks "$DATA/graph-badline.jsonl"
    has err "graph-badline.jsonl:3: bad line skipped: not valid JSON"
    has err "graph-badline.jsonl:4: bad line skipped: no \"to\""
    has err 'ignored 1 line of a kind this lockgraph does not know ("graph-note-from-the-future")'
    has out "# warning: $DATA/graph-badline.jsonl: 2 bad lines skipped"
    has out 'rank 20 name:second'

    # Files that cannot be read at all: each named, exit 2, nothing written,
    # even when other files were fine.
    run_lg 2 ranks "$DATA/graph-clean-a.jsonl" "$work/missing.jsonl" -o "$work/r.txt"
    has err "cannot open $work/missing.jsonl: No such file or directory"
    has err 'lockgraph ranks: 1 of 2 graph files could not be read; no rank file written'
    [ -e "$work/r.txt" ] && fail "a rank file was written despite an unreadable input"
    run_lg 2 ranks "$DATA/graph-garbage.jsonl"
    has err "graph-garbage.jsonl:1: not a graph file: not valid JSON"
    [ -s "$work/out" ] && fail "garbage input still wrote: $(cat "$work/out")"
    run_lg 2 ranks "$DATA/cycle.jsonl"
    has err 'cycle.jsonl:1: not a graph file: its first line is a "lock-order-cycle" line, not the "graph" header (a findings file?)'
    run_lg 2 ranks "$DATA/empty.jsonl"
    has err 'empty.jsonl: not a graph file: it is empty'
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
