#pragma once

// The three-stage pipeline the cluster tests run across nodes (plain TCP in
// cluster_test, TLS in cluster_tls_test): generate -> scale -> total, six
// small chains and one with an 8 MiB intermediate that stays on its node
// and is fetched by the next stage. Include it in one file of a test binary.

#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <numeric>
#include <vector>

namespace manta_test {

inline std::vector<double> generate(int n, double start) {
  std::vector<double> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

inline std::vector<double> scale(const std::vector<double>& v, double k) {
  auto out = v;
  for (auto& x : out)
    x *= k;
  return out;
}

inline double total(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

MANTA_REMOTE(generate, scale, total);

/// Runs the pipeline on the cluster this process joined and checks every
/// result exactly (all values are integers below 2^53, so the sums are
/// exact in any order of placement).
inline void run_pipeline() {
  std::vector<manta::object_ref<double>> sums;
  for (int i = 0; i < 6; ++i) {
    auto v = manta::task(generate).remote(1000, static_cast<double>(i));
    auto s = manta::task(scale).remote(v, 2.0);
    sums.push_back(manta::task(total).remote(s));
  }
  for (int i = 0; i < 6; ++i) {
    // 2 * sum(i .. i + 999)
    double expect = 2.0 * (1000.0 * i + 999.0 * 1000.0 / 2.0);
    CHECK(manta::get(sums[static_cast<size_t>(i)]) == expect);
  }
  // A large intermediate (8 MiB, stored on its node) feeding another task.
  auto big = manta::task(generate).remote(1 << 20, 0.0);
  auto doubled = manta::task(scale).remote(big, 2.0);
  CHECK(manta::get(manta::task(total).remote(doubled))
        == 2.0 * (double(1 << 20) - 1) * double(1 << 20) / 2.0);
}

} // namespace manta_test
