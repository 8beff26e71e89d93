#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>

namespace manta::detail::wire {

// What every decoder shares: the limits on a message from another process
// and the check of resource amounts. Each protocol's messages are written
// and read in a file of their own (wire_task.cpp, wire_result.cpp,
// wire_node.cpp, wire_actor.cpp, wire_logs.cpp, wire_object.cpp,
// wire_queue.cpp, wire_bundles.cpp).

namespace {

std::atomic<size_t> g_max_message_bytes{0}; // 0: not configured yet
std::atomic<uint64_t> g_traversal_factor{decode_limits{}.traversal_factor};

size_t max_message_bytes() noexcept {
  auto n = g_max_message_bytes.load(std::memory_order_relaxed);
  if (n != 0)
    return n;
  n = decode_limits{}.max_message_bytes;
  if (auto env = std::getenv("MANTA_MAX_MESSAGE_BYTES"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    auto v = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && v > 0)
      n = static_cast<size_t>(v);
  }
  g_max_message_bytes.store(n, std::memory_order_relaxed);
  return n;
}

/// Why `x` cannot be a resource amount, or empty.
std::string check_amount(const std::string& name, double x) {
  if (std::isfinite(x) && x >= 0)
    return {};
  return "resource '" + name + "' has amount " + std::to_string(x)
         + " (amounts are finite and non-negative)";
}

} // namespace

std::string check_resources(double cpus, const resource_map& custom) {
  if (auto why = check_amount(cpu_resource, cpus); !why.empty())
    return why;
  for (auto& [name, amount] : custom) {
    if (name.empty())
      return "a resource has an empty name";
    if (auto why = check_amount(name, amount); !why.empty())
      return why;
  }
  return {};
}

decode_limits current_decode_limits() noexcept {
  return {max_message_bytes(), g_traversal_factor.load(std::memory_order_relaxed)};
}

void set_decode_limits(const decode_limits& x) noexcept {
  g_max_message_bytes.store(x.max_message_bytes == 0 ? 1 : x.max_message_bytes);
  g_traversal_factor.store(x.traversal_factor == 0 ? 1 : x.traversal_factor);
}

} // namespace manta::detail::wire
