#!/bin/sh
#  valgrind-procs.sh: integration suites with every program they start (the
#  broker, workers, trainers, the gateway, the CLI) under valgrind memcheck,
#  through the test harness's $MAAS_TEST_WRAPPER (tests/support.c). One log
#  per process; prints a JSON line per suite and per process that valgrind
#  reported on, and fails if any process had an error or a definite leak
#  (its logs are then kept, and named).
#    sh scripts/valgrind-procs.sh [BUILD_DIR] SUITE [CASE]...
#  e.g. sh scripts/valgrind-procs.sh build check_broker core
#  The suites' own verdicts are printed but not judged: under valgrind the
#  programs run 20-50 times slower (liveness and timeouts trip) and OpenBLAS
#  picks other kernels (bit-for-bit comparisons with in-process answers
#  differ); what this checks is memory.
set -u
build=${1:-build}
suite=${2:?usage: valgrind-procs.sh BUILD_DIR SUITE [CASE]}
case_name=${3:-}
logs=$(mktemp -d "${TMPDIR:-/tmp}/maas-valgrind-XXXXXX")
[ -n "$case_name" ] && export CK_RUN_CASE="$case_name"
MAAS_TEST_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=$logs/%p.log" \
    timeout 3600 "$build/tests/$suite" > "$logs/suite.out" 2>&1
checks=$(grep -h 'Checks:' "$logs/suite.out" | tail -n 1)
procs=0 clean=0 killed=0 bad=0
for log in "$logs"/*.log; do
    [ -e "$log" ] || continue
    procs=$((procs + 1))
    program=$(sed -n 's/^==[0-9]*== Command: \([^ ]*\).*/\1/p' "$log" | head -n 1)
    if ! grep -q 'ERROR SUMMARY' "$log"; then
        killed=$((killed + 1))    #  SIGKILLed by its test (kill -9 cases): no summary
    elif grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
        clean=$((clean + 1))
    else
        bad=$((bad + 1))
        echo "{\"suite\":\"$suite\",\"process\":\"$(basename "$program")\",\"log\":\"$log\",\"report\":\"$(grep -m1 -A2 'definitely lost in\|Invalid\|uninitialised' "$log" | tr -d '"\n' | cut -c1-300)\"}"
    fi
done
[ "$bad" -eq 0 ] && rm -rf "$logs" && logs=""    #  kept only when there is something to read
echo "{\"suite\":\"$suite\",\"case\":\"${case_name:-all}\",\"checks\":\"$checks\",\"processes\":$procs,\"clean\":$clean,\"killed\":$killed,\"reported\":$bad,\"logs\":\"$logs\"}"
[ "$bad" -eq 0 ]
