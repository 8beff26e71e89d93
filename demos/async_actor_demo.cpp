/// Async actors: a method returning `manta::async<R>` is a C++20 coroutine.
/// While one call waits (`co_await manta::sleep_for(...)`, or `co_await` on
/// an object_ref) no thread is held, and the actor's other calls run: three
/// 1 s fetches on one async actor take about 1 s, not 3 s. A regular actor
/// runs its calls one at a time, so the same three fetches take 3 s (the Ray
/// Core tutorial's "Async actors" with asyncio, in C++).
///
///   async_actor_demo [--fast] [--num-cpus=N]
///
/// The fetches take 1 s in both modes: that is what the demo shows. --fast
/// only leaves out the part that awaits tasks' results.

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

/// Seconds on the machine's monotonic clock, comparable between threads.
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

/// A fetched page with the interval during which it was being fetched.
struct page {
  std::string url;
  size_t bytes = 0;
  double start_s = 0, end_s = 0;
};

/// A stand-in for the network: how long a fetch waits, and what it gets.
double fetch_s = 1.0;

size_t page_size(const std::string& url) {
  return 1000 * url.size();
}

/// Fetches with coroutines: each wait suspends the call, not a thread.
class async_fetcher {
public:
  async_fetcher() = default;

  manta::async<page> fetch(std::string url) {
    double start = now_s();
    co_await manta::sleep_for(std::chrono::duration<double>{fetch_s}); // the "network"
    ++fetched_;
    co_return page{url, page_size(url), start, now_s()};
  }

  /// Hands the download to a task and awaits its object_ref the same way:
  /// the actor stays free for other calls meanwhile.
  manta::async<size_t> fetch_via_task(std::string url);

  int fetched() { return fetched_; }

private:
  int fetched_ = 0;
};
MANTA_ACTOR(async_fetcher, &async_fetcher::fetch, &async_fetcher::fetch_via_task,
            &async_fetcher::fetched);

/// The same fetch written with a blocking sleep, on a regular actor.
class blocking_fetcher {
public:
  blocking_fetcher() = default;

  page fetch(std::string url) {
    double start = now_s();
    std::this_thread::sleep_for(std::chrono::duration<double>{fetch_s});
    return page{url, page_size(url), start, now_s()};
  }

  int ready() { return 1; }
};
MANTA_ACTOR(blocking_fetcher, &blocking_fetcher::fetch, &blocking_fetcher::ready);

/// A fetch done by a plain task (for `fetch_via`).
page download(std::string url, double seconds) {
  double start = now_s();
  std::this_thread::sleep_for(std::chrono::duration<double>{seconds});
  return page{url, page_size(url), start, now_s()};
}
MANTA_REMOTE(download);

manta::async<size_t> async_fetcher::fetch_via_task(std::string url) {
  // A quarter CPU: downloads mostly wait, so several may run at once.
  page p = co_await manta::task(download).num_cpus(0.25).remote(url, fetch_s);
  ++fetched_;
  co_return p.bytes;
}

namespace {

/// Fetches `urls` on one actor, all submitted at once; prints each interval
/// and returns the seconds until the last arrived.
template <class T>
double fetch_all(const manta::actor_handle<T>& h, const std::vector<std::string>& urls,
                 size_t& bytes) {
  double start = now_s();
  std::vector<manta::object_ref<page>> refs;
  for (auto& u : urls)
    refs.push_back(h.call(&T::fetch).remote(u));
  auto pages = manta::get(refs);
  double total = now_s() - start;
  bytes = 0;
  for (auto& p : pages) {
    std::printf("  %-28s %6zu bytes  fetched %6.3f .. %6.3f s\n", p.url.c_str(), p.bytes,
                p.start_s - start, p.end_s - start);
    bytes += p.bytes;
  }
  return total;
}

} // namespace

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const std::vector<std::string> urls{"https://example.com/a", "https://example.com/b",
                                      "https://example.com/c"};
  std::printf("%zu fetches of %.1f s each\n\n", urls.size(), fetch_s);

  // Both actors are built before the clocks start.
  auto async_actor = manta::actor<async_fetcher>().remote();
  auto blocking_actor = manta::actor<blocking_fetcher>().remote();
  manta::get(async_actor.call(&async_fetcher::fetched).remote());
  manta::get(blocking_actor.call(&blocking_fetcher::ready).remote());

  std::printf("async actor (manta::async methods, co_await manta::sleep_for):\n");
  size_t async_bytes = 0;
  double async_s = fetch_all(async_actor, urls, async_bytes);
  std::printf("  -> %.3f s for %zu bytes\n\n", async_s, async_bytes);

  std::printf("regular actor (blocking sleep, one call at a time):\n");
  size_t blocking_bytes = 0;
  double blocking_s = fetch_all(blocking_actor, urls, blocking_bytes);
  std::printf("  -> %.3f s for %zu bytes\n\n", blocking_s, blocking_bytes);

  if (!fast) {
    // co_await on an object_ref: the actor waits for three download tasks
    // at once without blocking any thread of its own.
    double start = now_s();
    std::vector<manta::object_ref<size_t>> refs;
    for (auto& u : urls)
      refs.push_back(async_actor.call(&async_fetcher::fetch_via_task).remote(u));
    size_t via = 0;
    for (size_t b : manta::get(refs))
      via += b;
    std::printf("async actor awaiting 3 download tasks' results: %.3f s for %zu "
                "bytes\n\n",
                now_s() - start, via);
  }
  int fetched = manta::get(async_actor.call(&async_fetcher::fetched).remote());

  manta::shutdown();
  std::printf("async actor:   %zu fetches in %.3f s\n", urls.size(), async_s);
  std::printf("regular actor: %zu fetches in %.3f s\n", urls.size(), blocking_s);
  std::printf("async speedup: %.2fx\n", blocking_s / async_s);
  bool ok = async_bytes == blocking_bytes && fetched == (fast ? 3 : 6);
  return ok ? 0 : 1;
}
