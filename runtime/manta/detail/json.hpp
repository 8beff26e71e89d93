#pragma once

#include "manta/memory_summary.hpp"
#include "manta/state.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace manta::detail::json {

/// Appends `s` as a JSON string literal (quoted, escaped; bytes that are
/// not valid UTF-8 pass through unchanged, control characters as \uXXXX).
void append_string(std::string& out, std::string_view s);

/// `s` as a JSON string literal.
std::string quote(std::string_view s);

/// One record as a JSON object, with the field names of the C++ structs;
/// times are microseconds since the Unix epoch, ids 16 hex digits.
std::string to_json(const task_info& t);
std::string to_json(const actor_info& a);
std::string to_json(const node_info& n);
std::string to_json(const object_memory_info& o);
std::string to_json(const resource_map& r);

/// A JSON array of records.
template <class Info>
std::string to_json(const std::vector<Info>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ",\n";
    out += to_json(xs[i]);
  }
  out += "]";
  return out;
}

} // namespace manta::detail::json
