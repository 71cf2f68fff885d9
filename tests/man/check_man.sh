#!/bin/sh
# check_man.sh - the man pages are clean roff and say everything there is.
#
#   check_man.sh lint PAGE...
#       man --warnings (groff -ww) prints nothing for each page.
#   check_man.sh command MAN1 LOCKGRAPH SRC
#       lockgraph(1) names every verb of `lockgraph help`, every flag of each
#       `lockgraph VERB --help`, every exit status each verb's help gives,
#       every environment variable the command and the library read, and
#       the version `lockgraph --version` prints.
#   check_man.sh library MAN3 LIBLOCKGRAPH SRC
#       lockgraph(3) names every lg_ call and LG_/LOCKGRAPH_ constant of
#       lockgraph.h, every option of LOCKGRAPH_OPTIONS=help=1 with its range,
#       and the README's options table has every option too.
#
# Pages are compared as man renders them (plain text), so roff escapes
# (\-) do not matter. Exit 77 when neither man nor groff is installed.
set -u
mode=$1
shift
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-man.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

have_man=0
command -v man >/dev/null 2>&1 && have_man=1
if [ "$have_man" = 0 ] && ! command -v groff >/dev/null 2>&1; then
    echo "SKIP: neither man nor groff is installed (apt-get install man-db)"
    exit 77
fi

# render PAGE > text: one long line per paragraph, no hyphenation, no bold.
render() {
    if [ "$have_man" = 1 ]; then
        MANWIDTH=250 LC_ALL=C.UTF-8 man -E UTF-8 -l "$1" 2>/dev/null | col -bx
    else
        groff -man -Tutf8 -rLL=250n "$1" 2>/dev/null | col -bx
    fi
}
# has TEXT WHAT: the rendered page holds TEXT (fixed string).
has() { grep -qF -- "$1" "$work/page" || fail "$page: lacks $2 '$1'"; }

case $mode in
lint)
    for page in "$@"; do
        if [ "$have_man" = 1 ]; then
            LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" >/dev/null 2>"$work/warn"
        else
            groff -ww -z -man "$page" 2>"$work/warn"
        fi
        rc=$?
        [ "$rc" = 0 ] || fail "$page: man exited $rc"
        if [ -s "$work/warn" ]; then
            fail "$page: warnings:"
            sed 's/^/  | /' "$work/warn"
        fi
        head -c 2000 "$page" | grep -q '^\.TH ' || fail "$page: no .TH line"
    done
    ;;
command)
    page=$1 lg=$2 src=$3
    render "$page" >"$work/page"
    "$lg" help >"$work/help" 2>&1 || fail "lockgraph help exited $?"
    # Verbs: the usage block (up to the first blank line), `lockgraph VERB ...`.
    verbs=$(sed '/^$/q' "$work/help" | sed -n 's/^ *\(usage: \)\{0,1\}lockgraph \([a-z][a-z-]*\) .*/\2/p' |
        grep -v '^help$' | sort -u)
    [ -n "$verbs" ] || fail "no verbs found in lockgraph help"
    for verb in $verbs; do
        has "lockgraph $verb" "verb"
        "$lg" "$verb" --help >"$work/vhelp" 2>&1 || fail "lockgraph $verb --help exited $?"
        # Flags: --word and -x.
        # shellcheck disable=SC2013 # one flag a word
        for flag in $(grep -o -- '\(^\|[][ |]\)-\{1,2\}[a-z][a-z-]*' "$work/vhelp" |
            sed 's/^[][ |]//' | sort -u); do
            has "$flag" "flag of $verb"
        done
        # Exit statuses: every number from the first "Exit:" to the end of
        # the paragraph, in the page's EXIT STATUS section for this verb.
        awk '/Exit:/{on=1} on && /^ *(Lines longer|The library is|input that never)/{on=0} on' \
            "$work/vhelp" | grep -o '\b[0-9]\{1,3\}\b' | sort -u >"$work/codes"
        awk -v v="$verb" '
            /^EXIT STATUS/ {sec=1; next}
            sec && /^[A-Z]/ {sec=0}
            sec && /^   [a-z]/ {sub_=($1 == v || $0 ~ /every verb/)}
            sec && sub_' "$work/page" >"$work/exitsec"
        while read -r code; do
            grep -q "\b$code\b" "$work/exitsec" || fail "$page: exit status $code of $verb not in EXIT STATUS"
        done <"$work/codes"
    done
    # Environment variables the command and library read.
    awk '/^ENVIRONMENT/{on=1; next} on && /^[A-Z]/{on=0} on' "$work/page" >"$work/envsec"
    for var in $( (grep -ho 'getenv("[A-Z_][A-Z0-9_]*")' "$src"/tools/*.c "$src"/lib/*.c |
        sed 's/getenv("\(.*\)")/\1/'
        grep -ho '#define [A-Z_]*_ENV "[A-Z_][A-Z0-9_]*"' "$src"/lib/*.h "$src"/tools/*.h |
            sed 's/.*"\(.*\)"/\1/') | grep -v '^PATH$' | sort -u); do
        grep -qw -- "$var" "$work/envsec" || fail "$page: ENVIRONMENT lacks $var"
    done
    version=$("$lg" --version | awk '{print $2}')
    grep -q "^\.TH .*\"lockgraph $version\"" "$page" || fail "$page: .TH does not say lockgraph $version"
    ;;
library)
    page=$1 lib=$2 src=$3
    render "$page" >"$work/page"
    hdr=$src/include/lockgraph.h
    for name in $( (sed -n 's/^#define \(lg_[a-z_]*\)(.*/\1/p' "$hdr"
        sed -n 's/^static inline [a-z ]*\(lg_[a-z_]*\)(.*/\1/p' "$hdr"
        sed -n 's/^#define \(LG_NEST_[A-Z_]*\) .*/\1/p; s/^#define \(LOCKGRAPH_VERSION_[A-Z]*\) .*/\1/p' "$hdr"
        echo LOCKGRAPH_DISABLE) | sort -u); do
        has "$name" "API name"
    done
    env LD_PRELOAD="$lib" LOCKGRAPH_OPTIONS=help=1 LOCKGRAPH_REPORT="$work/r.%p.jsonl" true 2>"$work/opts"
    n=0
    while read -r key rest; do
        case $key in *=*) ;; *) continue ;; esac
        name=${key%%=*}
        n=$((n + 1))
        has "$name=" "option"
        grep -q "^| \`$name\` |" "$src/README.md" || fail "README.md: the options table lacks $name"
        # INT lo-hi: both bounds are said.
        range=$(echo "$rest" | sed -n 's/^\([0-9][0-9]*\)-\([0-9][0-9]*\) .*/\1 \2/p')
        for bound in $range; do
            grep -q "$name=.*\b$bound\b" "$work/page" ||
                awk -v k="$name=" 'index($0,k){f=1;next} f&&/^       [a-z_]+=/{f=0} f' "$work/page" |
                grep -q "\b$bound\b" || fail "$page: $name's range lacks $bound"
        done
    done <"$work/opts"
    [ "$n" -gt 5 ] || fail "help=1 listed $n options: $(cat "$work/opts")"
    ;;
*)
    echo "usage: check_man.sh lint|command|library ..." >&2
    exit 2
    ;;
esac
[ "$failures" = 0 ] || exit 1
echo "ok"
