#!/usr/bin/env bash
# Installs every build and test dependency of Manta on a fresh Debian 12 machine.
# Run as root (or with sudo). Safe to run again: apt-get skips what is already there.
set -euo pipefail
pkgs=(
  g++ meson ninja-build pkg-config cmake
  libcaf-dev libcaf-openssl0.17 libssl-dev
  # the TLS data path's AES-GCM (runtime/manta/net/record_cipher.hpp; optional)
  libipsec-mb-dev libgcrypt20-dev
  openssl
  iproute2
  # the netns tests' delay and loss where the kernel has no netem
  # (tests/netem_relay.hpp): iptables rules that queue and drop, and
  # libnetfilter_queue for the relay that holds the queued packets
  iptables libnetfilter-queue-dev
  libcapnp-dev capnproto
  libboost1.81-all-dev
  # the peers benchmark (tools/peers_benchmark.cpp): TBB; Boost.Fiber comes
  # with libboost1.81-all-dev (libboost-fiber-dev is Boost 1.74 and would
  # clash) and OpenMP with g++ (libgomp, -fopenmp)
  libtbb-dev
  doctest-dev
  # the layout and lint checks (tools/format.sh, tools/lint.sh): version 16,
  # the newest in Debian 12, pinned because layouts differ between versions
  clang-format-16 clang-tidy-16
  libhiredis-dev redis-server
  gnuplot-nox
  # promtool, which checks the /metrics text of a node and of the head
  # (tests/cluster_metrics_test.cpp)
  prometheus
  chromium
  # the dashboard's graphs (compiled into the library: tools/dashboard/)
  libjs-chart.js
  # docs (Doxygen API reference) and deployment tests (tests/deploy/):
  # systemd-analyze, a single-host Slurm with munge
  doxygen
  systemd
  slurm-wlm munge
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js for the browser test: Debian's, unless a node and npm are already
# there (e.g. NodeSource's nodejs, which bundles npm and conflicts with
# Debian's npm package).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present"
else
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# playwright-core for the dashboard's browser test (tests/browser/, from npm
# into a folder git ignores); a failure here only skips that test.
bash "$(dirname "$0")/setup_browser.sh" || echo "setup: playwright-core not installed; the browser test will skip"
