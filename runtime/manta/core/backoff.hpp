#pragma once

#include <algorithm>
#include <chrono>

namespace manta::detail {

/// The pause before try number `attempt` (from 0) of something that failed:
/// `first`, doubled at each try, at most `most`. The rejoin and reconnect
/// loops (a worker rejoining its head, the driver rejoining it, the driver
/// reconnecting to a worker) all back off this way, so a peer that is gone
/// for a while is asked about once a `most`, and one that is back at once
/// is found within `first`.
constexpr std::chrono::milliseconds backoff_delay(std::chrono::milliseconds first, int attempt,
                                                  std::chrono::milliseconds most) noexcept {
  auto delay = first;
  for (int i = 0; i < attempt && delay < most; ++i)
    delay *= 2;
  return std::min(delay, most);
}

static_assert(backoff_delay(std::chrono::milliseconds{100}, 0, std::chrono::seconds{1})
              == std::chrono::milliseconds{100});
static_assert(backoff_delay(std::chrono::milliseconds{100}, 3, std::chrono::seconds{1})
              == std::chrono::milliseconds{800});
static_assert(backoff_delay(std::chrono::milliseconds{100}, 40, std::chrono::seconds{1})
              == std::chrono::seconds{1});

} // namespace manta::detail
