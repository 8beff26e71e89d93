#pragma once

#include <atomic>
#include <thread>
#include <vector>

namespace manta::tools::peers {

/// Busy threads that keep the machine oversubscribed while the benchmark
/// runs (`--load=N`): the waits of a runtime must not collapse when more
/// threads want to run than there are cores (issue 25, item 4). Each thread
/// spins on arithmetic, never sleeps, until the object is destroyed.
class busy_load {
public:
  explicit busy_load(int threads);
  ~busy_load();
  busy_load(const busy_load&) = delete;
  busy_load& operator=(const busy_load&) = delete;

private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

} // namespace manta::tools::peers
