#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace manta::detail {

/// One of a listed record's text members under the name that filters use
/// ("state=RUNNING"); a member may stand under several names.
template <class Info>
using text_field = std::pair<std::string_view, std::string Info::*>;

/// The member that `key` names in `table`, or "" for a name it lacks: the
/// table behind a record's `field(key)` (state.cpp, placement_group.cpp).
template <class Info, size_t N>
std::string text_field_of(const Info& x, std::string_view key, const text_field<Info> (&table)[N]) {
  for (auto& [name, member] : table)
    if (name == key)
      return x.*member;
  return {};
}

} // namespace manta::detail
