#!/bin/sh
# e2e_dump.sh LOCKGRAPH LIB SC_WAITS FAKE_DUMPER - `lockgraph dump PID` on a
# live deadlocked program (exit 1, the deadlock named, symbolized), on a
# healthy busy one (exit 0, every thread listed, the program unharmed), on
# one that closed every fd (exit 0), on a pid without lockgraph, on no process, and on a process that exits in the
# middle of the dump (exit 2 each, with a clear message).
set -u
lg=$1 lib=$2 waits=$3 fake=$4
dir=$(mktemp -d)
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$dir"' EXIT
out=$dir/out
fail() { echo "FAIL: $*"; sed 's/^/  | /' "$out"; exit 1; }

# until a command succeeds, for at most 30 s
until_ok() {
    i=0
    while ! eval "$1"; do
        i=$((i + 1))
        [ $i -lt 3000 ] || return 1
        sleep 0.01
    done
}

start() { # start MODE: sc_waits MODE under lockgraph, in the background
    LD_PRELOAD=$lib LOCKGRAPH_REPORT=$dir/f.%p.jsonl LOCKGRAPH_OPTIONS=quiet=1 "$waits" "$1" \
        >/dev/null 2>&1 &
    pid=$!
    pids="$pids $pid"
}

# ---- a live deadlock: main joins a worker that waits for main's lock
start join_held
until_ok "grep -q '\"kind\":\"deadlock\"' $dir/f.$pid.jsonl 2>/dev/null" ||
    { echo "FAIL: join_held never deadlocked"; exit 1; }
"$lg" dump "$pid" >"$out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "deadlocked: exit $rc, want 1"
for want in 'waits to join thread' 'waits for mutex sym:sc_waits:L' 'held by thread 1' \
    'holds mutex sym:sc_waits:L' 'join_held (' 'sc_waits.c:' 'take_L (' 'DEADLOCK #1' '1 deadlock.'; do
    grep -qF -- "$want" "$out" || fail "deadlocked: output lacks '$want'"
done
"$lg" dump --format json "$pid" >"$out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "deadlocked, json: exit $rc, want 1"
for want in '"deadlocked": true' '"function": "take_L"' '"what": "join"' '"cycle": ['; do
    grep -qF -- "$want" "$out" || fail "deadlocked, json: output lacks '$want'"
done
kill -9 "$pid"

# ---- a gone owner: a thread ended holding M, main waits for M
start exit_held
until_ok "grep -q '\"kind\":\"deadlock\"' $dir/f.$pid.jsonl 2>/dev/null" ||
    { echo "FAIL: exit_held never deadlocked"; exit 1; }
"$lg" dump "$pid" >"$out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "gone owner: exit $rc, want 1"
for want in 'which is gone' 'which has ended' 'it took the lock at' 'lock_M_and_leave ('; do
    grep -qF -- "$want" "$out" || fail "gone owner: output lacks '$want'"
done
kill -9 "$pid"

# ---- healthy and busy: four threads locking and waiting, for good
start busy
until_ok "[ \$(ls /proc/$pid/task 2>/dev/null | wc -l) -ge 6 ]" ||
    { echo "FAIL: busy never started its threads"; exit 1; }
for round in 1 2 3; do
    "$lg" dump "$pid" >"$out" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || fail "busy, round $round: exit $rc, want 0"
    grep -qF 'no deadlock.' "$out" || fail "busy: output lacks 'no deadlock.'"
    [ "$(grep -c '^thread ' "$out")" -eq 5 ] || fail "busy: not 5 threads listed"
    grep -q 'lockgraph-' "$out" && fail "busy: lockgraph's own thread listed"
done
"$lg" dump --format json "$pid" >"$out" 2>&1 || fail "busy, json: exit $?"
grep -qF '"deadlocked": false' "$out" || fail "busy, json: not '\"deadlocked\": false'"
kill -0 "$pid" 2>/dev/null || fail "busy: the program died"
[ -s "$dir/f.$pid.jsonl" ] && { cp "$dir/f.$pid.jsonl" "$out"; fail "busy: findings made"; }
kill -9 "$pid"

# ---- a daemon that closed every fd: the dump's socket is lockgraph's own
start busy_closefds
until_ok "[ \$(ls /proc/$pid/task 2>/dev/null | wc -l) -ge 6 ]" ||
    { echo "FAIL: busy_closefds never started its threads"; exit 1; }
"$lg" dump --timeout 5 "$pid" >"$out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "closed fds: exit $rc, want 0"
grep -qF 'no deadlock.' "$out" || fail "closed fds: output lacks 'no deadlock.'"
kill -9 "$pid"

# ---- no lockgraph in it
sleep 60 &
pid=$!
pids="$pids $pid"
"$lg" dump "$pid" >"$out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "no lockgraph: exit $rc, want 2"
grep -qF "is not running lockgraph" "$out" || fail "no lockgraph: no clear message"
kill -9 "$pid"

# ---- no such process
wait "$pid" 2>/dev/null
"$lg" dump "$pid" >"$out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "no process: exit $rc, want 2"
grep -qF "no process $pid" "$out" || fail "no process: no clear message"

# ---- exits in the middle of the dump
"$fake" "$dir/ready" &
pid=$!
pids="$pids $pid"
until_ok "[ -e $dir/ready ]" || { echo "FAIL: fake dumper never listened"; exit 1; }
"$lg" dump "$pid" >"$out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "exit mid-dump: exit $rc, want 2"
grep -qF "in the middle of the dump" "$out" || fail "exit mid-dump: no clear message"

echo "7 passed, 0 failed"
