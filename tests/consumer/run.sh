#!/usr/bin/env bash
# The consumer test (meson test --suite install): installs this build into a
# temporary folder, then builds and runs tests/consumer/consumer.cpp, a
# program outside the project, three ways: with pkg-config (libmanta.so),
# with CMake's find_package (libmanta.a), as a meson subproject (only the
# library built, no doctest); then moves the installed tree elsewhere and
# builds it again with pkg-config and CMake (libmanta.so), which must find
# it where it now is.
#
# usage: run.sh SOURCE_ROOT BUILD_ROOT PREFIX LIBDIR TOOLS (true: the manta
# command is installed too)
set -euo pipefail
src=$1 build=$2 prefix=$3 libdir=$4 tools=$5
work=$build/consumer-test
# A folder of its own under the build tree, at the same place every run, so
# ccache finds the subproject's objects from the last run.
rm -rf "$work/stage" "$work/moved" "$work/pkgconfig" "$work/pkgconfig-moved" "$work/cmake" \
  "$work/cmake-moved"
mkdir -p "$work"
# meson test points LD_LIBRARY_PATH at the build tree: the installed copy is
# what is tested.
unset MANTA_DASHBOARD_DIR PKG_CONFIG_PATH LD_LIBRARY_PATH
launcher=()
command -v ccache >/dev/null && launcher=(ccache)
t0=$SECONDS
step() { echo "== [$((SECONDS - t0)) s] $*"; }
fail() { echo "consumer test: $*" >&2; exit 1; }

step "meson install --destdir $work/stage"
meson install -C "$build" --destdir "$work/stage" --no-rebuild --skip-subprojects --quiet
root=$work/stage$prefix
lib=$root/$libdir
for f in "$root/include/manta/manta.hpp" "$lib/libmanta.a" "$lib/libmanta.so" \
         "$lib/pkgconfig/manta.pc" "$lib/cmake/manta/mantaConfig.cmake" \
         "$lib/cmake/manta/mantaConfigVersion.cmake"; do
  [ -e "$f" ] || fail "meson install did not write $f"
done
if [ "$tools" = true ]; then
  "$root/bin/manta" --version | grep >/dev/null '^manta ' || fail "the installed manta --version failed"
fi
# A real archive (a thin one holds only paths into the build tree).
[ "$(head -c 8 "$lib/libmanta.a")" = '!<arch>' ] || fail "$lib/libmanta.a is a thin archive"
ar t "$lib/libmanta.a" | grep >/dev/null 'runtime.cpp.o' || fail "libmanta.a lacks runtime.cpp.o"
# The dashboard's page is in the library, not read from the source tree.
if grep -q -F "$src/tools/dashboard" "$lib/libmanta.so.0"*; then
  fail "libmanta.so names the source tree's dashboard folder"
fi

# Builds and runs the consumer with pkg-config from the tree at $1; checks
# that the program loads libmanta.so from there.
with_pkg_config() {
  local at=$1 out=$2
  step "pkg-config build against $at"
  export PKG_CONFIG_PATH=$at/$libdir/pkgconfig
  [ "$(pkg-config --variable=prefix manta)" -ef "$at" ] \
    || fail "manta.pc's prefix is $(pkg-config --variable=prefix manta), not $at"
  mkdir -p "$out"
  # shellcheck disable=SC2046
  "${launcher[@]}" c++ -O1 "$src/tests/consumer/consumer.cpp" -o "$out/consumer" \
    $(pkg-config --cflags --libs manta)
  LD_LIBRARY_PATH=$at/$libdir ldd "$out/consumer" | grep >/dev/null "$at/$libdir/libmanta.so" \
    || fail "the pkg-config build does not load libmanta.so from $at"
  LD_LIBRARY_PATH=$at/$libdir "$out/consumer"
  unset PKG_CONFIG_PATH
}

# Builds and runs the consumer with CMake from the tree at $1 ($3: ON links
# the static library).
with_cmake() {
  local at=$1 out=$2 static=$3
  step "CMake find_package build against $at (static: $static)"
  cmake -S "$src/tests/consumer" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$at" -DMANTA_STATIC="$static" \
    ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER=ccache} >"$out.log" 2>&1 \
    || { cat "$out.log"; fail "cmake could not configure against $at"; }
  cmake --build "$out" >>"$out.log" 2>&1 || { cat "$out.log"; fail "cmake --build failed"; }
  if [ "$static" = ON ]; then
    ! ldd "$out/consumer" | grep >/dev/null libmanta.so || fail "the static build loads libmanta.so"
  else
    ldd "$out/consumer" | grep >/dev/null "$at/$libdir/libmanta.so" \
      || fail "the CMake build does not load libmanta.so from $at"
  fi
  "$out/consumer"
}

with_pkg_config "$root" "$work/pkgconfig"
with_cmake "$root" "$work/cmake" ON

step "meson subproject build (tests, demos and tools off)"
# A fresh consumer project each run (ccache, where there is one, makes the
# library's second compile mostly cache hits). Built unoptimized (buildtype
# plain: -O0, no debug info), the fastest compile: this step checks how the
# subproject is wired, and without ccache (CI) the library is compiled again.
sub=$work/subproject
rm -rf "$sub"
mkdir -p "$sub/subprojects"
cp "$src/tests/consumer/meson.build" "$src/tests/consumer/consumer.cpp" "$sub/"
ln -s "$src" "$sub/subprojects/manta"
meson setup "$sub/build" "$sub" --buildtype=plain >"$sub/setup.log" 2>&1 \
  || { cat "$sub/setup.log"; fail "meson setup of the subproject consumer failed"; }
ninja -C "$sub/build" consumer >"$sub/build.log" 2>&1 \
  || { tail -50 "$sub/build.log"; fail "the subproject consumer did not build"; }
grep -q 'doctest' "$sub/build/build.ninja" && fail "the subproject build uses doctest"
echo "subproject build: $(grep -c 'Compiling' "$sub/build.log" || true) compile steps"
"$sub/build/consumer"

step "the installed tree moved to $work/moved"
mv "$root" "$work/moved"
with_pkg_config "$work/moved" "$work/pkgconfig-moved"
with_cmake "$work/moved" "$work/cmake-moved" OFF
if [ "$tools" = true ]; then
  "$work/moved/bin/manta" --version
fi
step "done"
