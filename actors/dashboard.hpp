#pragma once

#include "actors/dashboard_routes.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace manta::actors {

/// The node's HTTP endpoint: the dashboard page, the JSON state API and
/// /metrics (see dashboard_routes.hpp), served by Boost.Beast on 127.0.0.1
/// from one thread of its own. It is not a CAF actor: it only reads state
/// through the same calls user code makes, and a browser's idle keep-alive
/// connections must not occupy a scheduler thread. Every connection has a
/// 10 s read deadline, so a client that connects and sends nothing cannot
/// block others.
class dashboard {
public:
  /// Answers one GET of a target ("/api/tasks?state=RUNNING"); never throws.
  using handler = std::function<http_reply(std::string_view target)>;

  /// Binds 127.0.0.1:`port` (0: any free port) and serves this node's
  /// state (`route`); throws `error` if the port cannot be bound.
  dashboard(uint16_t port, std::string asset_dir);

  /// The same server answering with `answer` (the head's: head_dashboard.hpp).
  dashboard(uint16_t port, handler answer);
  ~dashboard();

  dashboard(const dashboard&) = delete;
  dashboard& operator=(const dashboard&) = delete;

  /// The port it listens on.
  uint16_t port() const noexcept { return port_; }

  /// Where the page and scripts are read from.
  static std::string default_asset_dir();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
  std::thread thread_;
};

} // namespace manta::actors
