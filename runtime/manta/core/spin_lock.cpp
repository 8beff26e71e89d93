#include "manta/core/spin_lock.hpp"

#include <thread>

namespace manta::detail {

void spin_lock::wait_until_free() noexcept {
  for (int i = 0; i < 64 && flag_.load(std::memory_order_relaxed); ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  if (flag_.load(std::memory_order_relaxed))
    std::this_thread::yield();
}

} // namespace manta::detail
