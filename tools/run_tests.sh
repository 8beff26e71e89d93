#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, builds, and runs the whole
# test suite (meson test). Ends with a line "tests: N passed, M failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bash "$root/tools/build.sh"
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
