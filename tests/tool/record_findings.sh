#!/bin/sh
# record_findings.sh - re-record the findings files in data/ that come from
# real runs of the runtime (deadlock, long-wait, long-hold, held-across-io),
# so their fields are what liblockgraph.so really writes.
#
# usage: tests/tool/record_findings.sh BUILD_DIR
#
# Not run by ctest: the recorded files are committed, and the tests check
# the text rendered from them. Module paths are rewritten to
# /nonexistent/lockgraph-test/NAME so that every machine symbolizes them
# the same way (as module+offset): the tests must not depend on where the
# build tree was or on this machine's libc. Addresses, build-ids, pids and
# everything else stay as recorded. The scenarios that deadlock hang for
# good: each is killed after a few seconds (the finding is written before
# the threads block).
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
lib=$build/lib/liblockgraph.so
sc=$build/tests/scenarios
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-record.XXXXXX")
trap 'rm -rf "$work"' EXIT

# record NAME SECONDS OPTIONS PROGRAM ARGS...: run under the library, kill
# it after SECONDS when it is still running, keep its findings as
# data/NAME.jsonl.
record() {
    name=$1 secs=$2 opts=$3
    shift 3
    rm -f "$work"/out.*
    LOCKGRAPH_OPTIONS=$opts LOCKGRAPH_REPORT="$work/out.%p.jsonl" LD_PRELOAD=$lib \
        "$@" >/dev/null 2>&1 &
    pid=$!
    (sleep "$secs"; kill -9 "$pid" 2>/dev/null) &
    killer=$!
    wait "$pid" || true
    kill "$killer" 2>/dev/null || true
    sed -e 's#"path":"[^"]*/\([^"/]*\)","base"#"path":"/nonexistent/lockgraph-test/\1","base"#g' \
        "$work"/out.*.jsonl >"$here/data/$name.jsonl"
    echo "recorded data/$name.jsonl: $(wc -l <"$here/data/$name.jsonl") lines"
}

# sc_deadlock sleeps under its locks: on_io=off keeps held-across-io out.
record deadlock-two 2 on_io=off "$sc/sc_deadlock" two
record deadlock-two-rerun 2 on_io=off "$sc/sc_deadlock" two
record deadlock-three 2 on_io=off "$sc/sc_deadlock" three
record deadlock-timed 6 on_io=off "$sc/sc_deadlock" timed
record long-wait 6 on_io=off:watchdog=1 "$sc/sc_deadlock" long_wait
record long-hold 6 on_io=off:hold_warn_ms=40 "$sc/sc_deadlock" long_hold
record io-fd 6 "" "$sc/sc_io_fd" dedup
record io-socket 6 "" "$sc/sc_io_socket"
record io-sleep 6 "" "$sc/sc_io_sleep"
# Lock classes: a cycle between classes (made directly, and through a
# wrapper), the same on one connection (the locks close it), two locks of
# one class nested both ways, and locks freed or destroyed while held.
record classes-conn 6 "" "$sc/sc_classes" conn
record classes-conn-rerun 6 "" "$sc/sc_classes" conn
record classes-helper 6 "" "$sc/sc_classes" helper
record classes-conn-same 6 "" "$sc/sc_classes" conn-same
record classes-nest-any 6 "" "$sc/sc_classes" nest-any
record held-lock-freed 6 on_wait=off "$sc/sc_classes" freed-held
record held-lock-destroyed 6 on_wait=off "$sc/sc_classes" destroy-held
