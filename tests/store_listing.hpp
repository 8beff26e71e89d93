#pragma once

// Whether an object is in a process's object store (this one's, or a
// worker's through a task there), waiting for it to appear or leave, and for
// an actor to end: shared by the tests of borrowed refs (borrowing_test,
// unread_refs_test, nested_refs_test, generator_refs_test).

#include <manta/manta.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace manta_test {

/// Whether this process's object store lists object `id`.
inline bool listed(manta::object_id id) {
  for (auto& o : manta::memory_summary().objects)
    if (o.id == id)
      return true;
  return false;
}

/// Whether worker node `node`'s store lists object `id` (asked by a task
/// there).
inline bool held_on(manta::node_id node, uint64_t id);

/// Whether the driver's actor `id` (as the state API names it) has ended.
inline bool actor_ended(const std::string& id) {
  for (auto& a : manta::list_actors())
    if (a.id == id)
      return a.state == "DEAD";
  return true;
}

/// Polls `done` until it holds or `limit` passes; returns its last answer.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::seconds limit = std::chrono::seconds{30}) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      return done();
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

} // namespace manta_test

/// Whether the store of the node this task runs on lists object `id`.
inline bool held_here(uint64_t id) {
  return manta_test::listed(manta::object_id{id});
}
MANTA_REMOTE(held_here);

inline bool manta_test::held_on(manta::node_id node, uint64_t id) {
  return manta::get(manta::task(held_here).node_affinity(node).remote(id),
                    std::chrono::seconds{30});
}
