#!/bin/sh
# tools/dev.sh - set up a Debian 12 machine, build, and run.
#
#   tools/dev.sh demo   install what the demo needs, build the library, the
#                       command and the demo (no tests), run the bank demo
#                       under `lockgraph run` and show the cycle it finds
#   tools/dev.sh test   install what every test needs, build everything, run
#                       every test (ctest)
#
# Installing needs root (or sudo); set LG_NO_INSTALL=1 to skip it. The build
# goes to ./build (LG_BUILD_DIR to change it).
set -eu
cd "$(dirname "$0")/.."
build=${LG_BUILD_DIR:-build}

# The demo: a C compiler, CMake, and the two libraries the lockgraph command
# reads findings and symbols with (json-c; elfutils' libdw and libelf).
DEMO_PACKAGES="gcc libc6-dev make cmake pkg-config libjson-c-dev libdw-dev libelf-dev"
# Every test, on top of that: g++ (two C++ scenario programs); CUnit;
# jemalloc (a scenario run under it); graphviz (lockgraph dot --svg, the
# HTML report's picture, the test that parses DOT back); chromium (the test
# that loads the HTML report in a headless browser); clang and
# libclang-rt-14-dev (the libFuzzer target for the findings reader);
# dpkg-dev and file (cpack -G DEB works out the package's dependencies with
# dpkg-shlibdeps); lintian (the package test holds the .deb to Debian
# policy); man-db (man --warnings on the man pages).
TEST_PACKAGES="$DEMO_PACKAGES g++ libcunit1-dev libjemalloc-dev libjemalloc2 graphviz chromium
clang libclang-rt-14-dev dpkg-dev file lintian man-db"

# install_deps PACKAGES...: apt-get install those not installed yet.
install_deps() {
    [ "${LG_NO_INSTALL:-0}" = 1 ] && return 0
    missing=""
    for p in "$@"; do
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
    # shellcheck disable=SC2086 # one package a word
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
}

build_all() {
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCKGRAPH_BUILD_TESTS=ON \
        -DLOCKGRAPH_BUILD_TOOLS=ON
    cmake --build "$build" -j "$(nproc)"
}

# The library, the command and the two demo programs only. A build tree
# configured before (by `test`, say) keeps its settings, tests included.
build_demo() {
    if [ -f "$build/CMakeCache.txt" ]; then
        cmake -S . -B "$build" >/dev/null
    else
        cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCKGRAPH_BUILD_TESTS=OFF \
            -DLOCKGRAPH_BUILD_TOOLS=ON
    fi
    cmake --build "$build" -j "$(nproc)" --target lockgraph lockgraph_cli lockgraph-demo-bank \
        lockgraph-demo-bank-fixed
}

case "${1:-}" in
demo)
    # shellcheck disable=SC2086 # one package a word
    install_deps $DEMO_PACKAGES
    build_demo
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
    # shellcheck disable=SC2086
    install_deps $TEST_PACKAGES
    build_all
    cd "$build"
    ctest --output-on-failure -j 2
    ;;
*)
    echo "usage: tools/dev.sh demo|test" >&2
    exit 2
    ;;
esac
