#!/bin/sh
# stress/real_programs.sh [BUILD_DIR] - real, unmodified multithreaded
# programs from Debian's packages, natively and under `lockgraph run`, in the
# same run, with bounded workloads on local files and loopback only.
#
# Per program and variant it prints: whether it survived under lockgraph
# (exit status as native), whether its output is still right (a compression
# round trip matches byte for byte; a server answered its load generator
# without errors), the number of findings other than held-across-io (which
# must be 0), the number of held-across-io pairs (locks held across
# blocking I/O: reported, not a failure; redis holds one lock in its main
# thread for its whole life), and the time ratio to native.
# Variants: default threads; the same with jemalloc preloaded beside
# lockgraph (the allocator's own mutexes, taken inside malloc, go through
# lockgraph); and 64 threads where the program takes a thread count.
#
# Needs: pigz xz-utils zstd memcached libmemcached-tools redis-server
# redis-tools stress-ng libjemalloc2 (apt-get install them; missing
# programs are skipped and said so). A measurement, not part of ctest.
set -u
build=${1:-$(dirname "$0")/../build}
lg=$build/tools/lockgraph
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
work=$(mktemp -d)
# memcached wants an eventfd and more per worker thread: 64 threads need
# more than the usual 1024 descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true
trap 'rm -rf "$work"' EXIT
failed=0

now() { date +%s.%N; }
have() { command -v "$1" >/dev/null 2>&1; }

# 24 MB of compressible text
base64 </dev/urandom 2>/dev/null | head -c 24000000 >"$work/in.txt"

printf '%-10s %-9s %-8s %-6s %-8s %-8s %9s %9s %7s\n' program variant survived output findings \
    "io pairs" "native s" "lg s" ratio
row() { # program variant survived output findings(name prefix) native lg
    ratio=$(echo "$7 / ($6 + 0.0001)" | bc -l)
    n=$(findings "$5")
    printf '%-10s %-9s %-8s %-6s %-8s %-8s %9.2f %9.2f %6.1fx\n' "$1" "$2" "$3" "$4" "$n" \
        "$(io_pairs "$5")" "$6" "$7" "$ratio"
    [ "$3" = yes ] && [ "$4" = ok ] && [ "$n" = 0 ] || failed=1
}

findings() { # report name prefix: findings other than held-across-io
    cat "$work"/"$1".*.jsonl 2>/dev/null |
        grep -v '"kind":"detector-error"' | grep -vc '"kind":"held-across-io"' || true
}

io_pairs() { # report name prefix: held-across-io pairs (first lines only)
    cat "$work"/"$1".*.jsonl 2>/dev/null |
        grep '"kind":"held-across-io"' | grep -c '"final":false' || true
}

# run_lg NAME PRELOAD CMD...: under lockgraph, report files $work/NAME.<pid>.jsonl
run_lg() {
    name=$1 pre=$2
    shift 2
    if [ -n "$pre" ]; then
        LD_PRELOAD=$pre "$lg" run --report "$work/$name.%p.jsonl" --exit-code 0 -- "$@"
    else
        "$lg" run --report "$work/$name.%p.jsonl" --exit-code 0 -- "$@"
    fi
}

variant_preload() { [ "$1" = jemalloc ] && echo "$jemalloc" || echo ""; }

# ---- compressors: round trip must match --------------------------------
compressor() { # name threads-flag decompress-cmd
    prog=$1 tflag=$2 dec=$3
    have "$prog" || { echo "$prog: not installed, skipped"; return; }
    for v in default jemalloc t64; do
        [ "$v" = jemalloc ] && [ ! -r "$jemalloc" ] && continue
        flag=$tflag
        [ "$v" = t64 ] && flag=$(echo "$tflag" | sed 's/2$/64/')
        pre=$(variant_preload "$v")
        t0=$(now)
        env ${pre:+LD_PRELOAD=$pre} $prog $flag -c "$work/in.txt" >"$work/native.out" 2>/dev/null
        st_native=$?
        t1=$(now)
        run_lg "$prog-$v" "$pre" $prog $flag -c "$work/in.txt" >"$work/lg.out" 2>"$work/lg.err"
        st_lg=$?
        t2=$(now)
        survived=no
        [ "$st_lg" = "$st_native" ] && survived=yes
        out=bad
        $dec <"$work/lg.out" 2>/dev/null | cmp -s - "$work/in.txt" && out=ok
        row "$prog" "$v" "$survived" "$out" "$prog-$v" \
            "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
    done
}

compressor pigz "-p 2" "pigz -dc"
compressor xz "-3 -T2" "xz -dc"
compressor zstd "-3 -T2" "zstd -dc"

# ---- servers: the load generator must succeed -----------------------------
# serve NAME VARIANT PORT SERVER-CMD LOAD-CMD STOP-CMD
serve() {
    name=$1 v=$2 port=$3 server=$4 load=$5 stop=$6
    pre=$(variant_preload "$v")
    # native
    env ${pre:+LD_PRELOAD=$pre} sh -c "exec $server" >/dev/null 2>&1 &
    spid=$!
    sleep 1
    t0=$(now)
    sh -c "$load" >"$work/load-native.out" 2>&1
    t1=$(now)
    sh -c "$stop" >/dev/null 2>&1
    wait "$spid" 2>/dev/null
    # under lockgraph
    (run_lg "$name-$v" "$pre" sh -c "exec $server" >"$work/lg-server.out" 2>"$work/lg-server.err") &
    sleep 1.5
    t2=$(now)
    sh -c "$load" >"$work/load-lg.out" 2>&1
    load_st=$?
    t3=$(now)
    sh -c "$stop" >/dev/null 2>&1
    wait
    survived=no
    grep -q "lockgraph: .*report:" "$work/lg-server.err" && survived=yes
    out=bad
    [ "$load_st" = 0 ] && ! grep -qi "error\|fail" "$work/load-lg.out" && out=ok
    row "$name" "$v" "$survived" "$out" "$name-$v" \
        "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)"
}

if have memcached && have memcslap; then
    for v in default jemalloc t64; do
        threads=4
        [ "$v" = t64 ] && threads=64
        serve memcached "$v" 21211 \
            "memcached -u root -t $threads -p 21211 -U 0 -l 127.0.0.1 -c 4096" \
            "memcslap --servers=127.0.0.1:21211 --concurrency=8 --execute-number=4000" \
            "pkill -INT -f 'memcached -u root -t $threads -p 21211'"
    done
else
    echo "memcached/memcslap: not installed, skipped"
fi

if have redis-server && have redis-benchmark; then
    for v in default jemalloc; do
        serve redis "$v" 26379 \
            "redis-server --port 26379 --bind 127.0.0.1 --save '' --appendonly no --io-threads 2 --io-threads-do-reads yes" \
            "redis-benchmark -p 26379 -n 20000 -c 20 -q -t set,get,lpush,lpop,incr" \
            "redis-cli -p 26379 shutdown nosave"
    done
else
    echo "redis-server/redis-benchmark: not installed, skipped"
fi

# ---- stress-ng's mutex stressor -------------------------------------------
if have stress-ng; then
    for v in default jemalloc t64; do
        n=2
        [ "$v" = t64 ] && n=64
        pre=$(variant_preload "$v")
        args="--mutex $n --mutex-ops 200000 --timeout 60"
        t0=$(now)
        env ${pre:+LD_PRELOAD=$pre} stress-ng $args >/dev/null 2>&1
        st_native=$?
        t1=$(now)
        run_lg "stressng-$v" "$pre" stress-ng $args >"$work/sn.err" 2>&1
        st_lg=$?
        t2=$(now)
        # stress-ng exits 3 when it ran short of resources, which 64 hogs on
        # a small machine sometimes do natively too: survived means it
        # completed under lockgraph as it does, or better than, natively.
        survived=no
        { [ "$st_lg" = "$st_native" ] || [ "$st_lg" = 0 ]; } && survived=yes
        [ "$st_lg" != "$st_native" ] && echo "stress-ng $v: exit $st_native natively, $st_lg under lockgraph:" &&
            tail -5 "$work/sn.err"
        out=bad
        { [ "$st_lg" = 0 ] || [ "$st_lg" = "$st_native" ]; } && out=ok
        row stress-ng "$v" "$survived" "$out" "stressng-$v" \
            "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
    done
else
    echo "stress-ng: not installed, skipped"
fi

if [ "$failed" = 0 ]; then
    echo "all survived with correct output and no findings"
else
    echo "some program did not survive, gave wrong output, or had findings: look above"
fi
exit "$failed"
