#include "manta/sim/sim_engine.hpp"

#include <iterator>
#include <stdexcept>

namespace manta::detail::sim {

namespace {

constexpr uint64_t fnv_prime = 1099511628211ull;

void mix(uint64_t& h, uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= fnv_prime;
  }
}

/// The seed of one stream: the run's seed and the purpose's name, mixed
/// with FNV-1a and spread by splitmix64 (neighbouring seeds give unrelated
/// streams).
uint64_t stream_seed(uint64_t seed, std::string_view purpose) noexcept {
  uint64_t h = 14695981039346656037ull;
  mix(h, seed);
  for (char c : purpose) {
    h ^= static_cast<unsigned char>(c);
    h *= fnv_prime;
  }
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

} // namespace

engine::engine(uint64_t seed) : seed_(seed), owner_(std::this_thread::get_id()) {
  mix(hash_, seed);
}

void engine::at(vtime when, event_kind kind, uint32_t node, uint64_t id, std::function<void()> fn) {
  if (!on_owner())
    throw std::logic_error("manta sim: events are queued by the simulation's thread only");
  queue_.push(event{std::max(when, now_), seq_++, kind, node, id, std::move(fn)});
}

void engine::note(event_kind kind, uint32_t node, uint64_t id) noexcept {
  mix(hash_, static_cast<uint64_t>(now_.count()));
  mix(hash_, static_cast<uint64_t>(kind));
  mix(hash_, node);
  mix(hash_, id);
  ++events_;
  if (trace_ != nullptr) {
    static constexpr const char* names[] = {"?",     "submit",   "place", "arrive", "finish",
                                            "retry", "lost",     "fault", "detect", "actor_job",
                                            "wake",  "external", "group"};
    auto k = static_cast<size_t>(kind);
    std::fprintf(trace_, "%lld %s %u %llx\n", static_cast<long long>(now_.count()),
                 k < std::size(names) ? names[k] : "?", node, static_cast<unsigned long long>(id));
  }
}

void engine::post(std::function<void()> fn) {
  {
    std::lock_guard guard{posted_mtx_};
    posted_.push_back(std::move(fn));
  }
  posted_cv_.notify_one();
}

bool engine::take_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard guard{posted_mtx_};
    work.swap(posted_);
  }
  for (auto& fn : work) {
    ++external_;
    queue_.push(event{now_, seq_++, event_kind::external, 0, 0, std::move(fn)});
  }
  return !work.empty();
}

bool engine::step() {
  take_posted();
  if (queue_.empty())
    return false;
  // Moved out before it runs: the event may queue others.
  auto ev = std::move(const_cast<event&>(queue_.top()));
  queue_.pop();
  now_ = ev.when;
  note(ev.kind, ev.node, ev.id);
  if (ev.fn)
    ev.fn();
  return true;
}

bool engine::run_until(const std::function<bool()>& done, vtime deadline,
                       std::chrono::milliseconds idle_wait) {
  while (!done()) {
    take_posted();
    if (queue_.empty() && deadline != vtime::max()) {
      now_ = std::max(now_, deadline); // nothing happens before it
      return done();
    }
    if (queue_.empty()) {
      std::unique_lock guard{posted_mtx_};
      if (!posted_cv_.wait_for(guard, idle_wait, [&] { return !posted_.empty(); }))
        return false;
      continue;
    }
    if (queue_.top().when > deadline) {
      now_ = std::max(now_, deadline);
      return done();
    }
    step();
  }
  return true;
}

std::mt19937_64& engine::stream(std::string_view purpose) {
  auto it = streams_.find(std::string{purpose});
  if (it == streams_.end())
    it = streams_.emplace(std::string{purpose}, std::mt19937_64{stream_seed(seed_, purpose)}).first;
  return it->second;
}

} // namespace manta::detail::sim
