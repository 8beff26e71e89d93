// The block cache under operator new (manta/store/block_cache.hpp): a
// large vector the program frees while the runtime runs leaves its memory
// mapped for the next large vector of about its size, within a quarter of
// the memory budget, giving way to live values and emptied at shutdown.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/store/block_cache.hpp>
#include <manta/core/runtime.hpp>
#include <manta/store/object_store.hpp>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"
#include "tests/store_budget.hpp"

#include <cstdint>
#include <chrono>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace {

namespace cache = manta::detail::block_cache;

constexpr size_t mib = size_t{1} << 20;

/// Minor page faults of the calling thread so far.
long thread_faults() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

/// Where a vector's memory starts (an address, compared after the vector
/// is gone).
uintptr_t address_of(const std::vector<uint8_t>& xs) {
  return reinterpret_cast<uintptr_t>(xs.data());
}

/// The address of a fresh zeroed vector of `n` bytes, freed at once.
uintptr_t make_and_free(size_t n) {
  std::vector<uint8_t> xs(n);
  return address_of(xs);
}

} // namespace

TEST_CASE("a freed large vector's memory serves the next one of its size, still mapped") {
  runtime_guard rt{budget_of(512 * mib)}; // the cache keeps up to 128 MiB
  CHECK(cache::kept_bytes() == 0);
  auto reuses = cache::reuses();

  long first_faults = 0;
  uintptr_t first_data = 0;
  {
    auto f0 = thread_faults();
    std::vector<uint8_t> first(64 * mib);
    first_faults = thread_faults() - f0;
    first_data = address_of(first);
  }
  CHECK(cache::kept_bytes() >= 64 * mib);

  auto f0 = thread_faults();
  std::vector<uint8_t> second(64 * mib, 7);
  auto second_faults = thread_faults() - f0;
  MESSAGE("page faults: first vector " << first_faults << ", second " << second_faults);
  CHECK(address_of(second) == first_data);
  CHECK(cache::reuses() == reuses + 1);
  CHECK(cache::kept_bytes() == 0);
  CHECK(second[64 * mib - 1] == 7);
  CHECK(first_faults >= 32);  // fresh: at least one fault per 2 MiB huge page
  CHECK(second_faults < 16);  // mapped already
}

TEST_CASE("a kept block serves only requests of about its size") {
  runtime_guard rt{budget_of(512 * mib)};
  auto kept = make_and_free(64 * mib);
  REQUIRE(cache::kept_bytes() >= 64 * mib);
  auto reuses = cache::reuses();

  CHECK(make_and_free(16 * mib) != kept);  // small: malloc's own
  CHECK(make_and_free(40 * mib) != kept);  // 64 MiB is more than 40 + 40 / 8
  CHECK(cache::reuses() == reuses);
  // 60 MiB: within an eighth, so served; freed, it is kept again.
  CHECK(make_and_free(60 * mib) == kept);
  CHECK(cache::reuses() == reuses + 1);
  CHECK(cache::kept_bytes() >= 64 * mib);
}

TEST_CASE("the cache keeps at most a quarter of the budget and is emptied at shutdown") {
  {
    runtime_guard rt{budget_of(256 * mib)}; // the cache keeps up to 64 MiB
    { std::vector<uint8_t> a(48 * mib), b(48 * mib); }
    CHECK(cache::kept_bytes() >= 48 * mib);
    CHECK(cache::kept_bytes() <= 64 * mib);
  }
  CHECK(cache::kept_bytes() == 0);
  make_and_free(48 * mib); // no runtime: freed
  CHECK(cache::kept_bytes() == 0);
}

TEST_CASE("a put gives the cache's memory to live values, and a trim empties it") {
  runtime_guard rt{budget_of(256 * mib)};
  make_and_free(48 * mib);
  REQUIRE(cache::kept_bytes() >= 48 * mib);
  // 220 MiB of live values leave 36 MiB of the budget: the block goes.
  auto ref = manta::put(std::vector<uint8_t>(220 * mib));
  CHECK(cache::kept_bytes() == 0);
  ref = {};

  // The memory monitor and spilling trim the buffer pool: the cache too.
  make_and_free(48 * mib);
  REQUIRE(cache::kept_bytes() >= 48 * mib);
  CHECK(manta::detail::runtime::here().store().pool().trim(0) >= 48 * mib);
  CHECK(cache::kept_bytes() == 0);
}

TEST_CASE("a block nobody takes goes back to the kernel after idle_age") {
  runtime_guard rt{budget_of(512 * mib)};
  make_and_free(48 * mib);
  REQUIRE(cache::kept_bytes() >= 48 * mib);
  auto freed_at = std::chrono::steady_clock::now();
  // The memory monitor frees it at its first reading after idle_age.
  auto deadline = freed_at + cache::idle_age + std::chrono::seconds(10);
  while (cache::kept_bytes() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto took = std::chrono::steady_clock::now() - freed_at;
  MESSAGE("freed after " << std::chrono::duration<double>(took).count() << " s");
  CHECK(cache::kept_bytes() == 0);
  CHECK(took >= cache::idle_age);
}
