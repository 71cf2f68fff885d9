#!/bin/sh
# test_ci_example.sh - examples/ci/github-actions.yml's shell steps, as
# written in the workflow, on examples/ci/project (the workflow's
# `project/` checkout), with lockgraph installed from this build tree into a
# scratch prefix in place of the steps that install packages and build
# lockgraph on the runner:
#
#   - with the inversion in test_accounts: the test fails under
#     lockgraph_add_test, "Reports" writes a valid SARIF file with the
#     cycle located in test_accounts.c and an HTML page, and the last step
#     fails the job;
#   - fixed (ACCOUNTS_FIXED): everything passes, the SARIF file has no
#     result, the last step does not run.
#
# usage: test_ci_example.sh BUILD_DIR SOURCE_DIR CHECK_SARIF
set -u
build=$1 src=$2 check_sarif=$3
yml=$src/examples/ci/github-actions.yml
work=$(mktemp -d "${TMPDIR:-/tmp}/lockgraph-test-ci.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# step NAME: the `run: |` block of the workflow's step NAME, unindented, in
# $work/step.sh, its working-directory in $work/step.wd (empty: the
# workspace). False when there is no such step.
step() {
    : >"$work/step.wd"
    awk -v name="$1" -v wdfile="$work/step.wd" '
        /^      - name: / { cur = substr($0, 15); inrun = 0; next }
        cur != name { next }
        /^        working-directory: / { print substr($0, 28) >wdfile; next }
        /^        run: [|]$/ { inrun = 1; found = 1; next }
        inrun && (/^          / || /^$/) { print substr($0, 11); next }
        { inrun = 0 }
        END { exit !found }
    ' "$yml" >"$work/step.sh"
}

# GitHub runs a step's script with bash -eo pipefail (sh -e without bash).
shell() {
    if command -v bash >/dev/null 2>&1; then
        bash --noprofile --norc -eo pipefail "$@"
    else
        sh -e "$@"
    fi
}

# run_step WANT NAME: run step NAME in its working directory; its exit
# status must be WANT. Output in $work/out.
run_step() {
    want=$1 name=$2
    step "$name" || {
        fail "the workflow has no step '$name' with a run: block"
        return
    }
    (cd "$work/ws/$(cat "$work/step.wd")" && shell "$work/step.sh") >"$work/out" 2>&1
    rc=$?
    if [ "$rc" != "$want" ]; then
        fail "step '$name' exited $rc, wanted $want"
        sed 's/^/  | /' "$work/out" | tail -40
    fi
}

# The steps that set up the runner, left out here, are still there.
for name in "Debian packages" "Build and install lockgraph"; do
    step "$name" || fail "the workflow has no step '$name'"
done
grep -q 'cmake -S project/third_party/lockgraph' "$yml" || fail "lockgraph is not built from third_party/lockgraph"
grep -q 'submodules: true' "$yml" || fail "the checkout does not fetch submodules"
grep -q 'your-org\|CHANGE\|TODO' "$yml" && fail "the workflow still has a placeholder"
# Valid YAML, its steps in this order (where PyYAML is installed).
if python3 -c 'import yaml' 2>/dev/null; then
    python3 -c '
import sys, yaml
steps = yaml.safe_load(open(sys.argv[1]))["jobs"]["deadlocks"]["steps"]
print("\n".join(s["name"] for s in steps))' "$yml" >"$work/steps" 2>&1 || { cat "$work/steps"; fail "not valid YAML"; }
    printf '%s\n' "Debian packages" "Check out the project, lockgraph with it" "Build and install lockgraph" \
        "Build the tests" "Run the tests under lockgraph" "Reports" "Upload to code scanning" \
        "Keep the report" "Fail on findings or failed tests" | cmp -s - "$work/steps" ||
        { fail "the workflow's steps:"; cat "$work/steps"; }
fi

export TMPDIR="$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "cmake --install"; exit 1; }
export PATH="$work/prefix/bin:$PATH" CMAKE_PREFIX_PATH="$work/prefix"
export GITHUB_OUTPUT="$work/github_output"
unset LOCKGRAPH_OPTIONS LOCKGRAPH_REPORT LOCKGRAPH_LIB

# ---- with the inversion ----
mkdir "$work/ws"
cp -r "$src/examples/ci/project" "$work/ws/project"
: >"$GITHUB_OUTPUT"
run_step 0 "Build the tests"
run_step 0 "Run the tests under lockgraph"
grep -q '== lock-order-cycle #1' "$work/out" || fail "the test's output does not show the cycle"
grep -q 'report: .*/build/lockgraph/accounts\.[0-9]*\.jsonl' "$work/out" || fail "the test's output does not name its report"
status=$(sed -n 's/^status=//p' "$GITHUB_OUTPUT")
case $status in '' | 0) fail "steps.tests.outputs.status is '$status', want a failure" ;; esac
run_step 0 "Reports"
grep -q 'potential deadlock among 2 locks' "$work/out" || fail "Reports: the cycle is not in the log"
p=$work/ws/project
"$check_sarif" "$p/lockgraph.sarif" 1 >"$work/check" || { fail "SARIF invalid:"; cat "$work/check"; }
tr -d ' \n' <"$p/lockgraph.sarif" >"$work/flat"
grep -q '"ruleId":"lock-order-cycle"' "$work/flat" || fail "SARIF: no lock-order-cycle"
grep -q '"artifactLocation":{"uriBaseId":"%SRCROOT%","uri":"test_accounts.c"},"region":{"startLine":[0-9]*}' "$work/flat" ||
    fail "SARIF: the cycle is not located in test_accounts.c, relative to the checkout"
grep -q '<!DOCTYPE html>' "$p/lockgraph.html" || fail "no HTML report"
ls "$p"/build/lockgraph/accounts.*.jsonl >/dev/null 2>&1 || fail "no findings file where the artifact step looks"
# steps.tests.outputs.status != '0': the last step runs, and fails the job.
run_step 1 "Fail on findings or failed tests"

# ---- fixed ----
rm -rf "$work/ws/project"
cp -r "$src/examples/ci/project" "$work/ws/project"
cmake -S "$work/ws/project" -B "$work/ws/project/build" -DACCOUNTS_FIXED=ON >"$work/out" 2>&1 ||
    { cat "$work/out"; fail "configure with ACCOUNTS_FIXED"; }
: >"$GITHUB_OUTPUT"
run_step 0 "Build the tests"
run_step 0 "Run the tests under lockgraph"
status=$(sed -n 's/^status=//p' "$GITHUB_OUTPUT")
[ "$status" = 0 ] || fail "fixed: steps.tests.outputs.status is '$status', want 0"
run_step 0 "Reports"
grep -q 'no findings' "$work/out" || fail "fixed: Reports does not say no findings"
"$check_sarif" "$p/lockgraph.sarif" 0 >"$work/check" || { fail "fixed: SARIF invalid:"; cat "$work/check"; }
tr -d ' \n' <"$p/lockgraph.sarif" | grep -q '"results":\[\]' || fail "fixed: SARIF has results"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok: the workflow's steps on examples/ci/project, with and without the inversion"
