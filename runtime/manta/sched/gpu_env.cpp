#include "manta/sched/gpu_env.hpp"

#include "manta/core/runtime.hpp"
#include "manta/sched/worker_pool.hpp"

#include <cmath>
#include <cstring>

extern char** environ;

namespace manta::detail {

namespace {

constexpr double eps = 1e-9;

constexpr const char* cuda_visible = "CUDA_VISIBLE_DEVICES";

/// glibc's getenv: the value of `name` in the process's environment.
char* process_getenv(const char* name) noexcept {
  auto n = std::strlen(name);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (std::strncmp(*e, name, n) == 0 && (*e)[n] == '=')
      return *e + n + 1;
  return nullptr;
}

} // namespace

std::vector<double> gpu_capacities(double total) {
  std::vector<double> out;
  if (!(total > 0))
    return out;
  auto whole = static_cast<size_t>(std::floor(total + eps));
  out.assign(whole, 1.0);
  if (total - static_cast<double>(whole) > eps)
    out.push_back(total - static_cast<double>(whole));
  return out;
}

std::vector<std::pair<int, double>> pick_gpus(const std::vector<double>& free, double amount) {
  std::vector<std::pair<int, double>> out;
  if (amount >= 1.0 - eps) {
    auto wanted = static_cast<size_t>(std::ceil(amount - eps));
    for (size_t i = 0; i < free.size() && out.size() < wanted; ++i)
      if (free[i] >= 1.0 - eps)
        out.emplace_back(static_cast<int>(i), 1.0);
    if (out.size() < wanted)
      out.clear();
    return out;
  }
  int best = -1;
  for (size_t i = 0; i < free.size(); ++i)
    if (free[i] >= amount - eps && (best < 0 || free[i] < free[static_cast<size_t>(best)]))
      best = static_cast<int>(i);
  if (best >= 0)
    out.emplace_back(best, amount);
  return out;
}

std::string visible_gpus_of_this_thread() {
  auto* t = this_task().task;
  auto* rt = runtime::current();
  if (t == nullptr || rt == nullptr)
    return {};
  std::string out;
  for (int id : rt->pool().gpu_ids(t->lease_owner())) {
    if (!out.empty())
      out += ',';
    out += std::to_string(id);
  }
  return out;
}

} // namespace manta::detail

/// Interposes the C library's getenv (see gpu_env.hpp). Every other name,
/// and this one on threads that hold no GPU, reads the process's
/// environment exactly as glibc does.
extern "C" char* getenv(const char* name) noexcept {
  using namespace manta::detail;
  if (name[0] == 'C' && std::strcmp(name, cuda_visible) == 0 && this_task().task != nullptr) {
    thread_local std::string value;
    auto mine = visible_gpus_of_this_thread();
    if (!mine.empty()) {
      value = std::move(mine);
      return value.data();
    }
  }
  return process_getenv(name);
}
