#include "tools/peers/busy_load.hpp"

namespace manta::tools::peers {

busy_load::busy_load(int threads) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      volatile unsigned long sink = 0;
      while (!stop_.load(std::memory_order_relaxed))
        for (int k = 0; k < 1000; ++k)
          sink = sink * 31 + 7;
    });
}

busy_load::~busy_load() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& t : threads_)
    t.join();
}

} // namespace manta::tools::peers
