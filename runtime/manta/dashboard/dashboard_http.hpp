#pragma once

#include "manta/dashboard/dashboard_routes.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

/// Who may ask the dashboard what (dashboard.hpp serves, this decides). A
/// browser is the dashboard's client, and a browser runs any web page's
/// script: a page of evil.example whose name an attacker points at
/// 127.0.0.1 (DNS rebinding) reads whatever the dashboard answers to
/// requests "from" evil.example. So every request must name, in its Host
/// header, an address the dashboard serves; and off loopback, where anyone
/// on the network reaches the port, the state API, /metrics and the page
/// need the cluster token. Requests are bounded before anything is
/// allocated for them.
namespace manta::actors {

namespace http = boost::beast::http;

using http_request = http::request<http::string_body>;

/// The most a request may hold: its start line and headers, and its body
/// (only the login form has one).
inline constexpr size_t max_header_bytes = 8 * 1024;
inline constexpr size_t max_body_bytes = 4 * 1024;

/// The cookie the login form sets.
inline constexpr std::string_view token_cookie = "manta_token";

struct dashboard_access {
  /// The address the dashboard is bound to ("127.0.0.1", "::1",
  /// "0.0.0.0", "10.0.0.5") and its port.
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  /// The cluster token; needed (and then not empty) off loopback.
  std::string token;

  /// Whether `host` is exactly 127.0.0.1, ::1 or localhost. Any other
  /// address counts as off loopback, 127.0.0.2 too: only the addresses a
  /// browser uses for "this machine" are open without a token.
  static bool is_loopback(std::string_view host);

  /// Whether requests need the token.
  bool needs_token() const { return !is_loopback(host); }

  /// Whether `host_header` (a request's Host) names this dashboard: its
  /// address and port, localhost, 127.0.0.1 or [::1] with its port, or (when
  /// bound to every address, 0.0.0.0 or ::) any IP address with its port.
  /// Names other than localhost never pass: that is what a DNS rebinding
  /// page sends.
  bool host_allowed(std::string_view host_header) const;
};

/// Answers one GET of a target; never throws.
using dashboard_handler = std::function<http_reply(std::string_view target)>;

/// The answer to one parsed request: 400 without a Host, 403 for a Host the
/// dashboard does not serve, 401 without the token where one is needed
/// (the login page for the page's paths), 405 for methods other than GET
/// (and POST of /login), else what `answer` says.
http_reply answer_request(const http_request& req, const dashboard_access& access,
                          const dashboard_handler& answer);

/// The reply to a request that could not be read: 431 for headers over
/// `max_header_bytes`, 413 for a body over `max_body_bytes`, 400 for bytes
/// that are not HTTP. `what` is the parser's error.
http_reply unreadable_request(const boost::system::error_code& what);

/// Parses `raw` as one request with the server's limits and answers it as
/// the server would; returns the status. What the fuzz target (and tests)
/// run: the same path as a connection, without the socket.
int answer_raw(std::string_view raw, const dashboard_access& access,
               const dashboard_handler& answer, std::string* body = nullptr);

} // namespace manta::actors
