/// A pool of worker actors: each worker keeps its own state (here, how many
/// items it processed) while the items are spread over them. First by hand,
/// item i to worker i mod 3; then with `manta::actor_pool`, which gives each
/// item to whichever worker is idle (the Ray Core tutorial's "Actor pool",
/// in C++).
///
///   worker_pool_demo [--fast] [--num-cpus=N]
///
/// An item takes 100 ms of work (10 ms with --fast).

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>
#include <vector>

namespace {

constexpr int num_workers = 3;
constexpr int num_items = 12;

} // namespace

/// One processed item and who processed it.
struct item_result {
  int item = 0;
  int value = 0;
  int worker = 0;
};

/// A stateful worker: counts what it has done.
class worker {
public:
  worker(int id, double work_s) : id_(id), work_s_(work_s) {}

  item_result process(int item) {
    std::this_thread::sleep_for(std::chrono::duration<double>{work_s_});
    ++processed_;
    return {item, item * item, id_};
  }

  int processed() const { return processed_; }

private:
  int id_;
  double work_s_;
  int processed_ = 0;
};
MANTA_ACTOR(worker, &worker::process, &worker::processed);

namespace {

std::vector<manta::actor_handle<worker>> start_workers(double work_s) {
  std::vector<manta::actor_handle<worker>> ws;
  for (int id = 0; id < num_workers; ++id)
    ws.push_back(manta::actor<worker>().remote(id, work_s));
  for (auto& w : ws)
    manta::get(w.call(&worker::processed).remote()); // constructed
  return ws;
}

/// Every item was processed once, with the right value, in input order.
bool check(const std::vector<item_result>& rs) {
  if (rs.size() != static_cast<size_t>(num_items))
    return false;
  for (int i = 0; i < num_items; ++i)
    if (rs[static_cast<size_t>(i)].item != i || rs[static_cast<size_t>(i)].value != i * i)
      return false;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  manta::init(argc, argv);
  const bool fast = fast_mode(argc, argv);
  const double work_s = fast ? 0.01 : 0.1;
  std::printf("%d workers, %d items of %.0f ms each\n\n", num_workers, num_items, work_s * 1e3);

  // -- by hand: item i goes to worker i mod 3 ---------------------------------
  auto ws = start_workers(work_s);
  auto t0 = clock_type::now();
  std::vector<manta::object_ref<item_result>> refs;
  for (int i = 0; i < num_items; ++i)
    refs.push_back(ws[static_cast<size_t>(i % num_workers)].call(&worker::process).remote(i));
  auto by_hand = manta::get(refs);
  double by_hand_s = seconds_since(t0);
  std::printf("round robin: %.3f s (%.0f ms of work, %d at a time)\n", by_hand_s,
              num_items * work_s * 1e3, num_workers);
  int by_hand_total = 0;
  for (int id = 0; id < num_workers; ++id) {
    int n = manta::get(ws[static_cast<size_t>(id)].call(&worker::processed).remote());
    by_hand_total += n;
    std::printf("  worker %d processed %d items\n", id, n);
  }
  std::printf("round robin per-worker counts total: %d\n\n", by_hand_total);

  // -- manta::actor_pool: the next item goes to an idle worker ----------------
  auto pool_workers = start_workers(work_s);
  manta::actor_pool<worker> pool{pool_workers};
  std::vector<int> items;
  for (int i = 0; i < num_items; ++i)
    items.push_back(i);
  auto t1 = clock_type::now();
  auto pooled = pool.map([](auto& w, int item) { return w.call(&worker::process).remote(item); },
                         items);
  double pool_s = seconds_since(t1);
  std::printf("actor_pool.map: %.3f s\n", pool_s);
  std::map<int, int> by_result; // worker -> items, from the results themselves
  for (auto& r : pooled)
    ++by_result[r.worker];
  int pool_total = 0;
  int min_count = num_items;
  for (int id = 0; id < num_workers; ++id) {
    int n = manta::get(pool_workers[static_cast<size_t>(id)].call(&worker::processed).remote());
    pool_total += n;
    min_count = std::min(min_count, n);
    std::printf("  worker %d processed %d items%s\n", id, n,
                n == by_result[id] ? "" : "  (MISMATCH with the results)");
  }
  std::printf("actor_pool per-worker counts total: %d\n\n", pool_total);

  bool ok = check(by_hand) && check(pooled) && by_hand_total == num_items
            && pool_total == num_items;
  for (int id = 0; id < num_workers; ++id)
    ok = ok
         && manta::get(pool_workers[static_cast<size_t>(id)].call(&worker::processed).remote())
              == by_result[id];
  manta::shutdown();
  std::printf("items processed: %d by hand, %d by actor_pool; results %s\n", by_hand_total,
              pool_total, ok ? "correct" : "WRONG");
  std::printf("fewest items on one worker with actor_pool: %d\n", min_count);
  return ok ? 0 : 1;
}
