#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over Manta's own C++ sources as a
# build folder compiles them; any finding is an error.
#   bash tools/lint.sh           the library: every .cpp of runtime/ and actors/
#                                (and runtime/'s and actors/' headers through
#                                them), what CI runs: the whole tree does not
#                                fit CI's time on 2 cores
#   bash tools/lint.sh --all     also tools/, tests/, demos/ and deploy/
#   bash tools/lint.sh FILE...   only those files
# The build folder (BUILD_DIR, default build/) must be built: clang-tidy reads
# its compile_commands.json and the Cap'n Proto headers generated there.
# Needs clang-tidy 16 (tools/setup.sh installs Debian 12's clang-tidy-16);
# CLANG_TIDY overrides the program, LINT_JOBS the files checked at once
# (default: the number of cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-$root/build}
source "$root/tools/clang_tool.sh"
tidy=$(clang_tool lint clang-tidy "${CLANG_TIDY:-}") || exit 2
if [ ! -f "$build/compile_commands.json" ]; then
  echo "lint: $build/compile_commands.json is missing; build first (bash tools/build.sh) or set BUILD_DIR" >&2
  exit 2
fi
folders="runtime actors"
if [ "${1:-}" = "--all" ]; then
  folders="runtime actors tools tests demos deploy"
  shift
fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  # Each source once (some are compiled into several targets), generated
  # ones (the schemas' .capnp.c++, the dashboard's assets) left out.
  mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" $folders <<'PY'
import json, os, sys
root = sys.argv[2]
folders = sys.argv[3:]
seen = set()
for entry in json.load(open(sys.argv[1])):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path, root)
    if rel.split(os.sep)[0] in folders \
            and rel.endswith(".cpp") and os.path.exists(path) and rel not in seen:
        seen.add(rel)
        print(rel)
PY
  )
fi
jobs=${LINT_JOBS:-$(nproc)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
# -w: the compiler's own warnings are the build's business (and -Werror in
# the compile commands would make clang's differing ones errors here).
# tools/lint_capnp.hpp: two operators clang 16 needs to read Cap'n Proto 0.9's
# headers in C++20 (the file says why).
status=0
printf '%s\0' "${files[@]}" \
  | xargs -0 -n 1 -P "$jobs" "$tidy" -p "$build" --quiet --extra-arg=-w \
      --extra-arg=-include --extra-arg="$root/tools/lint_capnp.hpp" >"$log" 2>&1 || status=$?
errors=$(grep -c ": error: " "$log" || true)
if [ $status -ne 0 ] || [ "$errors" -ne 0 ]; then
  grep -v "^[0-9]* warnings\? generated\.$\|^Suppressed \|^Use -header-filter\|^Error while processing" "$log" || true
  echo "lint: clang-tidy found $errors problems in ${#files[@]} files ($(( $(date +%s) - start )) s);" \
       "fix them, or see docs/architecture.md ('Style and checks') for when a NOLINT comment is right" >&2
  exit 1
fi
echo "lint: ${#files[@]} files pass clang-tidy ($(( $(date +%s) - start )) s, $jobs at once)"
