#pragma once

#include "manta/memory_summary.hpp"
#include "manta/state.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace manta::detail::json {

/// U+FFFD, what stands in for bytes that are not UTF-8.
inline constexpr std::string_view replacement_character = "\xef\xbf\xbd";

/// The length of the well-formed UTF-8 sequence at `s[i]` (1-4), or 0 if
/// there is none (RFC 3629: no overlong forms, surrogates or code points
/// above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i) noexcept;

bool valid_utf8(std::string_view s) noexcept;

/// `s` with every byte that does not start a well-formed sequence replaced
/// by U+FFFD.
std::string sanitize_utf8(std::string_view s);

/// Appends `s` as a JSON string literal: quoted, escaped, control
/// characters as \uXXXX, and always valid UTF-8 (as `sanitize_utf8`).
/// Every string in the JSON that Manta writes (task and actor names, error
/// texts, log lines, node names) goes through here, so one task named with
/// raw bytes cannot make /api/tasks, `manta list` or a timeline unreadable.
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
