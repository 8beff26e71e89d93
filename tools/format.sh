#!/usr/bin/env bash
# Lays out Manta's own C++ files (every tracked *.cpp and *.hpp: nothing in
# the repository is generated or third-party) by .clang-format.
#   bash tools/format.sh           rewrite the files in place
#   bash tools/format.sh --check   change nothing; list the files that
#                                  differ and exit 1 if there are any
#   bash tools/format.sh [--check] FILE...   only those files
# Needs clang-format 16 (tools/setup.sh installs Debian 12's
# clang-format-16): other versions lay some lines out differently.
# CLANG_FORMAT overrides the program.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
fi
source "$root/tools/clang_tool.sh"
fmt=$(clang_tool format clang-format "${CLANG_FORMAT:-}") || exit 2
version=$("$fmt" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "$version" != "16" ]; then
  echo "format: $fmt is version ${version:-unknown}, not 16: its layout differs from CI's;" \
       "install clang-format-16 or set CLANG_FORMAT" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp')
fi
if [ $check -eq 0 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 -P "$(nproc)" "$fmt" -i
  echo "format: laid out ${#files[@]} files"
  exit 0
fi
# Each file checked on its own (--dry-run --Werror fails when its layout
# differs); only the names of those that differ are printed, one short
# line each, so parallel checks do not mix their output.
bad=$(printf '%s\0' "${files[@]}" \
        | xargs -0 -n 20 -P "$(nproc)" sh -c \
            'for f; do "$0" --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done' "$fmt" \
        | sort)
if [ -n "$bad" ]; then
  n=$(printf '%s\n' "$bad" | wc -l)
  printf '%s\n' "$bad"
  echo "format: $n of ${#files[@]} files differ from .clang-format; run: bash tools/format.sh" \
       "(a file that does not exist or cannot be parsed is listed too)" >&2
  exit 1
fi
echo "format: ${#files[@]} files match .clang-format"
