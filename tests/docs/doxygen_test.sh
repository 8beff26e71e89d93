#!/usr/bin/env bash
# The API reference (docs/Doxyfile) builds without a single warning from the
# comments of runtime/manta/*.hpp (WARN_AS_ERROR stops doxygen at the first),
# and documents the API's entry points. Skips (77) without doxygen.
# Argument: the source root.
set -uo pipefail
command -v doxygen >/dev/null \
  || { echo "SKIP: doxygen is not installed (tools/setup.sh installs it)"; exit 77; }
out=$(mktemp -d /tmp/manta-doxygen-test.XXXXXX)
trap 'rm -rf "$out"' EXIT
log=$(MANTA_SOURCE_ROOT=$1 MANTA_DOCS_OUT=$out doxygen "$1/docs/Doxyfile" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$log" ]; then
  echo "FAIL: doxygen (exit $rc) reported:"
  echo "$log"
  exit 1
fi
for page in namespacemanta.html classmanta_1_1object__ref.html classmanta_1_1actor__handle.html; do
  [ -s "$out/html/$page" ] || { echo "FAIL: the reference has no $page"; exit 1; }
done
grep -q "manta::init" "$out/html/namespacemanta.html" \
  || { echo "FAIL: namespace manta's page does not list manta::init"; exit 1; }
echo "PASS: doxygen built the API reference ($(ls "$out/html" | wc -l) files) without warnings"
