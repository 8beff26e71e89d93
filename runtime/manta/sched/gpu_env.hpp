#pragma once

#include <string>
#include <utility>
#include <vector>

namespace manta::detail {

/// The name under which GPUs appear in a resource_map.
inline constexpr const char* gpu_resource = "GPU";

/// The GPUs of a node offering `total` of them, each with what is free of
/// it: 2 -> {1, 1}; a fraction left over is a GPU of its own (0.5 -> {0.5}).
std::vector<double> gpu_capacities(double total);

/// Which GPUs a demand of `amount` takes, given what is free of each: a
/// whole number of GPUs that are wholly free, or for a fraction below 1
/// the fullest GPU it fits on (fractions are packed, as in Ray). Each
/// pick is (index, amount taken); empty if it does not fit.
std::vector<std::pair<int, double>> pick_gpus(const std::vector<double>& free, double amount);

/// The value `CUDA_VISIBLE_DEVICES` shows the task or actor running on the
/// calling thread ("0,1"), or empty if it holds no GPU. This file also
/// interposes `getenv` so that, on such a thread, the variable reads as
/// this: tasks share one process, and the process's environment cannot
/// differ per thread (nor be changed while other threads read it).
std::string visible_gpus_of_this_thread();

} // namespace manta::detail
