#pragma once

#include "manta/dashboard/dashboard_http.hpp"
#include "manta/dashboard/dashboard_routes.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace manta::actors {

/// The node's HTTP endpoint: the dashboard page, the JSON state API and
/// /metrics (see dashboard_routes.hpp), served by Boost.Beast from one
/// thread of its own. It is not a CAF actor: it only reads state through
/// the same calls user code makes, and a browser's idle keep-alive
/// connections must not occupy a scheduler thread.
///
/// Who may ask is dashboard_http.hpp's to decide (the Host header, the
/// token off loopback). What a client can make it hold is bounded: a
/// request's headers and body are limited before they are read
/// (`max_header_bytes`, `max_body_bytes`: 431/413, then the connection
/// closes), a request must arrive whole within 10 s and an idle keep-alive
/// connection closes after 10 s, an answer must be taken within 10 s, and
/// at most `max_connections` are open at once (more are closed as they
/// are accepted).
class dashboard {
public:
  using handler = dashboard_handler;

  /// Connections served at once.
  static constexpr size_t max_connections = 64;

  /// Binds `host`:`port` (0: any free port) and serves this node's state
  /// (`route`); throws `error` if it cannot bind, or if `host` is off
  /// loopback and `token` is empty.
  dashboard(const std::string& host, uint16_t port, std::string token, std::string asset_dir);

  /// The same server answering with `answer` (the head's: head_dashboard.hpp).
  dashboard(const std::string& host, uint16_t port, std::string token, handler answer);
  ~dashboard();

  dashboard(const dashboard&) = delete;
  dashboard& operator=(const dashboard&) = delete;

  /// The port it listens on.
  uint16_t port() const noexcept { return port_; }

  /// Where to reach it: "127.0.0.1:PORT", "[::1]:PORT", "10.0.0.5:PORT"
  /// (127.0.0.1 when bound to every address).
  std::string address() const;

  /// Where the page and scripts are read from: MANTA_DASHBOARD_DIR, else ""
  /// (the copy compiled into the library, which needs no source tree).
  static std::string default_asset_dir();

  /// The host of --dashboard-host / MANTA_DASHBOARD_HOST: 127.0.0.1 unless
  /// given.
  static constexpr const char* default_host = "127.0.0.1";

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
  std::thread thread_;
};

} // namespace manta::actors
