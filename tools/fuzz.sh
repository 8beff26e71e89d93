#!/usr/bin/env bash
# Fuzzes every decoder of bytes from the network or disk (tests/fuzz/) with
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 30 s, all)
#
# Builds into build-fuzz/ with clang (installed with apt-get if missing),
# seeds each target from tests/fuzz/corpus/<target>/ plus fresh seeds, runs
# it for the given time, and prints the executions per target. Crashing
# inputs land in build-fuzz/crashes/<target>/: fix the bug, then copy the
# input into tests/fuzz/corpus/<target>/ so `meson test fuzz_corpus` replays
# it in every build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(wire_task wire_actor wire_result wire_node wire_chunk wire_logs codec spill_file
           http_request transfer_request json_string tls_record)
fi

# clang, and compiler-rt for libFuzzer and the sanitizers' runtimes.
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz.sh: installing clang and libclang-rt-dev"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-dev
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" "$root" --buildtype=debugoptimized \
    -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Db_ndebug=false
fi
ninja -C "$build" tests/fuzz/make_seeds $(printf 'tests/fuzz/%s_fuzz ' "${targets[@]}")

work="$build/fuzz-work"
rm -rf "$work/seeds"
mkdir -p "$work"
# Seeds are written by the fuzz build's own seed maker (sanitized as well).
ASAN_OPTIONS=detect_leaks=0 "$build/tests/fuzz/make_seeds" "$work/seeds" >/dev/null

summary=()
status=0
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  cp -n "$root/tests/fuzz/corpus/$t"/* "$corpus/" 2>/dev/null || true
  cp -n "$work/seeds/$t"/* "$corpus/" 2>/dev/null || true
  log="$work/$t.log"
  echo "== $t: ${seconds}s"
  set +e
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    "$build/tests/fuzz/${t}_fuzz" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  if [ $rc -ne 0 ]; then
    status=1
    summary+=("$t: FAILED after $runs runs (see $log; inputs in $crashes)")
    grep -m5 -E 'ERROR|SUMMARY|runtime error|deadly signal' "$log" || true
  else
    summary+=("$t: $runs executions in ${seconds}s, coverage $cov edges, corpus $(ls "$corpus" | wc -l) inputs")
  fi
done
echo
printf '%s\n' "${summary[@]}"
exit $status
