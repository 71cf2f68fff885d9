#!/bin/sh
# tools/dev.sh - set up a Debian 12 machine, build, and run.
#
#   tools/dev.sh demo   install what is needed, build, run the bank demo under
#                       `lockgraph run` and show the cycle it finds
#   tools/dev.sh test   install what is needed, build, run every test (ctest)
#
# Installing needs root (or sudo); set LG_NO_INSTALL=1 to skip it. The build
# goes to ./build (LG_BUILD_DIR to change it).
set -eu
cd "$(dirname "$0")/.."
build=${LG_BUILD_DIR:-build}

# graphviz: lockgraph dot --svg and the HTML report's picture, and the test
# that parses DOT back; chromium: the test that loads the HTML report in a
# headless browser; clang, libclang-rt-14-dev: the libFuzzer target for the
# findings reader.
PACKAGES="build-essential cmake pkg-config libcunit1-dev libjson-c-dev libdw-dev libelf-dev
libjemalloc-dev libjemalloc2 graphviz chromium clang libclang-rt-14-dev"

install_deps() {
    [ "${LG_NO_INSTALL:-0}" = 1 ] && return 0
    missing=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo=sudo; else
        echo "dev.sh: need root to install:$missing" >&2
        exit 1
    fi
    echo "dev.sh: installing:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
}

build() {
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCKGRAPH_BUILD_TESTS=ON \
        -DLOCKGRAPH_BUILD_TOOLS=ON
    cmake --build "$build" -j "$(nproc)"
}

case "${1:-}" in
demo)
    install_deps
    build
    echo
    echo "== lockgraph run -- $build/demo/lockgraph-demo-bank"
    rc=0
    "$build/tools/lockgraph" run -- "$build/demo/lockgraph-demo-bank" || rc=$?
    if [ "$rc" -eq 66 ]; then
        echo
        echo "dev.sh: lockgraph found the lock-order cycle the demo was built to show (exit 66),"
        echo "        although the demo never hung. Fixed build, for comparison:"
        "$build/tools/lockgraph" run -- "$build/demo/lockgraph-demo-bank-fixed"
        exit 0
    fi
    echo "dev.sh: expected lockgraph to find the demo's cycle (exit 66), got exit $rc" >&2
    exit 1
    ;;
test)
    install_deps
    build
    cd "$build"
    ctest --output-on-failure -j 2
    ;;
*)
    echo "usage: tools/dev.sh demo|test" >&2
    exit 2
    ;;
esac
