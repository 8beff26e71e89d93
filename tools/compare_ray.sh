#!/usr/bin/env bash
# Runs Ray's own `ray microbenchmark` and `manta microbenchmark` on this
# machine, one after the other in the same session, and prints them side by
# side with ratios. Optional: never part of the test suite. Ray is installed
# with pip into a private virtual environment (build/ray-venv); when pip
# cannot reach it, the script says so and exits 3.
#
#   bash tools/compare_ray.sh [--filter=SUBSTR] [--ray-version=2.31.0]
set -euo pipefail
cd "$(dirname "$0")/.."

filter=""
ray_version="2.31.0"
for arg in "$@"; do
  case "$arg" in
    --filter=*) filter="${arg#--filter=}" ;;
    --ray-version=*) ray_version="${arg#--ray-version=}" ;;
    *) echo "compare_ray.sh: unknown option '$arg' (use --filter=SUBSTR, --ray-version=V)" >&2; exit 2 ;;
  esac
done

venv=build/ray-venv
if ! "$venv/bin/python" -c "import ray, numpy, grpc" >/dev/null 2>&1; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    echo "compare_ray.sh: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2
    exit 3
  fi
  echo "installing ray==$ray_version into $venv ..."
  # numpy and the client extra (grpc): Ray's microbenchmark imports them.
  if ! "$venv/bin/pip" install -q "ray[client]==$ray_version" numpy; then
    echo "compare_ray.sh: pip could not install ray==$ray_version (no route to PyPI, or no wheel" \
         "for this Python/platform); no comparison made" >&2
    exit 3
  fi
fi

bash tools/build.sh >/dev/null
out=build/compare_ray
mkdir -p "$out"
echo "running ray microbenchmark (Ray $ray_version; several minutes) ..."
# Ray runs only the metrics whose names contain TESTS_TO_RUN.
TESTS_TO_RUN="$filter" "$venv/bin/ray" microbenchmark 2>&1 | tee "$out/ray.txt" | grep "per second" || true
"$venv/bin/ray" stop --force >/dev/null 2>&1 || true
if ! grep -q "per second" "$out/ray.txt"; then
  echo "compare_ray.sh: ray microbenchmark printed no figures; its last lines:" >&2
  tail -n 5 "$out/ray.txt" >&2
  exit 3
fi
echo "running manta microbenchmark ..."
manta_args=(--json --runs=4)
[ -n "$filter" ] && manta_args+=("--filter=$filter")
build/tools/manta microbenchmark "${manta_args[@]}" > "$out/manta.json"
echo
python3 tools/compare_ray.py "$out/ray.txt" "$out/manta.json"
