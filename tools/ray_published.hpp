#pragma once

#include <string_view>

namespace manta::tools {

/// Ray's own published `ray microbenchmark` figures (Ray 2.31 release
/// tests, one 64-core m5.16xlarge node; ray-project/ray,
/// release/perf_metrics/microbenchmark.json), per second or GB/s. Printed
/// next to Manta's figures so the ratio is visible in every run; for a
/// side-by-side on this machine run tools/compare_ray.sh.
inline double ray_published(std::string_view metric) {
  struct row {
    std::string_view name;
    double value;
  };
  static constexpr row rows[] = {
    {"single_client_get_calls", 10620.4},
    {"single_client_put_calls", 5173.3},
    {"multi_client_put_calls", 16526.4},
    {"single_client_put_gigabytes", 19.86},
    {"multi_client_put_gigabytes", 38.14},
    {"single_client_tasks_and_get_batch", 5.80},
    {"single_client_get_object_containing_10k_refs", 13.37},
    {"single_client_wait_1k_refs", 5.08},
    {"single_client_tasks_sync", 980.7},
    {"single_client_tasks_async", 8040.5},
    {"multi_client_tasks_async", 21229.8},
    {"1_1_actor_calls_sync", 2011.9},
    {"1_1_actor_calls_async", 8663.7},
    {"1_1_actor_calls_concurrent", 5775.0},
    {"1_n_actor_calls_async", 8038.2},
    {"n_n_actor_calls_async", 27375.6},
    {"n_n_actor_calls_with_arg_async", 2759.3},
    {"1_1_async_actor_calls_sync", 1459.7},
    {"1_1_async_actor_calls_async", 4259.8},
    {"1_1_async_actor_calls_with_args_async", 2836.3},
    {"1_n_async_actor_calls_async", 7382.7},
    {"n_n_async_actor_calls_async", 23674.5},
  };
  for (auto& r : rows)
    if (r.name == metric)
      return r.value;
  return 0;
}

} // namespace manta::tools
