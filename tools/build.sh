#!/usr/bin/env bash
# Installs the dependencies (tools/setup.sh) and builds Manta into build/.
# Used by run_demo.sh and run_tests.sh; BUILD_DIR overrides the folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bash "$root/tools/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release
fi
ninja -C "$build"
