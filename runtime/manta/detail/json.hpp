#pragma once

#include "manta/memory_summary.hpp"
#include "manta/state.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include <string>
#include <string_view>
#include <vector>

/// The JSON that Manta writes (the dashboard's answers, `manta list`, the
/// head's merges) is Boost.JSON values, serialized: the records below
/// convert with `boost::json::value_from`, with the field names of the C++
/// structs; times are microseconds since the Unix epoch, ids 16 hex digits
/// (null when not set), resource amounts numbers (null when not finite).
namespace manta {

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const task_info& t);
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const actor_info& a);
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const node_info& n);
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v,
                const object_memory_info& o);

} // namespace manta

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

/// `s` as a JSON string, always valid UTF-8 (as `sanitize_utf8`): Boost.JSON
/// writes a string's bytes as they are, and parsers refuse invalid UTF-8.
/// Every string in the JSON that Manta writes (task and actor names, error
/// texts, log lines, node names) goes through here, so one task named with
/// raw bytes cannot make /api/tasks, `manta list` or a timeline unreadable.
boost::json::string text(std::string_view s, boost::json::storage_ptr sp = {});

/// Appends `s` as a JSON string literal (`text`, serialized).
void append_string(std::string& out, std::string_view s);

/// `s` as a JSON string literal.
std::string quote(std::string_view s);

/// `{"error": why}`, the body of the dashboard's refusals.
std::string error_body(std::string_view why);

/// A resource map as an object of amounts.
boost::json::value to_value(const resource_map& r, boost::json::storage_ptr sp = {});

/// Serializes what `build(storage)` returns, its memory one arena freed at
/// once.
template <class Build>
std::string serialize_in_arena(Build&& build) {
  boost::json::monotonic_resource arena;
  return boost::json::serialize(build(boost::json::storage_ptr{&arena}));
}

/// One record, or an array of them, as JSON text.
template <class Info>
std::string to_json(const Info& x) {
  return boost::json::serialize(boost::json::value_from(x));
}

/// The array is built in one monotonic arena (100,000 tasks: 1.9 million
/// keys and strings, each otherwise its own allocation).
template <class Info>
std::string to_json(const std::vector<Info>& xs) {
  return serialize_in_arena([&](boost::json::storage_ptr sp) {
    boost::json::value v(boost::json::array_kind, sp);
    auto& a = v.get_array();
    a.reserve(xs.size());
    for (auto& x : xs)
      a.push_back(boost::json::value_from(x, sp));
    return v;
  });
}

std::string to_json(const resource_map& r);

} // namespace manta::detail::json
