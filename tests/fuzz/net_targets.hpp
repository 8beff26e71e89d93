#pragma once

// The fuzz targets of the network-facing parsers that are not wire
// messages (fuzz_targets.hpp has those): the dashboard's HTTP request path,
// the data path's request header and its TLS records, JSON strings the
// dashboard writes, and the config file. Each checks a property, not only the absence of a crash.
// Built into libFuzzer binaries by tools/fuzz.sh and replayed over
// tests/fuzz/corpus/ by tests/fuzz_corpus_test.cpp.

#include "tests/fuzz/fuzz_targets.hpp"

#include <manta/dashboard/dashboard_http.hpp>
#include <manta/observe/json.hpp>
#include <manta/net/tls_records.hpp>
#include <manta/net/transfer_protocol.hpp>

// Boost.JSON is not built as a library here: its sources come with this
// header, so include it in one file of a program only (each fuzz binary,
// fuzz_corpus_test).
#include <boost/json/src.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

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

/// The data path's TLS records (tls_records.hpp), as a reader meets them.
/// The first byte picks the case. Even: the rest is what a peer sent, read
/// record by record as tls_session does: a header is refused or announces
/// a record that holds at least its content type and tag and at most
/// max_record bytes, and no record opens (none was sealed with the key).
/// Odd: the rest, up to 16 KiB, is sealed by one end and opened by the
/// other: it opens to the same bytes, and with one bit flipped (bit 1 of
/// the first byte says whether, the input's size where) it never opens.
inline int tls_record(const uint8_t* data, size_t size) {
  using manta::detail::tls_records;
  if (size == 0)
    return 0;
  const std::string client_secret(32, '\x11');
  const std::string server_secret(32, '\x22');
  std::string error;
  auto client = tls_records::from_secrets(EVP_aes_128_gcm(), EVP_sha256(), client_secret,
                                          server_secret, error);
  auto server = tls_records::from_secrets(EVP_aes_128_gcm(), EVP_sha256(), server_secret,
                                          client_secret, error);
  require(client != nullptr && server != nullptr);
  auto in = as_chars(data + 1, size - 1);
  size_t content = 0;
  uint8_t type = 0;
  if (data[0] % 2 == 0) {
    size_t at = 0;
    while (in.size() - at >= tls_records::header_size) {
      size_t record = server->record_size(in.data() + at);
      if (record == 0) {
        require(!server->error().empty());
        break;
      }
      require(record >= tls_records::header_size + tls_records::tag_size + 1);
      require(record <= tls_records::max_record);
      if (record > in.size() - at)
        break; // the reader waits for the rest
      std::vector<char> out(record - tls_records::header_size - tls_records::tag_size - 1);
      require(!server->open(in.data() + at, record, out.data(), content, type));
      at += record;
    }
    return 0;
  }
  size_t n = std::min(in.size(), tls_records::max_content);
  std::vector<char> sealed(n + tls_records::overhead);
  require(client->seal(in.data(), n, sealed.data()));
  require(server->record_size(sealed.data()) == sealed.size());
  bool flip = (data[0] & 2) != 0;
  if (flip) {
    size_t bit = size * 7919 % (sealed.size() * 8);
    sealed[bit / 8] = static_cast<char>(sealed[bit / 8] ^ (1 << (bit % 8)));
  }
  std::vector<char> out(sealed.size() - tls_records::header_size - tls_records::tag_size - 1);
  bool opened = server->open(sealed.data(), sealed.size(), out.data(), content, type);
  if (flip) {
    require(!opened);
  } else {
    require(opened && content == n && type == tls_records::application_data);
    require(std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), in.begin()));
  }
  return 0;
}

inline constexpr std::array<target, 4> net_targets = {{
  {"http_request", &http_request},
  {"transfer_request", &transfer_request},
  {"json_string", &json_string},
  {"tls_record", &tls_record},
}};

} // namespace manta_fuzz
