#pragma once

#include "manta/init.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace manta::detail {

/// CAF's configuration as the runtime uses it (scheduler threads and
/// polling tuned for low hand-over latency). Also used by the microbenchmark
/// to measure the raw-CAF floor under identical settings. A networked
/// config connects as `tls` says (see transport.hpp's `configure_tls`: TLS
/// with the identity made from `token` unless `tls` gives files or says
/// plain; check the files with `check_tls` first; throws
/// `invalid_argument_error` when TLS cannot be set up). A networked config
/// turns on CAF's middleman heartbeats: every connection carries one each
/// eighth of `connection_timeout`, and a connection silent for that long is
/// closed (`init_options::connection_timeout`).
std::unique_ptr<caf::actor_system_config>
make_caf_config(size_t scheduler_threads, bool networked = false, const tls_options& tls = {},
                const std::string& token = {},
                std::chrono::milliseconds connection_timeout = default_connection_timeout);

/// The connection timeout `sys` was configured with (make_caf_config).
std::chrono::milliseconds connection_timeout(const caf::actor_system& sys);

} // namespace manta::detail
