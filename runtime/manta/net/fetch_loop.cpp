#include "manta/net/fetch_loop.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace manta::detail {

namespace asio = boost::asio;

fetch_loop& fetch_loop::instance() {
  static fetch_loop loop{std::clamp(std::thread::hardware_concurrency() / 2, 2u, 4u)};
  return loop;
}

fetch_loop::fetch_loop(unsigned threads) : io_(static_cast<int>(threads)) {
  for (unsigned k = 0; k < threads; ++k)
    threads_.emplace_back([this] {
      auto work = asio::make_work_guard(io_);
      io_.run();
    });
}

fetch_loop::~fetch_loop() {
  io_.stop();
  for (auto& t : threads_)
    t.join();
}

void fetch_loop::admit(std::function<void()> start) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (active_ >= max_active) {
      waiting_.push_back(std::move(start));
      return;
    }
    ++active_;
  }
  asio::post(io_, std::move(start));
}

void fetch_loop::release() {
  std::function<void()> next;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (waiting_.empty()) {
      --active_;
      return;
    }
    next = std::move(waiting_.front()); // its turn is the one that ended
    waiting_.pop_front();
  }
  asio::post(io_, std::move(next));
}

} // namespace manta::detail
