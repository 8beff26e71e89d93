#include "manta/resources.hpp"

#include "manta/resource_fit.hpp"

#include <sstream>

namespace manta::detail {

namespace {

/// A tiny epsilon absorbs rounding when fractional CPUs are added back.
constexpr double eps = 1e-9;

} // namespace

// Out of line (also for `fits_in`'s custom part): the common demand (CPUs
// only, checked twice a task) then returns without the loop's register saves.
[[gnu::noinline]] bool amounts_fit(const resource_map& want, const resource_map& room) {
  for (auto& [name, amount] : want) {
    if (amount <= 0)
      continue;
    auto i = room.find(name);
    if (i == room.end() || amount > i->second + eps)
      return false;
  }
  return true;
}

bool resource_demand::fits_in(double free_cpus, const resource_map& free_custom) const {
  if (cpus > free_cpus + eps)
    return false;
  return custom.empty() || amounts_fit(custom, free_custom);
}

void resource_demand::assign(const resource_map& rs) {
  for (auto& [name, amount] : rs) {
    if (name == cpu_resource)
      cpus = amount;
    else
      custom[name] = amount;
  }
}

std::string resource_demand::to_string() const {
  std::ostringstream out;
  out << "{CPU: " << cpus;
  for (auto& [name, amount] : custom)
    out << ", " << name << ": " << amount;
  out << '}';
  return out.str();
}

} // namespace manta::detail
