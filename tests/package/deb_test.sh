#!/bin/sh
# deb_test.sh - the Debian package `cpack -G DEB` builds.
#
#   deb_test.sh build CPACK BUILD_DIR OUT
#       build the package from BUILD_DIR into OUT (emptied first).
#   deb_test.sh extract OUT DEMO SRC
#       its control data (dependencies from dpkg-shlibdeps, the ldconfig
#       trigger) and contents (library, header, pkg-config and CMake files,
#       command, man pages); what Debian policy asks (a copyright file and
#       a changelog in /usr/share/doc/lockgraph, man pages gzip -9n,
#       binaries stripped), and no lintian error when lintian is installed;
#       unpacked with dpkg -x, the unpacked command runs the demo and finds
#       its cycle.
#   deb_test.sh install OUT DEMO SRC
#       really installs it with dpkg -i, in a throwaway copy of this machine
#       (a private mount namespace, an overlay over /, chroot), so nothing on
#       the machine changes: the ldconfig trigger runs, `lockgraph` is on PATH,
#       LD_PRELOAD=liblockgraph.so works by name, pkg-config, find_package
#       and the man pages work; then dpkg -r removes it all. Needs root and
#       mount namespaces: exit 77 (skipped) where they are not to be had.
#
# Exit 77 also when dpkg-deb is not installed.
set -u
mode=$1
shift
fail() {
    echo "FAIL: $*"
    exit 1
}
command -v dpkg-deb >/dev/null 2>&1 || { echo "SKIP: no dpkg-deb"; exit 77; }

case $mode in
build)
    cpack=$1 build=$2 out=$3
    rm -rf "$out"
    mkdir -p "$out"
    "$cpack" -G DEB -B "$out" --config "$build/CPackConfig.cmake" >"$out/cpack.log" 2>&1 ||
        { cat "$out/cpack.log"; fail "cpack -G DEB"; }
    deb=$(find "$out" -maxdepth 1 -name '*.deb')
    [ -n "$deb" ] || { cat "$out/cpack.log"; fail "cpack wrote no .deb"; }
    echo "built $deb"
    exit 0
    ;;
extract | install) ;;
*)
    echo "usage: deb_test.sh build|extract|install ..." >&2
    exit 2
    ;;
esac

out=$1 demo=$2 src=$3
deb=$(find "$out" -maxdepth 1 -name '*.deb' | head -1)
[ -n "$deb" ] || fail "no package in $out (the package.build test makes it)"
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-deb.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
unset LOCKGRAPH_LIB LOCKGRAPH_OPTIONS LOCKGRAPH_REPORT

if [ "$mode" = extract ]; then
    # Dependencies: what the library and the command link, worked out by
    # dpkg-shlibdeps (libelf1 comes with libdw1).
    depends=$(dpkg-deb -f "$deb" Depends)
    for dep in libc6 libdw1 libjson-c5; do
        echo "$depends" | grep -q "\b$dep\b" || fail "Depends: $depends: lacks $dep"
    done
    dpkg-deb -I "$deb" triggers 2>/dev/null | grep -qx 'activate-noawait ldconfig' ||
        fail "no ldconfig trigger"
    dpkg-deb -I "$deb" shlibs 2>/dev/null | grep -q '^liblockgraph 0 lockgraph' || fail "no shlibs"

    dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
    for want in /usr/bin/lockgraph /usr/include/lockgraph.h '/usr/lib.*/liblockgraph\.so$' \
        '/usr/lib.*/liblockgraph\.so\.0$' '/usr/lib.*/pkgconfig/lockgraph\.pc$' \
        '/usr/lib.*/cmake/lockgraph/lockgraphConfig\.cmake$' \
        '/usr/lib.*/cmake/lockgraph/lockgraphTargets\.cmake$' \
        '/usr/lib.*/cmake/lockgraph/lockgraphTest\.cmake$' \
        '/usr/share/man/man1/lockgraph\.1\.gz$' '/usr/share/man/man3/lockgraph\.3\.gz$' \
        /usr/share/doc/lockgraph/FINDINGS.md /usr/share/doc/lockgraph/README.md \
        '/usr/share/doc/lockgraph/copyright$' '/usr/share/doc/lockgraph/changelog\.gz$'; do
        grep -q "^$want" "$work/contents" || fail "the package lacks $want"
    done
    # Only what an install puts there: no test programs, no build tree.
    grep -q 'build\|/tests\?/\|sc_' "$work/contents" && fail "stray files: $(grep 'build\|/tests\?/\|sc_' "$work/contents")"
    # Manual pages only compressed (Debian policy 12.1).
    grep '^/usr/share/man/' "$work/contents" | grep -v '/$' | grep -v '\.gz$' &&
        fail "uncompressed manual pages in the package"

    root=$work/root
    dpkg -x "$deb" "$root" || fail "dpkg -x"

    # Debian policy: the copyright file (12.5), a native package's
    # changelog (12.7), pages gzip -9n: no file name or time in the gzip
    # header, so the package's bytes do not depend on when it was made
    # (flags byte without FNAME, mtime 0); binaries stripped (10.1).
    doc=$root/usr/share/doc/lockgraph
    grep -q '^Copyright: ' "$doc/copyright" || fail "copyright: no Copyright line"
    grep -q '^License: ' "$doc/copyright" || fail "copyright: no License line"
    version=$(dpkg-deb -f "$deb" Version)
    gzip -dc "$doc/changelog.gz" | head -n 1 | grep -q "^lockgraph ($version) " ||
        fail "changelog.gz does not start with lockgraph ($version): $(gzip -dc "$doc/changelog.gz" | head -n 1)"
    for gz in "$doc/changelog.gz" "$root"/usr/share/man/man*/*.gz; do
        gzip -t "$gz" || fail "$gz: not a gzip file"
        header=$(od -An -tx1 -N8 "$gz" | tr -d ' \n')
        case $header in
        1f8b08[0-9a-f][0-9a-f]00000000) ;;
        *) fail "$gz: gzip header $header has a time stamp (not gzip -n)" ;;
        esac
        flags=$(od -An -tu1 -j3 -N1 "$gz" | tr -d ' ')
        [ $((flags & 8)) = 0 ] || fail "$gz: gzip header names the file (not gzip -n)"
    done
    gzip -dc "$root/usr/share/man/man1/lockgraph.1.gz" | cmp -s - "$src/man/lockgraph.1" ||
        fail "lockgraph.1.gz is not man/lockgraph.1"
    if command -v readelf >/dev/null 2>&1; then
        for bin in "$root/usr/bin/lockgraph" "$root"/usr/lib*/liblockgraph.so.*.*.* \
            "$root"/usr/lib/*/liblockgraph.so.*.*.*; do
            [ -f "$bin" ] || continue
            readelf -S "$bin" | grep -q ' \.symtab\| \.debug_info' && fail "$bin is not stripped"
        done
    fi
    # lintian, when installed: no error; its warnings and notes are shown.
    if command -v lintian >/dev/null 2>&1; then
        lintian --tag-display-limit 0 "$deb" >"$work/lintian" 2>&1
        sed 's/^/  lintian: /' "$work/lintian"
        grep -q '^E: ' "$work/lintian" && fail "lintian finds errors in $(basename "$deb")"
    else
        echo "note: lintian is not installed; not run"
    fi
    lib=$(find "$root/usr" -name liblockgraph.so | head -1)
    [ -n "$lib" ] || fail "no liblockgraph.so unpacked"
    export TMPDIR="$work"
    rc=0
    "$root/usr/bin/lockgraph" run -- "$demo" >"$work/run.out" 2>"$work/run.err" || rc=$?
    [ "$rc" = 66 ] || { cat "$work/run.err"; fail "the unpacked lockgraph run -- demo: exit $rc, want 66"; }
    for want in '== lock-order-cycle #1' 'first locked at transfer (' 'bank.c:3' 'report: '; do
        grep -qF "$want" "$work/run.err" || { cat "$work/run.err"; fail "run output lacks: $want"; }
    done
    # The unpacked library preloaded by hand, by its path.
    LD_PRELOAD=$lib LOCKGRAPH_REPORT="$work/hand.%p.jsonl" LOCKGRAPH_OPTIONS=quiet=1 "$demo" >/dev/null ||
        fail "the demo under the unpacked library"
    cat "$work"/hand.*.jsonl 2>/dev/null | grep -q '"kind":"lock-order-cycle"' ||
        fail "no lock-order-cycle from LD_PRELOAD=$lib"
    "$root/usr/bin/lockgraph" show "$work"/hand.*.jsonl >/dev/null 2>&1
    [ $? = 66 ] || fail "the unpacked lockgraph show: not 66"
    echo "ok: $(basename "$deb"): Depends: $depends"
    exit 0
fi

# ---- install: dpkg -i in a throwaway copy of this machine ----
[ "$(id -u)" = 0 ] || { echo "SKIP: a real install needs root"; exit 77; }
command -v unshare >/dev/null 2>&1 || { echo "SKIP: no unshare"; exit 77; }
mnt=$work/mnt
mkdir "$mnt"
if ! unshare -m --propagation private sh -c "
    mount -t tmpfs lockgraph-deb '$mnt' && mkdir '$mnt/u' '$mnt/w' '$mnt/root' &&
    mount -t overlay lockgraph-deb -o lowerdir=/,upperdir='$mnt/u',workdir='$mnt/w' '$mnt/root'
    " >"$work/probe.log" 2>&1; then
    echo "SKIP: cannot make a private overlay of / here (unshare -m, overlayfs):"
    sed 's/^/  | /' "$work/probe.log"
    exit 77
fi

# Runs inside the copy, as root, after dpkg -i.
cat >"$work/inside.sh" <<'EOF'
set -u
cd /tmp/t
fail() { echo "FAIL (installed): $*"; exit 1; }
export TMPDIR=/tmp/t/tmp
mkdir -p "$TMPDIR"
unset LOCKGRAPH_LIB LOCKGRAPH_OPTIONS LOCKGRAPH_REPORT LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH
ldconfig -p | grep -q 'liblockgraph\.so\.0 ' || fail "the ldconfig trigger did not run: not in ldconfig -p"
[ "$(command -v lockgraph)" = /usr/bin/lockgraph ] || fail "lockgraph is not /usr/bin/lockgraph on PATH"
rc=0
lockgraph run -- ./demo >run.out 2>run.err || rc=$?
[ "$rc" = 66 ] || { cat run.err; fail "lockgraph run -- demo: exit $rc, want 66"; }
grep -qF '== lock-order-cycle #1' run.err || { cat run.err; fail "no cycle in run's output"; }
LD_PRELOAD=liblockgraph.so LOCKGRAPH_REPORT=/tmp/t/lg.%p.jsonl LOCKGRAPH_OPTIONS=quiet=1 ./demo >out.txt 2>err.txt ||
    { cat err.txt; fail "LD_PRELOAD=liblockgraph.so ./demo"; }
grep -q 'cannot be preloaded' err.txt && { cat err.txt; fail "the loader did not find liblockgraph.so by name"; }
cat lg.*.jsonl 2>/dev/null | grep -q '"kind":"lock-order-cycle"' || fail "no finding from LD_PRELOAD=liblockgraph.so"
[ "$(pkg-config --modversion lockgraph)" = "$VERSION" ] || fail "pkg-config --modversion lockgraph"
cc -o pc-consumer consumer/main.c $(pkg-config --cflags --libs lockgraph) -lpthread ||
    fail "cc with pkg-config lockgraph"
LOCKGRAPH_REPORT=/tmp/t/pc.%p.jsonl LOCKGRAPH_OPTIONS=quiet=1 ./pc-consumer || fail "the pkg-config consumer"
cmake -S consumer -B consumer-build >cmake.log 2>&1 && cmake --build consumer-build >>cmake.log 2>&1 ||
    { cat cmake.log; fail "find_package(lockgraph) consumer"; }
(cd consumer-build && ctest -R '^consumer\.clean$' >ctest.log 2>&1) || { cat consumer-build/ctest.log; fail "lockgraph_add_test: the clean test"; }
man -w 1 lockgraph | grep -q '^/usr/share/man/man1/lockgraph\.1' || fail "man 1 lockgraph"
man -w 3 lockgraph | grep -q '^/usr/share/man/man3/lockgraph\.3' || fail "man 3 lockgraph"
dpkg -r lockgraph >remove.log 2>&1 || { cat remove.log; fail "dpkg -r lockgraph"; }
for f in /usr/bin/lockgraph /usr/include/lockgraph.h /usr/share/man/man1/lockgraph.1; do
    [ -e "$f" ] && fail "$f left after dpkg -r"
done
find /usr/lib -name 'liblockgraph*' | grep -q . && fail "the library left after dpkg -r"
ldconfig -p | grep -q liblockgraph && fail "ldconfig still lists liblockgraph after dpkg -r"
echo "ok (installed): ldconfig, PATH, LD_PRELOAD by name, pkg-config, find_package, man; removed"
EOF

version=$(dpkg-deb -f "$deb" Version)
# shellcheck disable=SC2016 # expanded by the inner sh, from its arguments
unshare -m --propagation private sh -c '
    set -e
    mnt=$1 deb=$2 demo=$3 src=$4 inside=$5 version=$6
    mount -t tmpfs lockgraph-deb "$mnt"
    mkdir "$mnt/u" "$mnt/w" "$mnt/root"
    mount -t overlay lockgraph-deb -o lowerdir=/,upperdir="$mnt/u",workdir="$mnt/w" "$mnt/root"
    r=$mnt/root
    mount --rbind /proc "$r/proc"
    mount --rbind /dev "$r/dev"
    mount -t tmpfs lockgraph-deb-tmp "$r/tmp"
    mkdir "$r/tmp/t"
    cp "$deb" "$r/tmp/t/lockgraph.deb"
    cp "$demo" "$r/tmp/t/demo"
    cp -r "$src/tests/install/consumer" "$r/tmp/t/consumer"
    cp "$inside" "$r/tmp/t/inside.sh"
    chroot "$r" sh -c "dpkg -i /tmp/t/lockgraph.deb >/tmp/t/install.log 2>&1 ||
        { cat /tmp/t/install.log; echo \"FAIL: dpkg -i\"; exit 1; }"
    VERSION=$version chroot "$r" sh /tmp/t/inside.sh
' sh "$mnt" "$deb" "$demo" "$src" "$work/inside.sh" "$version"
rc=$?
rmdir "$mnt" 2>/dev/null
exit $rc
