#!/usr/bin/env bash
# Runs Ray's own `ray microbenchmark` (plus tools/ray_large_objects.py, the
# large-object metrics Ray's lacks) and `manta microbenchmark` on this
# machine, interleaved: ROUNDS rounds, each running both sides, the side that
# goes first alternating, so that drift in the machine's load falls on both.
# Then prints per metric the median of the rounds' figures on each side,
# their spread (lowest-highest) and the ratio of the medians
# (tools/compare_ray.py). Optional: never part of the test suite. Ray is
# installed with pip into a private virtual environment (build/ray-venv);
# when pip cannot reach it, the script says so and exits 3.
#
#   bash tools/compare_ray.sh [--filter=SUBSTR] [--rounds=3] [--ray-version=2.60.0]
#                             [--markdown]     (BUILD_DIR: the build folder, default build/)
#
# --filter runs only the metrics whose names contain SUBSTR (underscores or
# spaces: "put_gigabytes" selects Ray's "put gigabytes" too). Ray's Ray
# Client metrics ("client: ...") are skipped: Manta has no such client.
set -euo pipefail
cd "$(dirname "$0")/.."

filter=""
rounds=3
ray_version="2.60.0"
markdown=()
for arg in "$@"; do
  case "$arg" in
    --filter=*) filter="${arg#--filter=}" ;;
    --rounds=*) rounds="${arg#--rounds=}" ;;
    --ray-version=*) ray_version="${arg#--ray-version=}" ;;
    --markdown) markdown=(--markdown) ;;
    *) echo "compare_ray.sh: unknown option '$arg' (use --filter=SUBSTR, --rounds=N," \
            "--ray-version=V, --markdown)" >&2; exit 2 ;;
  esac
done
if ! [[ "$rounds" =~ ^[1-9][0-9]?$ ]]; then
  echo "compare_ray.sh: --rounds expects a whole number from 1 to 99, got '$rounds'" >&2
  exit 2
fi

venv=build/ray-venv
installed=$("$venv/bin/python" -c "import ray, numpy, grpc; print(ray.__version__)" 2>/dev/null || true)
if [ "$installed" != "$ray_version" ]; then
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

# BUILD_DIR: a configured build folder (default build/, made by tools/build.sh).
build_dir=${BUILD_DIR:-build}
if [ -f "$build_dir/build.ninja" ]; then
  ninja -C "$build_dir" tools/manta >/dev/null
else
  BUILD_DIR="$build_dir" bash tools/build.sh >/dev/null
fi
out=build/compare_ray
rm -rf "$out"
mkdir -p "$out"

run_ray() { # round
  local f="$out/ray.$1.txt"
  echo "round $1: ray microbenchmark (Ray $ray_version; minutes) ..."
  # Ray runs only the metrics whose names contain TESTS_TO_RUN.
  TESTS_TO_RUN="${filter//_/ }" TESTS_TO_SKIP="client:" \
    "$venv/bin/ray" microbenchmark >"$f" 2>&1 || true
  "$venv/bin/ray" stop --force >/dev/null 2>&1 || true
  TESTS_TO_RUN="${filter//_/ }" "$venv/bin/python" tools/ray_large_objects.py >>"$f" 2>&1 || true
  "$venv/bin/ray" stop --force >/dev/null 2>&1 || true
  if ! grep -q "per second" "$f"; then
    echo "compare_ray.sh: Ray printed no figures in round $1; its last lines:" >&2
    tail -n 5 "$f" >&2
    exit 3
  fi
}

run_manta() { # round
  echo "round $1: manta microbenchmark ..."
  local args=(--json --runs=4)
  [ -n "$filter" ] && args+=("--filter=${filter// /_}")
  "$build_dir/tools/manta" microbenchmark "${args[@]}" >"$out/manta.$1.json"
}

for ((r = 1; r <= rounds; ++r)); do
  if ((r % 2)); then run_ray "$r"; run_manta "$r"; else run_manta "$r"; run_ray "$r"; fi
done
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
python3 tools/compare_ray.py "${markdown[@]}" --ray "$out"/ray.*.txt --manta "$out"/manta.*.json
