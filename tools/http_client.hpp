#pragma once

#include <string>

namespace manta::tools {

/// What a GET returned: the status and body, or why there was none.
struct http_result {
  int status = 0;
  std::string body;
  /// Empty on success; otherwise what went wrong (connection refused...).
  std::string error;
};

/// GETs `target` from "HOST:PORT" (an optional "http://" prefix and trailing
/// slash are ignored) with Boost.Beast, waiting at most `timeout_s`; with a
/// `token`, as "Authorization: Bearer TOKEN" (a dashboard off loopback asks
/// for the cluster token).
http_result http_get(const std::string& address, const std::string& target, int timeout_s = 10,
                     const std::string& token = "");

} // namespace manta::tools
