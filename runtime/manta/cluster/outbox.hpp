#pragma once

#include "manta/net/wire.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>

#include <string>
#include <utility>
#include <vector>

namespace manta::actors {

/// Encoded messages of one kind an actor queues per destination while it
/// handles a burst, sent when the burst is over: one alone as
/// `(single, token, bytes)`, several as `(many, token, Batch)` (a schema
/// Batch). The owner schedules the flush with a message to itself, which
/// queues behind the burst; order per destination is kept.
class outbox {
public:
  /// Queues `item` for `to`; true if the owner must schedule a flush.
  bool push(const caf::actor& to, detail::wire::bytes item) {
    for (auto& [dest, items] : queues_)
      if (same(dest, to)) {
        items.push_back(std::move(item));
        return schedule();
      }
    queues_.emplace_back(to, std::vector<detail::wire::bytes>{});
    queues_.back().second.push_back(std::move(item));
    return schedule();
  }

  /// Sends everything queued.
  template <class Self, class Single, class Many>
  void flush(Self* self, const std::string& token, Single single, Many many) {
    scheduled_ = false;
    for (auto& [dest, items] : queues_) {
      if (items.size() == 1)
        self->send(dest, single, token, std::move(items.front()));
      else if (!items.empty())
        self->send(dest, many, token, detail::wire::encode_batch(items));
    }
    queues_.clear();
  }

  /// Drops what is queued for `to` (it is gone).
  void drop(const caf::actor& to) {
    for (auto& [dest, items] : queues_)
      if (same(dest, to))
        items.clear();
  }

private:
  /// The same handle, not merely the same actor: after a connection to a
  /// node was cut and made again, the node's actors have new proxies that
  /// compare equal to the dead ones, and what is queued for a new proxy
  /// must not leave through a dead one.
  static bool same(const caf::actor& a, const caf::actor& b) {
    return caf::actor_cast<caf::abstract_actor*>(a) == caf::actor_cast<caf::abstract_actor*>(b);
  }

  bool schedule() {
    if (scheduled_)
      return false;
    scheduled_ = true;
    return true;
  }

  std::vector<std::pair<caf::actor, std::vector<detail::wire::bytes>>> queues_;
  bool scheduled_ = false;
};

} // namespace manta::actors
