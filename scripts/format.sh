#!/bin/sh
#  format.sh: the C layout .clang-format writes down.
#    sh scripts/format.sh           rewrite every tracked .c/.h file in place
#    sh scripts/format.sh --check   list the files that differ, fail if any (CI)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
command -v clang-format >/dev/null || { echo "format.sh: needs clang-format (apt-get install -y clang-format)" >&2; exit 1; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
if [ "${1:-}" = --check ]; then
    bad=0
    for f in $files; do
        clang-format --style=file "$f" | cmp -s - "$f" || { echo "format: $f differs (sh scripts/format.sh)" >&2; bad=1; }
    done
    exit $bad
fi
clang-format --style=file -i $files
