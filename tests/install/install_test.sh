#!/bin/sh
# install_test.sh BUILD_DIR SOURCE_DIR - install lockgraph into a scratch
# prefix with `cmake --install`, then build a separate project against it
# twice: with find_package(lockgraph) and with pkg-config; run both. The
# find_package project's ctest tests run under `lockgraph run`
# (lockgraph_add_test): the one with a cycle fails and names its report,
# the clean one passes.
set -eu
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# `run` keeps its report directory ($TMPDIR/lockgraph.XXXXXX) when it found
# something: under $work, it goes with the test.
export TMPDIR="$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
for f in include/lockgraph.h bin/lockgraph share/man/man1/lockgraph.1 share/man/man3/lockgraph.3; do
    [ -e "$work/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
pc=$(find "$work/prefix" -name lockgraph.pc)
cfg=$(find "$work/prefix" -name lockgraphConfig.cmake)
[ -n "$pc" ] && [ -n "$cfg" ] || { echo "FAIL: pkg-config or CMake package file missing"; exit 1; }
libdir=$(dirname "$(find "$work/prefix" -name 'liblockgraph.so' | head -1)")

cmake -S "$src/tests/install/consumer" -B "$work/project/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
    >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/project/build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
LOCKGRAPH_REPORT="$work/f.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 LD_LIBRARY_PATH="$libdir" \
    "$work/project/build/consumer" || { echo "FAIL: find_package consumer"; exit 1; }

# lockgraph_add_test: ctest runs each test under the installed `lockgraph run`.
(cd "$work/project/build" && ctest --output-on-failure -R '^consumer\.clean$') >"$work/ctest-clean.log" 2>&1 ||
    { echo "FAIL: the clean test failed under lockgraph_add_test"; cat "$work/ctest-clean.log"; exit 1; }
if (cd "$work/project/build" && ctest --output-on-failure -R '^consumer\.cycle$') >"$work/ctest-cycle.log" 2>&1; then
    echo "FAIL: the test with a cycle passed under lockgraph_add_test"; cat "$work/ctest-cycle.log"; exit 1
fi
for want in '== lock-order-cycle #1' "report: $work/project/build/lockgraph/consumer.cycle."; do
    grep -qF -- "$want" "$work/ctest-cycle.log" ||
        { echo "FAIL: the failed test's output lacks: $want"; cat "$work/ctest-cycle.log"; exit 1; }
done
ls "$work/project/build/lockgraph/"consumer.cycle.*.jsonl >/dev/null 2>&1 ||
    { echo "FAIL: no findings file under $work/project/build/lockgraph"; exit 1; }

# The example CI workflow's report step (examples/ci/github-actions.yml), as
# written, on this project's findings: SARIF with the cycle, and the HTML.
awk '/- name: Reports$/ {f=1}
    f && /run: [|]$/ {r=1; match($0, /^ */); ind=RLENGTH; next}
    r && !/^ *$/ {match($0, /^ */); if (RLENGTH <= ind) exit}
    r {print substr($0, ind + 3)}' "$src/examples/ci/github-actions.yml" >"$work/reports.sh"
grep -q 'lockgraph report --format sarif' "$work/reports.sh" ||
    { echo "FAIL: no report step found in examples/ci/github-actions.yml"; cat "$work/reports.sh"; exit 1; }
(cd "$work/project" && PATH="$work/prefix/bin:$PATH" sh -e "$work/reports.sh") >"$work/reports.log" 2>&1 ||
    { echo "FAIL: the example workflow's report step"; cat "$work/reports.log"; exit 1; }
grep -q '"ruleId": *"lock-order-cycle"' "$work/project/lockgraph.sarif" 2>/dev/null ||
    { echo "FAIL: the example workflow's SARIF has no lock-order-cycle"; cat "$work/reports.log"; exit 1; }
[ -s "$work/project/lockgraph.html" ] || { echo "FAIL: the example workflow wrote no HTML"; exit 1; }

# The man pages are found under the prefix.
if command -v man >/dev/null; then
    for page in 1 3; do
        MANPATH="$work/prefix/share/man" man -w "$page" lockgraph >/dev/null ||
            { echo "FAIL: man $page lockgraph not found under the prefix"; exit 1; }
    done
fi

PKG_CONFIG_PATH=$(dirname "$pc") cc -o "$work/pc-consumer" "$src/tests/install/consumer/main.c" \
    $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs lockgraph) -lpthread
LOCKGRAPH_REPORT="$work/g.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 LD_LIBRARY_PATH="$libdir" \
    "$work/pc-consumer" || { echo "FAIL: pkg-config consumer"; exit 1; }
# the installed tool finds the installed library by itself
LD_LIBRARY_PATH="$libdir" "$work/prefix/bin/lockgraph" run -- "$work/pc-consumer" >"$work/run.log" 2>&1 || rc=$?
[ "${rc:-0}" -eq 66 ] || { echo "FAIL: installed lockgraph run exit ${rc:-0}"; cat "$work/run.log"; exit 1; }
echo "1 passed, 0 failed"
