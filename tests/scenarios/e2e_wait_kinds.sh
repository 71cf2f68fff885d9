#!/bin/sh
# e2e_wait_kinds.sh LOCKGRAPH LIB SC_WAITS CHECK_SARIF - the kinds the waits
# add, made by real runs, through `lockgraph show` and `lockgraph report` in
# text, JSON, SARIF (checked against the schema's requirements) and HTML:
# held-across-wait, fork-with-locks-held, a deadlock through a join, and
# deadlocks on gone owners (ended, not in the process).
set -u
lg=$1 lib=$2 waits=$3 check_sarif=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$dir/out
fail() { echo "FAIL: $*"; sed 's/^/  | /' "$out"; exit 1; }

# run MODE [OPTIONS]: sc_waits MODE under lockgraph; a mode that hangs is
# killed once its deadlock is on disk (at most 30 s)
run() {
    mkdir -p "$dir/$1"
    LD_PRELOAD=$lib LOCKGRAPH_REPORT=$dir/$1/f.%p.jsonl LOCKGRAPH_OPTIONS=quiet=1${2:+:$2} \
        "$waits" "$1" >/dev/null 2>&1 &
    pid=$!
    i=0
    while kill -0 $pid 2>/dev/null && [ $i -lt 3000 ]; do
        if cat "$dir/$1"/*.jsonl 2>/dev/null | grep -q '"kind":"deadlock"'; then
            kill -9 $pid
            break
        fi
        i=$((i + 1))
        sleep 0.01
    done
    wait $pid 2>/dev/null
}
run calls
run join_held
run exit_held
run fork_held on_fork=report
files=$(ls "$dir"/*/*.jsonl)

"$lg" show $files >"$out" 2>&1
[ $? -eq 66 ] || fail "show: exit, want 66"
for want in '== held-across-wait #1' 'calls pthread_join while holding 1 lock' \
    'waits on semaphore' 'waits on process' 'wait_allow=' \
    'through a join' 'joins thread' 'take_L (' \
    'whose owner is gone' 'has ended without letting it go' 'it ended at:' 'lock_M_and_leave (' \
    'is a thread of the parent process' 'the fork was made at:' 'fork_held (' \
    '== fork-with-locks-held #1' 'hold_M ('; do
    grep -qF -- "$want" "$out" || fail "show: output lacks '$want'"
done
grep -q 'a kind this lockgraph does not know' "$out" && fail "show: a kind shown as unknown"

"$lg" report --color never $files >"$out" 2>&1
[ $? -eq 1 ] || fail "report: exit, want 1"
for want in 'held-across-wait' 'fork-with-locks-held' 'DEADLOCK' 'through a join' 'whose owner is gone'; do
    grep -qF -- "$want" "$out" || fail "report: output lacks '$want'"
done

"$lg" report --format json $files >"$out" 2>&1
for want in '"held-across-wait"' '"fork-with-locks-held"' '"gone_owner"' '"joins"'; do
    grep -qF -- "$want" "$out" || fail "report json: output lacks '$want'"
done

"$lg" report --format sarif -o "$dir/r.sarif" $files >"$out" 2>&1
"$check_sarif" "$dir/r.sarif" 4 >"$out" 2>&1 || fail "report sarif: not valid"
for want in '"HeldAcrossWait"' '"ForkWithLocksHeld"' 'joins thread' 'has ended without letting it go' \
    'is a thread of the parent process'; do
    grep -qF -- "$want" "$dir/r.sarif" || { cp "$dir/r.sarif" "$out"; fail "sarif lacks '$want'"; }
done

"$lg" report --format html -o "$dir/r.html" $files >"$out" 2>&1
for want in 'class="held-across-wait"' 'class="fork-with-locks-held"' 'whose owner is gone'; do
    grep -qF -- "$want" "$dir/r.html" || { cp "$dir/r.html" "$out"; fail "html lacks '$want'"; }
done
echo "5 passed, 0 failed"
