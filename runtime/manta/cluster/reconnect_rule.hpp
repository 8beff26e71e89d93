#pragma once

#include "manta/core/backoff.hpp"

#include <chrono>

/// How a driver reconnects to a worker whose connection ended while the
/// head still lists it: the one rule that the driver's cluster client
/// (actors/worker_links.cpp) and the simulator (sim/sim_faults.cpp) both
/// follow, so that a cut-off node comes back in a simulation when it would
/// on a cluster. Tries go on until `reconnect_window` has passed since the
/// loss (the head tells drivers at once when a node really dies, which
/// ends them too); each try is bounded by `reconnect_timeout`, which is
/// what a try into a partition takes (its SYNs are dropped).
namespace manta::detail {

inline constexpr auto reconnect_delay = std::chrono::milliseconds{50};
inline constexpr auto reconnect_max_delay = std::chrono::milliseconds{1000};
inline constexpr auto reconnect_timeout = std::chrono::seconds{2};
inline constexpr auto reconnect_window = std::chrono::seconds{60};

/// The pause before the first try. A connection that closed is tried
/// again after `reconnect_delay`; one the driver closed because the worker
/// was silent for the connection timeout `silence_limit` after half of it:
/// by then the worker, which heard nothing either, has closed its end too
/// (CAF's heartbeats) and takes the new connection as a new owner.
constexpr std::chrono::milliseconds first_reconnect_try(bool silent,
                                                        std::chrono::milliseconds silence_limit) {
  return silent ? silence_limit / 2 : reconnect_delay;
}

/// The pause after a failed try, `attempts` tries made so far: doubling
/// from `reconnect_delay` up to `reconnect_max_delay`.
constexpr std::chrono::milliseconds next_reconnect_try(int attempts) {
  return backoff_delay(reconnect_delay, attempts, reconnect_max_delay);
}

/// Whether a try due `lost_for` after the loss is not made: the driver
/// gives the worker up (it leaves this driver's cluster).
template <class Duration>
constexpr bool reconnect_given_up(Duration lost_for) {
  return lost_for > reconnect_window;
}

static_assert(next_reconnect_try(1) == std::chrono::milliseconds{100});
static_assert(next_reconnect_try(10) == reconnect_max_delay);
static_assert(first_reconnect_try(true, std::chrono::milliseconds{300})
              == std::chrono::milliseconds{150});

} // namespace manta::detail
