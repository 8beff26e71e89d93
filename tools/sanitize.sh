#!/usr/bin/env bash
# Builds the tests with sanitizers and runs them.
#
#   tools/sanitize.sh [asan|tsan|all] [TEST...]
#
# asan: AddressSanitizer + UndefinedBehaviorSanitizer (gcc), build-asan/.
# tsan: ThreadSanitizer, build-tsan/, linked against CAF built with
#       -fsanitize=thread by tools/build_caf_tsan.sh (build-caf-tsan/, made
#       on first use): with Debian's uninstrumented libcaf, TSan reports every
#       actor spawn. tools/tsan.supp holds the suppressions, each explained.
# Both run by default every doctest suite registered in tests/meson.build,
# read from `meson introspect --tests` (so a new test is picked up by
# itself): the meson suites unit, actors, observability, cluster,
# placement_groups, generators, sim, headstore, security and netns, the
# multi-process ones included (their nodes are the test binary, so
# sanitized too). Left out, as none is a doctest program of Manta's code:
#   compile_fail  the compiler itself, checking diagnostics (no program runs);
#   browser       tests/browser/run.sh driving headless Chromium;
#   install       tests/consumer/run.sh, an install and outside builds;
#   deploy, docs  shell and Python checks of files (systemd units, Slurm
#                 scripts, Doxygen, the tutorial, figures);
#   demos         (registered in demos/meson.build, suite `manta`) asserts
#                 the Monte Carlo demo's parallel speedup, a timing that
#                 TSan's 5-15x slowdown and its serialising of atomics
#                 distort; the demos' code paths are the runtime's, run by
#                 the suites above.
# The headstore suites skip (77) without redis-server, netns without root
# or network namespaces, as in every build. Give test names to run only
# those.
# Only the targets the chosen tests need are built, under `nice`, with
# JOBS (default 2) parallel jobs. REPEAT (default 1) runs the whole list
# that many times, into the same report directory (each report file ends in
# its process id). Tests run one at a time with a timeout
# multiplier; the logs stay in <build>/meson-logs/. Every process writes
# its sanitizer reports to <build>/sanitizer-reports/<TEST>.<pid>
# (log_path), the cluster nodes that the tests fork too (their stderr goes
# to log files the test deletes). A report does not stop the process
# (halt_on_error=0), so one run shows every race; the script fails when a
# report is there after the run.
#
# Not part of CI (tools/run_tests.sh): too slow. To reproduce the TSan run
# recorded in docs/reliability.md ("ThreadSanitizer, with CAF built with
# TSan"):
#   CAF_TSAN=/path/to/build-caf-tsan/install tools/sanitize.sh tsan
# CAF_TSAN names a CAF already built by tools/build_caf_tsan.sh (another
# checkout's; default: this checkout's build-caf-tsan/install, built on first
# use, about 10 minutes at -j2). build-tsan/ keeps the path it was configured
# with. On a 2-core machine shared with other builds, building libmanta and
# the 98 test programs (99 tests: netns and netns_netem share one) with TSan
# takes more than an hour at -j2, the run itself over 10 minutes (69 of
# the suites took 9 minutes in run 8); then
#   grep -l 'ThreadSanitizer' build-tsan/sanitizer-reports/*
# names the tests (and node processes, by pid) that reported.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
which=${1:-all}
shift || true
requested=("$@")

caf_tsan=${CAF_TSAN:-$root/build-caf-tsan/install}

# The doctest suites of a configured build: every test but those of the
# meson suites the header names as no doctest program of Manta's
# (compile_fail, browser, install, deploy, docs, and demos in suite manta).
doctest_suites() {
  meson introspect "$1" --tests | python3 -c '
import json, sys
skip = {"compile_fail", "browser", "install", "deploy", "docs", "manta"}
for t in json.load(sys.stdin):
    if not {s.split(":")[-1] for s in t["suite"]} & skip:
        print(t["name"])'
}

# The ninja targets (paths relative to the build) that the given tests need.
targets_of() {
  local build=$1
  shift
  python3 - "$build" "$@" <<'PY'
import json, os, subprocess, sys
build, names = sys.argv[1], set(sys.argv[2:])
intro = lambda what: json.loads(subprocess.check_output(["meson", "introspect", build, what]))
files = {t["id"]: os.path.relpath(t["filename"][0], os.path.abspath(build))
         for t in intro("--targets")}
found, out = set(), []
for t in intro("--tests"):
    if t["name"] in names:
        found.add(t["name"])
        out += [files[d] for d in t["depends"] if files[d] not in out]
missing = names - found
if missing:
    sys.exit("no such test: " + " ".join(sorted(missing)))
print(" ".join(out))
PY
}

setup() {
  local build=$1 sanitize=$2
  shift 2
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" --buildtype=debugoptimized -Db_sanitize="$sanitize" \
      -Db_lundef=false -Db_ndebug=false "$@"
  fi
}

run() {
  local name=$1
  shift
  local build="$root/build-$name" tests=("$@")
  if [ ${#tests[@]} -eq 0 ]; then
    mapfile -t tests < <(doctest_suites "$build")
  fi
  local targets
  targets=$(targets_of "$build" "${tests[@]}")
  # shellcheck disable=SC2086
  nice -n 10 ninja -C "$build" -j "${JOBS:-2}" $targets
  echo "== $name: ${tests[*]}"
  local reports="$build/sanitizer-reports"
  rm -rf "$reports"
  mkdir -p "$reports"
  # CAF keeps some singletons alive at exit: leaks are not reported. One
  # test at a time, so that each report file names its test.
  local status=0 t pass
  for ((pass = 1; pass <= ${REPEAT:-1}; ++pass)); do
    for t in "${tests[@]}"; do
      ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/$t" \
      UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/$t.ubsan" \
      TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$root/tools/tsan.supp log_path=$reports/$t" \
        meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 6 "$t" \
        || status=$?
    done
  done
  if [ -n "$(ls -A "$reports")" ]; then
    echo "== $name: sanitizer reports in $reports:" >&2
    for f in "$reports"/*; do echo "--- $f" >&2; cat "$f" >&2; done
    status=1
  fi
  return "$status"
}

asan() {
  setup "$root/build-asan" address,undefined
  run asan "${requested[@]}"
}

tsan() {
  [ -f "$caf_tsan/lib/libcaf_core.so" ] || "$root/tools/build_caf_tsan.sh"
  # CAF's headers and libraries from build-caf-tsan/ come before Debian's
  # (-I before /usr/include, -L before the system directories, found first
  # by meson's find_library), and the rpath makes the tests load them.
  setup "$root/build-tsan" thread \
    -Dcpp_args="-I$caf_tsan/include" \
    -Dcpp_link_args="['-L$caf_tsan/lib', '-Wl,-rpath,$caf_tsan/lib']"
  run tsan "${requested[@]}"
}

case "$which" in
  asan) asan ;;
  tsan) tsan ;;
  all) asan; tsan ;;
  *) echo "usage: $0 [asan|tsan|all] [TEST...]" >&2; exit 2 ;;
esac
