#pragma once

// The fuzz targets of the network-facing parsers that are not wire
// messages (fuzz_targets.hpp has those): the dashboard's HTTP request path,
// the data path's request header, JSON strings the dashboard writes, and
// the config file. Each checks a property, not only the absence of a crash.
// Built into libFuzzer binaries by tools/fuzz.sh and replayed over
// tests/fuzz/corpus/ by tests/fuzz_corpus_test.cpp.

#include "tests/fuzz/fuzz_targets.hpp"

#include <actors/dashboard_http.hpp>
#include <manta/detail/json.hpp>
#include <manta/detail/transfer_protocol.hpp>

// Boost.JSON is not built as a library here: its sources come with this
// header, so include it in one file of a program only (each fuzz binary,
// fuzz_corpus_test).
#include <boost/json/src.hpp>

#include <string>
#include <string_view>

namespace manta_fuzz {

/// The first byte picks the dashboard's setting (loopback, off loopback
/// with a token, bound to every address); the rest is one request. A
/// request that does not carry the token must never reach the handler off
/// loopback, nor one without an allowed Host ever.
inline int http_request(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  manta::actors::dashboard_access access;
  access.port = 8265;
  const std::string token = "f00dfeedcafe";
  switch (data[0] % 3) {
    case 0:
      break;
    case 1:
      access.host = "10.0.0.5";
      access.token = token;
      break;
    default:
      access.host = "0.0.0.0";
      access.token = token;
  }
  std::string_view raw{reinterpret_cast<const char*>(data) + 1, size - 1};
  bool reached = false;
  auto status = manta::actors::answer_raw(raw, access, [&](std::string_view target) {
    reached = true;
    auto q = manta::actors::parse_query(target.substr(std::min(target.size(), target.find('?'))));
    return manta::actors::http_reply{200, "text/plain", std::to_string(q.size())};
  });
  require(status >= 200 && status < 600);
  if (reached) {
    require(status == 200);
    if (access.needs_token())
      require(raw.find(token) != std::string_view::npos);
  }
  return 0;
}

/// The data path's request header: whatever 32 bytes a peer sends, an
/// accepted header has the magic, a bounded token and a range in 2^64.
inline int transfer_request(const uint8_t* data, size_t size) {
  namespace tp = manta::detail::transfer_protocol;
  tp::request r{};
  auto why = tp::parse_request(as_chars(data, size), r);
  if (why.empty()) {
    require(size == sizeof(tp::request));
    require(r.magic == tp::magic && r.token_len <= tp::max_token);
    require(r.offset + r.length >= r.offset);
  }
  return 0;
}

/// Any bytes as a JSON string literal: valid UTF-8, one parseable string,
/// and bytes that were UTF-8 already come back unchanged.
inline int json_string(const uint8_t* data, size_t size) {
  namespace json = manta::detail::json;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  auto quoted = json::quote(in);
  require(json::valid_utf8(quoted));
  auto clean = json::sanitize_utf8(in);
  require(json::valid_utf8(clean));
  if (json::valid_utf8(in))
    require(clean == in);
  require(json::quote(clean) == quoted);
  // A strict parser (it refuses invalid UTF-8) reads it back as `clean`.
  boost::json::error_code ec;
  auto v = boost::json::parse(quoted, ec);
  require(!ec && v.is_string() && v.as_string() == clean);
  return 0;
}

inline constexpr std::array<target, 3> net_targets = {{
  {"http_request", &http_request},
  {"transfer_request", &transfer_request},
  {"json_string", &json_string},
}};

} // namespace manta_fuzz
