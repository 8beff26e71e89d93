#include "manta/observe/json.hpp"

#include <boost/json/serializer.hpp>


// JSON strings, always valid UTF-8 (json.hpp); Boost.JSON escapes them.
// Apart from the records (json.cpp) so that the fuzz targets can build
// them alone.
namespace manta::detail::json {

size_t utf8_sequence(std::string_view s, size_t i) noexcept {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto c = byte(i);
  if (c < 0x80)
    return 1;
  // RFC 3629: the lead byte fixes the length and the range of the second
  // byte (no overlong forms, no surrogates, nothing above U+10FFFF).
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    lo = c == 0xe0 ? 0xa0 : 0x80;
    hi = c == 0xed ? 0x9f : 0xbf;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    lo = c == 0xf0 ? 0x90 : 0x80;
    hi = c == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (i + len > s.size() || byte(i + 1) < lo || byte(i + 1) > hi)
    return 0;
  for (size_t k = 2; k < len; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf)
      return 0;
  return len;
}

bool valid_utf8(std::string_view s) noexcept {
  for (size_t i = 0; i < s.size();) {
    auto n = utf8_sequence(s, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto n = utf8_sequence(s, i);
    if (n == 0) {
      out += replacement_character;
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

boost::json::string text(std::string_view s, boost::json::storage_ptr sp) {
  if (valid_utf8(s))
    return boost::json::string(s, std::move(sp));
  // Not UTF-8 (a task name made of raw bytes, a truncated error text): JSON
  // parsers refuse such strings, so one bad byte would break the whole
  // answer. U+FFFD keeps the rest readable.
  return boost::json::string(sanitize_utf8(s), std::move(sp));
}

void append_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(text(s));
}

std::string quote(std::string_view s) {
  return boost::json::serialize(text(s));
}

void append_value(std::string& out, const boost::json::value& v) {
  // One per thread: a serializer's stack is allocated on first use.
  thread_local boost::json::serializer writer;
  writer.reset(&v);
  char chunk[4096];
  while (!writer.done())
    out.append(writer.read(chunk, sizeof chunk));
}

std::string error_body(std::string_view why) {
  boost::json::object o;
  o.emplace("error", text(why, o.storage()));
  return boost::json::serialize(o);
}

} // namespace manta::detail::json
