#!/usr/bin/env bash
# Builds CAF (Debian's own source of libcaf-dev) with ThreadSanitizer into
# build-caf-tsan/, for `tools/sanitize.sh tsan`.
#
#   tools/build_caf_tsan.sh
#
# Debian's libcaf_core is not built with -fsanitize=thread, so TSan cannot
# see the atomics and fences inside it and reports every actor spawn and
# mailbox hand-off as a race (docs/reliability.md). This script:
#   1. adds a deb-src entry for bookworm to apt's sources (needs root) and
#      fetches the source package that builds libcaf-dev (actor-framework)
#      with `apt-get source`, Debian's patches applied;
#   2. configures it like Debian does (log level QUIET, so the headers say
#      the same as /usr/include/caf) with -fsanitize=thread, only the core,
#      io and openssl libraries (no examples, tests or tools);
#   3. installs headers and libraries into build-caf-tsan/install/.
# The build runs under `nice -n 15` (the machine is shared). Rerunning it
# reuses what is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build-caf-tsan"
prefix="$out/install"
package=$(apt-cache show libcaf-dev | sed -n 's/^Source: \([^ ]*\).*/\1/p' | head -1)
package=${package:-actor-framework}
jobs=${JOBS:-2}

if [ -f "$prefix/lib/libcaf_core.so" ] && [ -f "$prefix/lib/libcaf_io.so" ] \
   && [ -f "$prefix/lib/libcaf_openssl.so" ]; then
  echo "CAF with TSan already in $prefix"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian's source of the package.
mkdir -p "$out/src"
src=$(find "$out/src" -maxdepth 1 -type d -name "$package-*" | head -1)
if [ -z "$src" ]; then
  list=/etc/apt/sources.list.d/manta-deb-src.sources
  if ! apt-get source --print-uris "$package" >/dev/null 2>&1; then
    echo "adding deb-src for bookworm in $list"
    as_root tee "$list" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    as_root apt-get update -qq
  fi
  # apt checks the upstream tarball against the signed .dsc. Where the
  # mirror lacks the Debian part (*.debian.tar.xz, Debian's packaging and
  # patches), unpack the checked upstream tarball on its own and say so.
  if ! (cd "$out/src" && apt-get source "$package"); then
    orig=$(find "$out/src" -maxdepth 1 -name "${package}_*.orig.tar.*" | head -1)
    [ -n "$orig" ] || { echo "apt-get source $package fetched nothing" >&2; exit 1; }
    echo "warning: only the upstream tarball $orig came; building it without Debian's patches" >&2
    tar -C "$out/src" -xf "$orig"
    src=$(find "$out/src" -maxdepth 1 -type d -name "$package-*" | head -1)
    # Debian's patches to the headers show in the headers libcaf-dev
    # installed (same version): take those that differ. In 0.17.6-2.1 that
    # is `#include <limits>` in io/network/receive_buffer.hpp, without which
    # gcc 12 does not compile libcaf_io.
    (cd /usr/include && find caf -name '*.hpp' ! -path caf/detail/build_config.hpp) |
      while read -r h; do
        for lib in libcaf_core libcaf_io libcaf_openssl; do
          if [ -f "$src/$lib/$h" ] && ! cmp -s "/usr/include/$h" "$src/$lib/$h"; then
            echo "taking Debian's /usr/include/$h"
            cp "/usr/include/$h" "$src/$lib/$h"
          fi
        done
      done
  fi
  src=$(find "$out/src" -maxdepth 1 -type d -name "$package-*" | head -1)
fi
echo "source: $src"

# 2. Configure and build the libraries only.
flags="-fsanitize=thread -g -O1 -fno-omit-frame-pointer"
cmake -S "$src" -B "$out/cmake" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DCAF_LOG_LEVEL=QUIET \
  -DCAF_NO_EXAMPLES=ON -DCAF_NO_UNIT_TESTS=ON -DCAF_NO_TOOLS=ON \
  -DCAF_NO_PYTHON=ON -DCAF_NO_OPENCL=ON -DCAF_NO_BENCHMARKS=ON \
  -DCAF_NO_SUMMARY=ON -DCAF_NO_COMPILER_CHECK=ON
nice -n 15 cmake --build "$out/cmake" -j "$jobs"
cmake --install "$out/cmake"
echo "CAF with TSan in $prefix"
