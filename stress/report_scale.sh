#!/bin/sh
# report_scale.sh - how `report`, `show`, `merge` and `dot` scale with their
# input: about 200 MB of findings (~150,000 findings, few distinct) and
# 200 MB of graph files, each verb timed with its peak memory.
#
# usage: stress/report_scale.sh [--lockgraph BIN] [--compare OLD_BIN] [--mb N]
#                               [--limit S] [--dir DIR] [--keep]
#   --lockgraph BIN  the tool to measure (default: build/tools/lockgraph)
#   --compare BIN    another build of the tool (an older one) measured on the
#                    same input, side by side
#   --limit S        stop a run after S seconds (default 300); it is shown
#                    as ">S", with the time and memory it had used
#   --only NAME      measure only the rows whose verb starts with NAME
#                    (report, show, merge, dot; repeatable)
#   --mb N           megabytes of findings, and of graph files (default 200)
#   --dir DIR        where the input is made (default: a new $TMPDIR directory)
#   --keep           leave the input there
#
# The findings are real recorded lines (tests/tool/data: deadlocks, a long
# wait, a long hold, held-across-io pairs, written by liblockgraph.so)
# repeated with a new pid and seq each, as many processes' files concatenated
# would be: every line is a finding of its own, and they are a handful of
# distinct findings. They are split over 40 files. Their modules are recorded
# under /nonexistent/ (so tests symbolize the same anywhere); here they are
# pointed at files that exist, build-ids dropped, so every stack is really
# looked up with libdw: the programs at the lockgraph binary itself (built
# with debug info), libc at this machine's libc. The graph files are the
# handcrafted ones of tests/tool/data (graph-clean-a, graph-cycle-a and -b)
# with their keys renamed 200 ways, so each file is a 200-fold program; 450
# files, half with each half of a cycle only the union shows.
#
# Targets (issue 14): each verb at most 10 s and 256 MB peak RSS on 200 MB.
# This is a measurement, not a test: it prints a table and exits 0 whatever
# the numbers (1 only when it cannot run). Not registered with ctest.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
data=$src/tests/tool/data
lg=$src/build/tools/lockgraph
old=
mb=200
limit=300
only=
dir=
keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --lockgraph) lg=$2; shift 2 ;;
    --compare) old=$2; shift 2 ;;
    --mb) mb=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --only) only="$only $2"; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "report_scale.sh: unknown option $1" >&2; exit 1 ;;
    esac
done
[ -x "$lg" ] || { echo "report_scale.sh: no lockgraph at $lg (build it, or --lockgraph)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "report_scale.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-scale.XXXXXX")
    [ "$keep" = 1 ] || trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir/findings" "$dir/graphs"

# ---- findings: real lines, a new pid and seq each ----
bytes=$((mb * 1024 * 1024))
if [ ! -e "$dir/findings/.done-$mb" ]; then
    rm -f "$dir"/findings/*.jsonl
    cat "$data/deadlock-two.jsonl" "$data/deadlock-three.jsonl" "$data/deadlock-timed.jsonl" \
        "$data/long-wait.jsonl" "$data/long-hold.jsonl" "$data/io-fd.jsonl" \
        "$data/io-socket.jsonl" "$data/io-sleep.jsonl" >"$dir/templates.recorded"
    libc=$(ldd "$lg" | awk '$1 ~ /^libc\.so/ { print $3 }')
    sed -e "s|\"path\":\"/nonexistent/lockgraph-test/libc\.so\.6\"|\"path\":\"${libc:-/nonexistent}\"|g" \
        -e "s|\"path\":\"/nonexistent/lockgraph-test/sc_[a-z_]*\"|\"path\":\"$lg\"|g" \
        -e 's|,"build_id":"[0-9a-f]*"||g' "$dir/templates.recorded" >"$dir/templates"
    awk -v bytes="$bytes" -v out="$dir/findings" -v files=40 '
        { t[n++] = $0 }
        END {
            per = bytes / files; f = 0; size = 0
            name = sprintf("%s/run-%02d.jsonl", out, f)
            for (i = 0; f < files; i++) {
                line = t[i % n]
                sub(/"seq":[0-9]+/, "\"seq\":" (i + 1), line)
                sub(/"pid":[0-9]+/, "\"pid\":" (100000 + i), line)
                print line > name
                size += length(line) + 1
                if (size >= per) {
                    close(name); f++; size = 0
                    name = sprintf("%s/run-%02d.jsonl", out, f)
                }
            }
            print i > (out "/.count")
        }' "$dir/templates"
    : >"$dir/findings/.done-$mb"
fi

# ---- graph files: the handcrafted graphs, keys renamed 200 ways ----
if [ ! -e "$dir/graphs/.done-$mb" ]; then
    rm -f "$dir"/graphs/*.jsonl
    awk -v bytes="$bytes" -v out="$dir/graphs" -v copies=200 '
        FILENAME ~ /clean-a/ && /"kind": "graph-(lock|edge)"/ && !/addr:/ { body[nb++] = $0 }
        FILENAME ~ /cycle-a/ && /"kind": "graph-(lock|edge)"/ { ca[na++] = $0 }
        FILENAME ~ /cycle-b/ && /"kind": "graph-(lock|edge)"/ { cb[nc++] = $0 }
        FILENAME ~ /clean-a/ && /"kind": "graph"[,}]/ { header = $0 }
        function renamed(line, c) {
            gsub(/"(key|from|to)": "[^"]*/, "&-" c, line)
            return line
        }
        END {
            f = 0; total = 0
            while (total < bytes) {
                name = sprintf("%s/graph-%03d.jsonl", out, f)
                h = header; sub(/"pid": [0-9]+/, "\"pid\": " (200000 + f), h)
                print h > name; size = length(h) + 1; locks = 0; edges = 0
                for (c = 0; c < copies; c++)
                    for (i = 0; i < nb; i++) {
                        l = renamed(body[i], c); print l > name; size += length(l) + 1
                        if (l ~ /graph-lock/) locks++; else edges++
                    }
                for (i = 0; i < (f % 2 ? nc : na); i++) {
                    l = f % 2 ? cb[i] : ca[i]; print l > name; size += length(l) + 1
                    if (l ~ /graph-lock/) locks++; else edges++
                }
                print "{\"kind\": \"graph-end\", \"locks\": " locks ", \"edges\": " edges "}" > name
                close(name); total += size; f++
            }
        }' "$data/graph-clean-a.jsonl" "$data/graph-cycle-a.jsonl" "$data/graph-cycle-b.jsonl"
    : >"$dir/graphs/.done-$mb"
fi

findings_mb=$(du -sm "$dir/findings" | cut -f1)
graphs_mb=$(du -sm "$dir/graphs" | cut -f1)
n_findings=$(cat "$dir/findings/.count")
n_graphs=$(find "$dir/graphs" -name '*.jsonl' | wc -l)
echo "input: $findings_mb MB of findings ($n_findings findings in 40 files), $graphs_mb MB of graph files ($n_graphs files)"
echo "tool:  $lg${old:+ (compared with $old)}"
echo

# measure BIN LABEL ARGS...: wall seconds, CPU seconds (user + system) and
# peak RSS of one run, output discarded. A run past $limit seconds is
# stopped; a run past 8 GB of address space fails (old tools on endless
# input): neither can hurt the machine.
measure() {
    bin=$1 label=$2
    shift 2
    # shellcheck disable=SC3045 # dash and bash both have ulimit -v
    (ulimit -v 8388608; exec /usr/bin/time -f '%e %U %S %M %x' -o "$dir/time" \
        timeout -k 10 "$limit" "$bin" "$@") >/dev/null 2>"$dir/stderr" || true
    # shellcheck disable=SC2046 # the fields, split
    set -- $(tail -n 1 "$dir/time")
    wall=$1 cpu=$(awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }') rss=$(($4 / 1024)) rc=$5
    case $rc in
    124 | 137) wall=">$limit" rc=stopped ;;
    esac
    printf '%-4s %-24s %9s %9s %9s %7s\n' "$label" "$verb_label" "$wall" "$cpu" "$rss" "$rc"
}

printf '%-4s %-24s %9s %9s %9s %7s\n' tool verb 'wall s' 'cpu s' 'peak MB' exit
run_verb() {
    verb_label=$1
    shift
    if [ -n "$only" ]; then
        want=no
        for o in $only; do
            case $verb_label in "$o"*) want=yes ;; esac
        done
        [ $want = yes ] || return 0
    fi
    measure "$lg" new "$@"
    [ -z "$old" ] || measure "$old" old "$@"
}
run_verb "report" report "$dir"/findings/*.jsonl
run_verb "show" show "$dir"/findings/*.jsonl
run_verb "merge (graph files)" merge "$dir"/graphs/*.jsonl
run_verb "dot" dot "$dir"/findings/*.jsonl
run_verb "report --format json" report --format json "$dir"/findings/*.jsonl
run_verb "report --format sarif" report --format sarif "$dir"/findings/*.jsonl
run_verb "report --format html" report --format html "$dir"/findings/*.jsonl
run_verb "report /dev/zero" report /dev/zero
echo
echo "target: each verb at most 10 s and 256 MB peak on ${mb} MB; exit 1/66 = findings,"
echo "2 = unreadable input. Wall time depends on the machine's load: cpu s is the work."
