#!/bin/sh
# Usage: expect_compile_error.sh PATTERN COMPILER ARGS...
# Succeeds only if the compiler rejects the file AND its diagnostics contain
# PATTERN, so a case cannot pass by failing for an unrelated reason.
pattern=$1
shift
out=$("$@" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
  echo "expected a compile error matching '$pattern', but it compiled:"
  echo "  $*"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
  echo "compile failed, but not with '$pattern':"
  printf '%s\n' "$out" | head -40
  exit 1
fi
echo "rejected as expected ('$pattern')"
exit 0
