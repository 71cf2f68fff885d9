#!/bin/sh
# install_test.sh BUILD_DIR SOURCE_DIR - install lockgraph into a scratch
# prefix with `cmake --install`, then build a separate project against it
# twice: with find_package(lockgraph) and with pkg-config; run both.
set -eu
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# `run` keeps its report directory ($TMPDIR/lockgraph.XXXXXX) when it found
# something: under $work, it goes with the test.
export TMPDIR="$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
for f in include/lockgraph.h bin/lockgraph; do
    [ -e "$work/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
pc=$(find "$work/prefix" -name lockgraph.pc)
cfg=$(find "$work/prefix" -name lockgraphConfig.cmake)
[ -n "$pc" ] && [ -n "$cfg" ] || { echo "FAIL: pkg-config or CMake package file missing"; exit 1; }
libdir=$(dirname "$(find "$work/prefix" -name 'liblockgraph.so' | head -1)")

cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
    >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
LOCKGRAPH_REPORT="$work/f.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 LD_LIBRARY_PATH="$libdir" \
    "$work/consumer/consumer" || { echo "FAIL: find_package consumer"; exit 1; }

PKG_CONFIG_PATH=$(dirname "$pc") cc -o "$work/pc-consumer" "$src/tests/install/consumer/main.c" \
    $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs lockgraph) -lpthread
LOCKGRAPH_REPORT="$work/g.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 LD_LIBRARY_PATH="$libdir" \
    "$work/pc-consumer" || { echo "FAIL: pkg-config consumer"; exit 1; }
# the installed tool finds the installed library by itself
LD_LIBRARY_PATH="$libdir" "$work/prefix/bin/lockgraph" run -- "$work/pc-consumer" >"$work/run.log" 2>&1 || rc=$?
[ "${rc:-0}" -eq 66 ] || { echo "FAIL: installed lockgraph run exit ${rc:-0}"; cat "$work/run.log"; exit 1; }
echo "1 passed, 0 failed"
