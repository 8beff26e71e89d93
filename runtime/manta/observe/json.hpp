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

/// Appends `v` as JSON text to `out`, serialized in place.
void append_value(std::string& out, const boost::json::value& v);

/// Appends record `x` as JSON text to `out`: its value is built in a
/// buffer on the stack (a task's fits) and serialized in place, so a
/// record costs no allocation besides the text's growth.
template <class Info>
void append_json(std::string& out, const Info& x) {
  alignas(std::max_align_t) unsigned char buffer[4096];
  boost::json::monotonic_resource arena(buffer, sizeof buffer);
  append_value(out, boost::json::value_from(x, boost::json::storage_ptr{&arena}));
}

/// One record, or an array of them, as JSON text. An array is written
/// record by record into text reserved once: one Boost.JSON tree of all
/// the records was slower than the hand-written writer it replaced
/// (docs/observability.md, "The dashboard's cost").
template <class Info>
std::string to_json(const Info& x) {
  std::string out;
  append_json(out, x);
  return out;
}

template <class Info>
std::string to_json(const std::vector<Info>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    append_json(out, xs[i]);
    if (i == 0) // room for all of them, by the first one's size
      out.reserve(out.size() * xs.size() * 9 / 8 + 2);
  }
  out += ']';
  return out;
}

std::string to_json(const resource_map& r);

} // namespace manta::detail::json
