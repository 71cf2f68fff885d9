#!/usr/bin/env bash
# stress/real_programs.sh - real, unmodified multithreaded programs from
# Debian's packages, natively and under `lockgraph run`, runs interleaved,
# with bounded workloads on local files and loopback only.
#
# Per program and variant it prints: whether it survived every run under
# lockgraph (exit status as native), whether its output was right every time
# (a compression round trip matches byte for byte; a server answered its load
# generator without errors or failed verifications), the number of findings
# other than held-across-io and held-across-wait (which must be 0), the
# number of those pairs ("io": locks held across blocking I/O or a wait on
# another thread: reported, not a failure; redis holds one lock in its main
# thread for its whole life, pigz joins a finished worker holding its thread
# list's lock), and the cost: min and
# median of --runs runs per side, and lockgraph's overhead on the medians.
# The metric is throughput where there is a load generator (memcached ops/s
# under memaslap, redis requests/s under redis-benchmark) and wall time
# otherwise (compressors, stress-ng's fixed number of mutex operations).
# Servers run under `lockgraph run`, as a user would; the programs timed on
# the wall clock run with the library preloaded directly (LD_PRELOAD and
# LOCKGRAPH_REPORT, as `run` sets them), so their time is the watched
# program's own: `run`'s report at exit (reading and symbolizing the
# findings with libdw, ~0.1 s when pigz's one finding is there) is a fixed
# cost per run, not a slowdown of the program, and would otherwise be 20%
# of a 0.5 s compression.
# "noise" is the native runs' spread, (max - min) / median: an overhead
# smaller than it is not a measured difference. For the programs timed on
# the wall clock (compressors, stress-ng) it also prints "cpu": lockgraph's
# overhead on the median CPU time (user + system of the program and its
# children, lockgraph run included), which a machine shared with other work
# disturbs far less than the wall clock: on 2 shared vCPUs a busy neighbour
# takes a compressor's second core away, the wall time grows, the CPU time
# does not.
#
# Variants: default threads; the same with jemalloc preloaded beside
# lockgraph (the allocator's own mutexes, taken inside malloc, go through
# lockgraph); and many threads where the program takes a thread count (64;
# for redis, whose I/O threads spin on two shared CPUs, --io-threads 2).
#
# Needs (Debian packages; missing programs are skipped and said so):
#   pigz xz-utils zstd               compressors
#   memcached libmemcached-tools     memcached, memaslap (memcaslap), memcping
#   redis-server redis-tools         redis-server, redis-benchmark, redis-cli
#   stress-ng                        its mutex stressor
#   libjemalloc2                     the jemalloc variant
#   bc                               arithmetic
# A measurement, not part of ctest. Exit status: 0 when every program
# survived with right output and no findings, 1 otherwise, 2 bad usage.
#
# Usage: real_programs.sh [--runs N] [--variants LIST] [--programs LIST]
#                         [--seconds S] [BUILD_DIR]
#   --runs N       runs per side, interleaved (default 5)
#   --variants     comma list of default,jemalloc,many (default all three)
#   --programs     comma list of pigz,xz,zstd,memcached,redis,stress-ng
#   --seconds S    memaslap run time per run (default 4)
set -u

runs=5 variants=default,jemalloc,many programs=pigz,xz,zstd,memcached,redis,stress-ng
mc_seconds=4 build=
usage() { sed -n '/^# Usage:/,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift ;;
    --variants) variants=$2; shift ;;
    --programs) programs=$2; shift ;;
    --seconds) mc_seconds=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "real_programs.sh: unknown argument $1" >&2; exit 2 ;;
    *) build=$1 ;;
    esac
    shift
done
case "$runs" in '' | *[!0-9]* | 0) echo "real_programs.sh: bad --runs $runs" >&2; exit 2 ;; esac
build=${build:-$(dirname "$0")/../build}
lg=$build/tools/lockgraph
lib=$(cd "$build/lib" 2>/dev/null && pwd)/liblockgraph.so
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -x "$lg" ] || { echo "real_programs.sh: $lg not found (build first)" >&2; exit 2; }
[ -r "$lib" ] || { echo "real_programs.sh: $lib not found (build first)" >&2; exit 2; }
command -v bc >/dev/null || { echo "real_programs.sh: needs bc (apt-get install bc)" >&2; exit 2; }
work=$(mktemp -d)
# memcached wants an eventfd and more per worker thread: 64 threads need
# more than the usual 1024 descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true
trap 'rm -rf "$work"' EXIT
failed=0

now() { date +%s.%N; }
# timed CPUFILE CMD...: run CMD (its output as redirected by the caller),
# append its CPU seconds (user + system of its children, from bash's
# `times`) to CPUFILE; returns CMD's status.
timed() {
    local cpu=$1 st
    shift
    "$@"
    st=$?
    times >"$cpu.times" # (not in a pipe: that would be a subshell's times)
    awk 'NR == 2 {
        n = split($1 " " $2, f, " "); s = 0
        for (i = 1; i <= n; i++) { split(f[i], ms, "m"); sub("s", "", ms[2]); s += ms[1] * 60 + ms[2] }
        print s }' "$cpu.times" >>"$cpu"
    return "$st"
}
# cpu_overhead NAME: lockgraph's median CPU time over native's, in %, or -
cpu_overhead() {
    [ -s "$work/$1.native.cpu" ] && [ -s "$work/$1.lg.cpu" ] || { echo -; return; }
    local nm lm
    read -r _ nm _ < <(stats "$work/$1.native.cpu")
    read -r _ lm _ < <(stats "$work/$1.lg.cpu")
    awk -v n="$nm" -v l="$lm" 'BEGIN { if (n > 0) printf "%.1f%%", (l / n - 1) * 100; else print "-" }'
}
have() { command -v "$1" >/dev/null 2>&1; }
wanted() { case ",$2," in *",$1,"*) return 0 ;; esac; return 1; }

# 24 MB of compressible text
base64 </dev/urandom 2>/dev/null | head -c 24000000 >"$work/in.txt"

echo "real programs, native vs lockgraph, $runs runs per side interleaved," \
    "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-8s %-4s %-4s %-4s %-3s %-8s %21s %21s %8s %6s %6s\n' program variant surv out \
    find io metric "native min / median" "lockgraph min / median" overhead noise cpu

# stats DIR-FILE: "min median max" of the numbers in a file, one a line
stats() {
    sort -g "$1" | awk '{ a[NR] = $1 } END {
        if (!NR) { print "0 0 0"; exit }
        m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        print a[1], m, a[NR] }'
}

# row PROGRAM VARIANT SURVIVED OUTPUT NAME METRIC: METRIC is s (lower is
# better) or ops/s (higher is better); samples in $work/NAME.{native,lg}
row() {
    local p=$1 v=$2 surv=$3 out=$4 name=$5 metric=$6
    local n io nmin nmed nmax lmin lmed lmax
    n=$(findings "$name")
    io=$(io_pairs "$name")
    read -r nmin nmed nmax < <(stats "$work/$name.native")
    read -r lmin lmed lmax < <(stats "$work/$name.lg")
    local cpu
    cpu=$(cpu_overhead "$name")
    # overhead: how much more time, or how much less throughput, in %
    awk -v p="$p" -v v="$v" -v s="$surv" -v o="$out" -v n="$n" -v io="$io" -v m="$metric" \
        -v a="$nmin" -v b="$nmed" -v c="$nmax" -v d="$lmin" -v e="$lmed" -v cpu="$cpu" 'BEGIN {
        f = (m == "s") ? "%9.2f / %-9.2f" : "%9.0f / %-9.0f"
        if (b > 0) ov = (m == "s") ? (e / b - 1) * 100 : (1 - e / b) * 100
        printf "%-10s %-8s %-4s %-4s %-4s %-3s %-8s %21s %21s %7.1f%% %5.1f%% %6s\n", p, v, s, o, n, io,
            m, sprintf(f, a, b), sprintf(f, d, e), ov, (b > 0 ? (c - a) / b * 100 : 0), cpu }'
    [ "$surv" = yes ] && [ "$out" = ok ] && [ "$n" = 0 ] || failed=1
}

findings() { # report name prefix: findings other than held-across-io/wait
    cat "$work"/"$1".*.jsonl 2>/dev/null |
        grep -v '"kind":"detector-error"' | grep -v '"kind":"held-across-io"' |
        grep -vc '"kind":"held-across-wait"' || true
}

io_pairs() { # report name prefix: held-across-io and -wait pairs, the most of any run
    local f m=0 c
    for f in "$work"/"$1".*.jsonl; do
        [ -e "$f" ] || continue
        c=$(grep -E '"kind":"held-across-(io|wait)"' "$f" | grep -c '"final":false')
        [ "$c" -gt "$m" ] && m=$c
    done
    echo "$m"
}

# run_pre NAME PRELOAD CMD...: the library preloaded directly (what `run`
# sets up, without its report at exit), report files $work/NAME.<pid>.jsonl
run_pre() {
    local name=$1 pre=$2
    shift 2
    LD_PRELOAD="$lib${pre:+:$pre}" LOCKGRAPH_REPORT="$work/$name.%p.jsonl" \
        LOCKGRAPH_OPTIONS=quiet=1 "$@"
}

variant_preload() { [ "$1" = jemalloc ] && echo "$jemalloc" || echo ""; }
variant_ok() { # a variant that can run here
    wanted "$1" "$variants" || return 1
    [ "$1" = jemalloc ] && [ ! -r "$jemalloc" ] &&
        echo "jemalloc variant: $jemalloc missing (apt-get install libjemalloc2), skipped" &&
        return 1
    return 0
}

# ---- compressors: wall time; the round trip must match ---------------------
compressor() { # name threads-flag decompress-cmd
    local prog=$1 tflag=$2 dec=$3 v flag pre name st_native st_lg t0 t1 t2 survived out r
    wanted "$prog" "$programs" || return 0
    have "$prog" || { echo "$prog: not installed, skipped"; return; }
    for v in default jemalloc many; do
        variant_ok "$v" || continue
        flag=$tflag
        [ "$v" = many ] && flag=${tflag%2}64
        pre=$(variant_preload "$v")
        name=$prog-$v survived=yes out=ok
        : >"$work/$name.native"
        : >"$work/$name.lg"
        : >"$work/$name.native.cpu"
        : >"$work/$name.lg.cpu"
        for r in $(seq 1 "$runs"); do
            t0=$(now)
            (timed "$work/$name.native.cpu" env ${pre:+LD_PRELOAD=$pre} $prog $flag -c "$work/in.txt") \
                >"$work/native.out" 2>/dev/null
            st_native=$?
            t1=$(now)
            (timed "$work/$name.lg.cpu" run_pre "$name" "$pre" $prog $flag -c "$work/in.txt") \
                >"$work/lg.out" 2>"$work/lg.err"
            st_lg=$?
            t2=$(now)
            echo "$t1 - $t0" | bc >>"$work/$name.native"
            echo "$t2 - $t1" | bc >>"$work/$name.lg"
            [ "$st_lg" = "$st_native" ] || survived=no
            $dec <"$work/lg.out" 2>/dev/null | cmp -s - "$work/in.txt" || out=bad
        done
        row "$prog" "$v" "$survived" "$out" "$name" s
    done
}

compressor pigz "-p 2" "pigz -dc"
compressor xz "-3 -T2" "xz -dc"
compressor zstd "-3 -T2" "zstd -dc"

# ---- servers: throughput under the load generator ------------------------
# wait_ready CMD: poll until the server answers (at most 10 s)
wait_ready() {
    local i
    for i in $(seq 1 100); do
        sh -c "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# serve NAME VARIANT SERVER-CMD READY-CMD LOAD-CMD PARSE-FN CHECK-FN STOP-CMD:
# runs interleaved; PARSE-FN prints the throughput from the load's output,
# CHECK-FN succeeds when that output shows no error. STOP-CMD may use $SPID:
# the server's pid natively, `lockgraph run`'s under lockgraph (it forwards
# the signal to the server).
serve() {
    local name=$1 v=$2 server=$3 ready=$4 load=$5 parse=$6 check=$7 stop=$8
    local pre r spid survived=yes out=ok tag=$1-$2
    pre=$(variant_preload "$v")
    : >"$work/$tag.native"
    : >"$work/$tag.lg"
    for r in $(seq 1 "$runs"); do
        # native
        env ${pre:+LD_PRELOAD=$pre} sh -c "exec $server" >/dev/null 2>&1 &
        spid=$!
        wait_ready "$ready"
        sh -c "$load" >"$work/load-native.out" 2>&1
        $parse "$work/load-native.out" >>"$work/$tag.native"
        SPID=$spid sh -c "$stop" >/dev/null 2>&1
        wait "$spid" 2>/dev/null
        # under lockgraph
        env ${pre:+LD_PRELOAD=$pre} "$lg" run --report "$work/$tag.%p.jsonl" --exit-code 0 -- \
            sh -c "exec $server" >"$work/lg-server.out" 2>"$work/lg-server.err" &
        spid=$!
        wait_ready "$ready"
        sh -c "$load" >"$work/load-lg.out" 2>&1
        local load_st=$?
        $parse "$work/load-lg.out" >>"$work/$tag.lg"
        SPID=$spid sh -c "$stop" >/dev/null 2>&1
        wait "$spid" 2>/dev/null
        grep -q "lockgraph: .*report:" "$work/lg-server.err" || survived=no
        { [ "$load_st" = 0 ] && $check "$work/load-lg.out"; } || out=bad
    done
    row "$name" "$v" "$survived" "$out" "$tag" ops/s
}

mc_parse() { sed -n 's/.*TPS: \([0-9]*\).*/\1/p' "$1" | tail -n1 | grep . || echo 0; }
mc_check() {
    grep -q "TPS: [1-9]" "$1" && grep -q "^verify_failed: 0" "$1" &&
        ! grep -qi "error\|fail[^e]" "$1"
}

if wanted memcached "$programs"; then
    if have memcached && have memcaslap && have memcping; then
        for v in default jemalloc many; do
            variant_ok "$v" || continue
            threads=4
            [ "$v" = many ] && threads=64
            # memaslap: 2 client threads, 32 connections, 90% get / 10% set,
            # 5% of gets verified against what was set.
            serve memcached "$v" \
                "memcached -u root -t $threads -p 21211 -U 0 -l 127.0.0.1 -c 4096" \
                "memcping --servers=127.0.0.1:21211" \
                "memcaslap -s 127.0.0.1:21211 -T 2 -c 32 -t ${mc_seconds}s -v 0.05" \
                mc_parse mc_check \
                'kill -INT $SPID'
        done
    else
        echo "memcached/memaslap: not installed (apt-get install memcached libmemcached-tools), skipped"
    fi
fi

# redis-benchmark --csv: "TEST","rps",...; the throughput of the whole run is
# the requests over the time they took: n * tests / sum(n / rps).
rd_parse() {
    awk -F'"' '$2 != "test" && $4 > 0 { t += 1 / $4; k++ } END { printf "%.0f\n", k ? k / t : 0 }' "$1"
}
rd_check() { ! grep -qi "error" "$1" && [ "$(rd_parse "$1")" -gt 0 ]; }

if wanted redis "$programs"; then
    if have redis-server && have redis-benchmark && have redis-cli; then
        for v in default jemalloc many; do
            variant_ok "$v" || continue
            iot=1
            [ "$v" = many ] && iot=2
            serve redis "$v" \
                "redis-server --port 26379 --bind 127.0.0.1 --save '' --appendonly no --io-threads $iot --io-threads-do-reads yes" \
                "redis-cli -p 26379 ping | grep -q PONG" \
                "redis-benchmark -p 26379 -n 50000 -c 20 -q --csv -t set,get,lpush,lpop,incr" \
                rd_parse rd_check \
                "redis-cli -p 26379 shutdown nosave"
        done
    else
        echo "redis-server/redis-benchmark: not installed (apt-get install redis-server redis-tools), skipped"
    fi
fi

# ---- stress-ng's mutex stressor: a fixed number of operations, wall time ----
if wanted stress-ng "$programs"; then
    if have stress-ng; then
        for v in default jemalloc many; do
            variant_ok "$v" || continue
            n=2
            [ "$v" = many ] && n=64
            pre=$(variant_preload "$v")
            args="--mutex $n --mutex-ops 200000 --timeout 60"
            name=stressng-$v survived=yes out=ok
            : >"$work/$name.native"
            : >"$work/$name.lg"
            : >"$work/$name.native.cpu"
            : >"$work/$name.lg.cpu"
            for r in $(seq 1 "$runs"); do
                t0=$(now)
                (timed "$work/$name.native.cpu" env ${pre:+LD_PRELOAD=$pre} stress-ng $args) \
                    >/dev/null 2>&1
                st_native=$?
                t1=$(now)
                (timed "$work/$name.lg.cpu" run_pre "$name" "$pre" stress-ng $args) >"$work/sn.err" 2>&1
                st_lg=$?
                t2=$(now)
                echo "$t1 - $t0" | bc >>"$work/$name.native"
                echo "$t2 - $t1" | bc >>"$work/$name.lg"
                # stress-ng exits 3 when it ran short of resources, which 64
                # hogs on a small machine sometimes do natively too: survived
                # means it completed under lockgraph as it does, or better
                # than, natively.
                # (3: "out of system resources", which this machine gives
                # natively too, now and then, with 2 hogs and jemalloc)
                if [ "$st_lg" != "$st_native" ] && [ "$st_lg" != 0 ] && [ "$st_lg" != 3 ]; then
                    survived=no out=bad
                    echo "stress-ng $v: exit $st_native natively, $st_lg under lockgraph:"
                    tail -5 "$work/sn.err"
                fi
            done
            row stress-ng "$v" "$survived" "$out" "$name" s
        done
    else
        echo "stress-ng: not installed (apt-get install stress-ng), skipped"
    fi
fi

echo "overhead: lockgraph's median over native's (time: % more; ops/s: % fewer);" \
    "noise: native's (max - min) / median; cpu: the same on CPU time (user + system)"
if [ "$failed" = 0 ]; then
    echo "all survived with correct output and no findings"
else
    echo "some program did not survive, gave wrong output, or had findings: look above"
fi
exit "$failed"
