// The per-thread cache of tasks' spec blocks (manta/sched/task_blocks.hpp):
// a block given back is the next one of its size class, a thread keeps
// what it took at once within a bound (`kept` a class if it only gives
// back), and a task submitted one at a time takes its memory from the
// cache instead of `operator new`.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>
#include <manta/sched/task_blocks.hpp>
#include <manta/store/allocation_hook.hpp>

#include "tests/runtime_guard.hpp"

#include <set>
#include <thread>
#include <vector>

namespace {

namespace blocks = manta::detail::task_blocks;
namespace hook = manta::detail::allocation_hook;

int one() {
  return 1;
}

} // namespace

MANTA_REMOTE(one);

TEST_CASE("a block given back serves the next take of its size class") {
  void* p = blocks::take(400);
  blocks::give(p, 400);
  void* q = blocks::take(420); // the same 64-byte class
  CHECK(q == p);
  blocks::give(q, 420);
}

TEST_CASE("a thread keeps the blocks it took at once, past `kept` a class") {
  // A list of tasks: every block is taken before the first comes back.
  std::thread t{[] {
    constexpr size_t n = 100 * blocks::kept;
    std::vector<void*> first;
    for (size_t i = 0; i < n; ++i)
      first.push_back(blocks::take(900));
    for (auto* p : first)
      blocks::give(p, 900);
    std::vector<void*> second;
    second.reserve(n); // its own growth is not counted
    hook::count_allocations_from(900);
    auto before = hook::counted_allocations();
    for (size_t i = 0; i < n; ++i)
      second.push_back(blocks::take(900));
    CHECK(hook::counted_allocations() - before == 0); // all from the cache
    for (auto* p : second)
      blocks::give(p, 900); // freed when the thread exits
  }};
  t.join();
}

TEST_CASE("a thread that only gives blocks back keeps `kept` of a class") {
  constexpr size_t n = blocks::kept + 3;
  std::vector<void*> taken;
  for (size_t i = 0; i < n; ++i)
    taken.push_back(blocks::take(700));
  std::thread t{[&] {
    for (auto* p : taken) // taken on another thread: this one took none
      blocks::give(p, 700);
    std::vector<void*> again;
    again.reserve(n);
    hook::count_allocations_from(700);
    auto before = hook::counted_allocations();
    for (size_t i = 0; i < n; ++i)
      again.push_back(blocks::take(700));
    // `kept` from the cache, the rest from operator new.
    CHECK(hook::counted_allocations() - before == n - blocks::kept);
    for (auto* p : again)
      blocks::give(p, 700);
  }};
  t.join();
}

TEST_CASE("a thread keeps at most 16 MiB of blocks past `kept` a class") {
  std::thread t{[] {
    constexpr size_t block = 1024; // the largest class
    constexpr size_t bound = (size_t{16} << 20) / block;
    constexpr size_t n = bound + 100;
    std::vector<void*> first;
    for (size_t i = 0; i < n; ++i)
      first.push_back(blocks::take(block));
    for (auto* p : first)
      blocks::give(p, block);
    std::vector<void*> second;
    second.reserve(n);
    hook::count_allocations_from(block);
    auto before = hook::counted_allocations();
    for (size_t i = 0; i < n; ++i)
      second.push_back(blocks::take(block));
    CHECK(hook::counted_allocations() - before == n - bound - blocks::kept);
    for (auto* p : second)
      blocks::give(p, block);
  }};
  t.join();
}

TEST_CASE("a large block is not kept") {
  hook::count_allocations_from(blocks::max_bytes + 1);
  auto before = hook::counted_allocations();
  void* p = blocks::take(blocks::max_bytes + 1);
  blocks::give(p, blocks::max_bytes + 1);
  void* q = blocks::take(blocks::max_bytes + 1);
  blocks::give(q, blocks::max_bytes + 1);
  CHECK(hook::counted_allocations() - before == 2);
}

TEST_CASE("a block given back on another thread is that thread's") {
  void* p = blocks::take(500);
  void* again = nullptr;
  std::thread t{[&] {
    blocks::give(p, 500);
    again = blocks::take(500);
    blocks::give(again, 500); // freed when the thread exits
  }};
  t.join();
  CHECK(again == p);
}

TEST_CASE("tasks one at a time take their specs' memory from the cache") {
  runtime_guard rt;
  for (int i = 0; i < 100; ++i) // warm: the cache holds a spec's block
    REQUIRE(manta::get(manta::task(one).remote()) == 1);
  // A spec with its control block is 400-1,024 bytes; nothing else a
  // no-op task allocates is that large.
  hook::count_allocations_from(400);
  auto before = hook::counted_allocations();
  constexpr int n = 2000;
  for (int i = 0; i < n; ++i)
    REQUIRE(manta::get(manta::task(one).remote()) == 1);
  // Without the cache: at least one per task.
  CHECK(hook::counted_allocations() - before < n / 10);
}
