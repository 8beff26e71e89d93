#!/usr/bin/env bash
# Builds the tests with sanitizers and runs them.
#
#   tools/sanitize.sh [asan|tsan|all] [TEST...]
#
# asan: AddressSanitizer + UndefinedBehaviorSanitizer (gcc), build-asan/,
#       every doctest suite by default.
# tsan: ThreadSanitizer, build-tsan/; by default the suites that exercise the
#       runtime's concurrency on one node (TSan is 5-15x slower, and the
#       2-core CI machine cannot afford the multi-process cluster suites
#       under it). Give test names to run others.
# Tests run with a timeout multiplier; the logs stay in <build>/meson-logs/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
which=${1:-all}
shift || true
requested=("$@")

asan_tests=(init task nested resources errors object object_store spill parker wire bad_input
            fuzz_corpus actor actor_restart async_actor parameter_server actor_pool queue
            cluster cluster_security fault_injection)
tsan_tests=(task nested object object_store parker actor async_actor queue wire)

run() {
  local name=$1 sanitize=$2
  shift 2
  local tests=("$@")
  local build="$root/build-$name"
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" --buildtype=debugoptimized -Db_sanitize="$sanitize" \
      -Db_lundef=false -Db_ndebug=false
  fi
  local targets=()
  for t in "${tests[@]}"; do
    targets+=("tests/${t}_test")
    [ "$t" = bad_input ] && targets+=(tools/manta)
  done
  ninja -C "$build" "${targets[@]}"
  echo "== $name: ${tests[*]}"
  # CAF keeps some singletons alive at exit: leaks are not reported.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 6 "${tests[@]}"
}

if [ ${#requested[@]} -gt 0 ]; then
  asan_tests=("${requested[@]}")
  tsan_tests=("${requested[@]}")
fi
case "$which" in
  asan) run asan address,undefined "${asan_tests[@]}" ;;
  tsan) run tsan thread "${tsan_tests[@]}" ;;
  all)
    run asan address,undefined "${asan_tests[@]}"
    run tsan thread "${tsan_tests[@]}"
    ;;
  *) echo "usage: $0 [asan|tsan|all] [TEST...]" >&2; exit 2 ;;
esac
