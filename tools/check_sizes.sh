#!/usr/bin/env bash
# Keeps the library's files small enough to read in one sitting: every
# tracked C++ file under runtime/ and actors/ has at most MAX_LINES lines
# (500 by default; issue 22's rule, house style in ../shared/design.md).
# Lists the files over it, largest first, and exits 1 if there are any.
#   bash tools/check_sizes.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
max=${MAX_LINES:-500}
mapfile -t files < <(git ls-files -- 'runtime/*.cpp' 'runtime/*.hpp' 'actors/*.cpp' 'actors/*.hpp')
over=$(for f in "${files[@]}"; do
         [ -f "$f" ] || continue
         n=$(wc -l <"$f")
         [ "$n" -le "$max" ] || echo "$n $f"
       done | sort -rn)
if [ -n "$over" ]; then
  printf '%s\n' "$over"
  echo "sizes: $(printf '%s\n' "$over" | wc -l) files in runtime/ and actors/ have more than $max lines;" \
       "split each by role (one role per file)" >&2
  exit 1
fi
echo "sizes: ${#files[@]} files in runtime/ and actors/, none over $max lines"
