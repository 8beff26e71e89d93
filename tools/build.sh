#!/usr/bin/env bash
# Installs the dependencies (tools/setup.sh) and builds Manta into build/.
# Used by run_demo.sh and run_tests.sh; BUILD_DIR overrides the folder.
# Arguments are meson options for the build folder, e.g. -Dwerror=true
# (run_tests.sh passes it): given at setup, or set on an existing folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bash "$root/tools/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release "$@"
elif [ $# -gt 0 ]; then
  meson configure "$build" "$@"
fi
ninja -C "$build"
