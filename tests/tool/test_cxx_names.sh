#!/bin/sh
# test_cxx_names.sh LOCKGRAPH LIB PROG_O0 PROG_O2
#
# A C++ AB/BA (std::mutex under std::lock_guard, tests/scenarios/
# sc_cxx_mutex.cpp), built at -O0 (std::mutex::lock is a real call) and at
# -O2 (inlined into the lambda): the report must name C++ functions as a
# C++ developer writes them (demangled: std::mutex::lock(), not
# _ZNSt5mutex4lockEv), and "first locked at" must point into the program's
# own source, past the standard library's headers.
set -u
LG=$1 LIB=$2
shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/lg-cxx.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
fail=0
for prog in "$@"; do
    name=$(basename "$prog")
    rm -f "$work"/r.*.jsonl
    LD_PRELOAD=$LIB LOCKGRAPH_REPORT="$work/r.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 "$prog" || {
        echo "FAIL $name: the program failed"
        fail=1
        continue
    }
    "$LG" show "$work"/r.*.jsonl >"$work/show.txt" 2>"$work/show.err"
    "$LG" report --format json "$work"/r.*.jsonl >"$work/report.json" 2>>"$work/show.err"
    grep -q 'lock-order-cycle' "$work/show.txt" || {
        echo "FAIL $name: no lock-order-cycle in the report"
        fail=1
    }
    # Every function named in a frame, text and JSON: none mangled.
    if grep -E '#[0-9]+ _Z|"function": *"_Z' "$work/show.txt" "$work/report.json" >"$work/mangled"; then
        echo "FAIL $name: mangled C++ names in the report:"
        head -5 "$work/mangled"
        fail=1
    fi
    grep -q 'std::mutex::lock()' "$work/show.txt" || {
        echo "FAIL $name: std::mutex::lock() not named in any stack"
        fail=1
    }
    # Both locks: first locked in sc_cxx_mutex.cpp itself, not in a header.
    n=$(grep -c 'first locked at .*sc_cxx_mutex\.cpp:1[0-9])' "$work/show.txt")
    [ "$n" -ge 2 ] || {
        echo "FAIL $name: 'first locked at' does not point into the program's source:"
        grep 'first locked at' "$work/show.txt"
        fail=1
    }
    [ "$fail" = 0 ] && echo "ok $name"
done
[ "$fail" = 0 ] || { echo "--- last report:"; head -30 "$work/show.txt"; }
exit "$fail"
