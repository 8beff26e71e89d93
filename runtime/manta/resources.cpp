#include "manta/resources.hpp"

#include <sstream>

namespace manta::detail {

namespace {

/// A tiny epsilon absorbs rounding when fractional CPUs are added back.
constexpr double eps = 1e-9;

/// The custom resources' part of `fits_in`, out of line: the common demand
/// (CPUs only, checked twice a task) then returns without the loop's
/// register saves.
[[gnu::noinline]] bool custom_fits(const resource_map& custom, const resource_map& free_custom) {
  for (auto& [name, amount] : custom) {
    if (amount <= 0)
      continue;
    auto i = free_custom.find(name);
    if (i == free_custom.end() || amount > i->second + eps)
      return false;
  }
  return true;
}

} // namespace

bool resource_demand::fits_in(double free_cpus, const resource_map& free_custom) const {
  if (cpus > free_cpus + eps)
    return false;
  return custom.empty() || custom_fits(custom, free_custom);
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
