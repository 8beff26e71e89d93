#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds, and runs the main
# demo (Monte Carlo pi: sequential C++ vs Manta tasks on an embedded node).
# Extra arguments go to the demo, e.g. --fast or --num-cpus=4.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bash "$root/tools/build.sh"
exec "$build/demos/monte_carlo_pi_demo" --out="$build" "$@"
