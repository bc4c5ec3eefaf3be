#!/bin/sh
#  test.sh: the whole test suite, as CI runs it. Builds with warnings as
#  errors and runs `make check`; then again under AddressSanitizer+UBSan;
#  then the unit suites under valgrind; then `make distcheck`.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
passed=0
failed=0
#  Add up Check's "N%: Checks: C, Failures: F, Errors: E" lines of a build.
count_checks () {
    set -- $(cat "$1"/tests/*.log 2>/dev/null | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' \
        | awk '{c+=$1; f+=$2+$3} END {print c+0, f+0}')
    passed=$((passed + $1 - $2))
    failed=$((failed + $2))
}

echo "== libmaas layers: no include from a lower folder of shared/ to a higher one" >&2
/usr/bin/python3 "$top/scripts/layers.py"

echo "== the environment is read only in main (scripts/getenv.py lists the files)" >&2
/usr/bin/python3 "$top/scripts/getenv.py"

echo "== build (-Werror) and make check" >&2
MAAS_BUILD_DIR=$top/build "$top/scripts/bootstrap.sh" --enable-werror

echo "== layout: every C file as .clang-format writes it (sh scripts/format.sh)" >&2
sh "$top/scripts/format.sh" --check
make -C "$top/build" -j"$jobs" --no-print-directory check \
    || { cat "$top"/build/tests/*.log >&2; exit 1; }
count_checks "$top/build"

echo "== build with -fsanitize=address,undefined and make check" >&2
MAAS_BUILD_DIR=$top/build-asan "$top/scripts/bootstrap.sh" --enable-werror --enable-sanitizers
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    make -C "$top/build-asan" -j"$jobs" --no-print-directory check \
    || { cat "$top"/build-asan/tests/*.log >&2; exit 1; }
count_checks "$top/build-asan"

echo "== fuzz targets, 20 s each (scripts/fuzz.sh)" >&2
make -C "$top/build" --no-print-directory fuzz >/dev/null
sh "$top/scripts/fuzz.sh" run 20 > "$top/build/fuzz.jsonl" \
    || { echo "fuzz: a target failed" >&2; exit 1; }
cat "$top/build/fuzz.jsonl" >&2
passed=$((passed + $(wc -l < "$top/build/fuzz.jsonl")))

echo "== unit suites under valgrind" >&2
for suite in $(cat "$top/tests/valgrind-suites"); do
    CK_FORK=no CK_DEFAULT_TIMEOUT=600 MAAS_LOG_LEVEL=error \
        "$top/build/libtool" --mode=execute valgrind -q --error-exitcode=99 \
        --leak-check=full --errors-for-leak-kinds=definite \
        "$top/build/tests/$suite" >/dev/null
    echo "valgrind: $suite clean" >&2
done

#  distcheck proves the tarball complete: it builds from it out of tree,
#  runs the unit suites and the install test there, installs and
#  uninstalls. The integration suites ran twice above on the same sources.
echo "== make distcheck" >&2
dist_tests="$(sed 's|^|tests/|' "$top/tests/valgrind-suites" | tr '\n' ' ')tests/install.test"
make -C "$top/build" --no-print-directory distcheck TESTS="$dist_tests" >/dev/null
echo "all test stages passed" >&2
echo "check: $passed passed, $failed failed"
