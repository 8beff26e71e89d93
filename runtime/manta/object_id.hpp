#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace manta {

/// Names one object in the cluster. The high 16 bits name the node that
/// created the id, the low 48 bits count objects on that node, so ids are
/// unique without coordination and fixed at submission time.
class object_id {
public:
  constexpr object_id() noexcept = default;
  constexpr explicit object_id(uint64_t value) noexcept : value_(value) {} ///< From `value()`.
  /// The id of object number `index` created on `node`.
  static constexpr object_id make(uint16_t node, uint64_t index) noexcept {
    return object_id{(uint64_t{node} << 48) | (index & ((uint64_t{1} << 48) - 1))};
  }

  constexpr uint64_t value() const noexcept { return value_; } ///< All 64 bits.
  constexpr uint16_t node() const noexcept { return static_cast<uint16_t>(value_ >> 48); }
  constexpr bool valid() const noexcept { return value_ != 0; } ///< Not null?

  friend constexpr bool operator==(object_id x, object_id y) noexcept = default; ///< Same bits.
  friend constexpr auto operator<=>(object_id x, object_id y) noexcept = default; ///< By bits.

private:
  uint64_t value_ = 0;
};

/// Renders an id as 16 hex digits, the form the tools print and accept.
std::string to_string(object_id id);

} // namespace manta

template <>
struct std::hash<manta::object_id> {
  size_t operator()(manta::object_id id) const noexcept {
    // ids count up; mix them so hash tables spread them well.
    uint64_t x = id.value() * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(x ^ (x >> 32));
  }
};
