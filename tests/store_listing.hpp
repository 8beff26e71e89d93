#pragma once

// Waiting for an object to appear in, or leave, a process's object store:
// shared by the tests of borrowed refs (borrowing_test, unread_refs_test).

#include <manta/manta.hpp>

#include <chrono>
#include <functional>
#include <thread>

namespace manta_test {

/// Whether this process's object store lists object `id`.
inline bool listed(manta::object_id id) {
  for (auto& o : manta::memory_summary().objects)
    if (o.id == id)
      return true;
  return false;
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
