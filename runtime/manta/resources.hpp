#pragma once

#include <map>
#include <string>

namespace manta {

/// Quantities of named resources ("CPU", "GPU", "memory" or any custom name).
/// A task or actor demands a resource_set; a node offers one.
using resource_map = std::map<std::string, double>;

/// The name under which CPUs appear in a resource_map.
inline constexpr const char* cpu_resource = "CPU";

namespace detail {

/// A resource demand in the form the scheduler works with: CPUs kept apart
/// because nearly every task asks for them and nothing else.
struct resource_demand {
  double cpus = 1.0;
  resource_map custom;

  /// True when `capacity` holds at least this demand.
  bool fits_in(double free_cpus, const resource_map& free_custom) const;

  /// Sets the amounts `rs` names: "CPU" to `cpus`, the others in `custom`.
  void assign(const resource_map& rs);

  /// Describes the demand, e.g. "{CPU: 2, GPU: 1}".
  std::string to_string() const;

  /// The same amounts of the same resources (tasks that wait together).
  bool operator==(const resource_demand&) const = default;
};

} // namespace detail

} // namespace manta
