#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, builds, and runs the whole
# test suite (meson test). Ends with a line "tests: N passed, M failed".
# CI (.ci/run) runs exactly this. Its steps, each with a switch (1: on):
#   MANTA_WERROR=1       build with warnings as errors (-Dwerror=true)
#   MANTA_CHECK_FORMAT=1 every C++ file laid out by .clang-format
#                        (bash tools/format.sh --check)
#   MANTA_CHECK_SIZES=1  no file in runtime/ or actors/ over 500 lines
#                        (bash tools/check_sizes.sh)
#   MANTA_LINT=1         clang-tidy over the library's sources
#                        (bash tools/lint.sh; its time: docs/architecture.md)
# Arguments go to meson test (e.g. --num-processes=2, or test names).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
export BUILD_DIR=$build
step() { # NAME COMMAND...: runs a step and says how long it took
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@"
  echo "== $name: done in $(( SECONDS - start )) s"
}
werror=()
[ "${MANTA_WERROR:-1}" = 1 ] && werror=(-Dwerror=true)
step build bash "$root/tools/build.sh" "${werror[@]}"
if [ "${MANTA_CHECK_FORMAT:-1}" = 1 ]; then
  step format-check bash "$root/tools/format.sh" --check
fi
if [ "${MANTA_CHECK_SIZES:-1}" = 1 ]; then
  step size-check bash "$root/tools/check_sizes.sh"
fi
if [ "${MANTA_LINT:-1}" = 1 ]; then
  step clang-tidy bash "$root/tools/lint.sh"
fi
status=0
meson test -C "$build" --print-errorlogs "$@" || status=$?
log="$build/meson-logs/testlog.json"
if [ -f "$log" ]; then
  python3 - "$log" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
fi
exit $status
