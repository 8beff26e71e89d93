# Sourced by tools/format.sh and tools/lint.sh: which clang tool to run.
#   tool=$(clang_tool CALLER NAME "$OVERRIDE")
# prints OVERRIDE if it is set, else NAME-16 or NAME, the first on PATH;
# if neither is, says so (as CALLER) with how to install it and fails.
clang_tool() {
  local caller=$1 name=$2 override=$3
  if [ -n "$override" ]; then
    echo "$override"
    return 0
  fi
  for candidate in "$name-16" "$name"; do
    if command -v "$candidate" >/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "$caller: $name-16 not found; install it (bash tools/setup.sh, or apt-get install $name-16)" >&2
  return 2
}
