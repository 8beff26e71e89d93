#!/bin/sh
# Usage: expect_no_caf.sh COMPILER ARGS...
# Compiles a file that includes manta.hpp with -H (the compiler lists every
# header it opens) and fails if any of them is one of CAF's: the public
# headers stay free of CAF, which halved the compile time of a program
# that includes them (docs/architecture.md, "The public headers").
out=$("$@" -H 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
  echo "the file does not compile:"
  printf '%s\n' "$out" | head -40
  exit 1
fi
caf=$(printf '%s\n' "$out" | grep -E '^\.+ .*/caf/')
if [ -n "$caf" ]; then
  echo "manta.hpp includes CAF headers (first 20, with the depth of inclusion):"
  printf '%s\n' "$caf" | head -20
  exit 1
fi
echo "no CAF header among the $(printf '%s\n' "$out" | grep -cE '^\.+ ') headers opened"
exit 0
