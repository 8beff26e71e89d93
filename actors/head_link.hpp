#pragma once

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include <chrono>
#include <optional>

namespace manta::actors {

/// The driver's tie to the head's registry: which actor it is, and while
/// its connection is closed, since when and how many tries to join it again
/// were made. Owned by the cluster client; the steps that talk to the head
/// (head_link.cpp: `head_lost`, `rejoin_head`) read and move it.
class head_link {
public:
  using clock = std::chrono::steady_clock;

  /// The head's registry, to which named actors are reported. While the
  /// driver is away it is the last one known: what is sent to it meanwhile
  /// is lost, as it would be in the moments before the loss was noticed,
  /// and the rejoin reports every named actor again.
  const caf::actor& registry() const noexcept { return head_; }

  /// Whether `source` (a down message's) is the head's registry.
  bool is(const caf::actor_addr& source) const noexcept;

  /// The driver joined the head (again): `head` is its registry now, and
  /// the loss and tries before are forgotten.
  void joined(caf::actor head);

  /// The head's connection closed at `now`: true the first time, when the
  /// driver starts joining it again; false while that is under way.
  bool lost(clock::time_point now);

  /// Whether the driver is away from the head, trying to join it again.
  bool away() const noexcept { return lost_since_.has_value(); }

  /// Whether the head has been away for longer than `window` (the driver
  /// gives up joining it then).
  bool away_longer(clock::time_point now, clock::duration window) const noexcept;

  /// Counts one more try to join the head again.
  void count_try() noexcept { ++attempts_; }

  /// The tries to join the head again since it was lost: they space the
  /// next one out, and the log says them.
  int attempts() const noexcept { return attempts_; }

private:
  caf::actor head_;
  std::optional<clock::time_point> lost_since_;
  int attempts_ = 0;
};

} // namespace manta::actors
