// The object store's sharing and lifetime: one copy per object however many
// tasks read it, freeing on the last ref (driver, task arguments, refs nested
// in other objects), the memory budget, and memory_summary.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/rss_bytes.hpp"
#include "tests/runtime_guard.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {


using manta_test::rss_bytes;

size_t store_bytes() {
  return manta::memory_summary().bytes_in_memory;
}

/// Polls until the store holds `bytes` or `limit` passes (a task's spec may
/// be released by its pool thread a moment after `get` returns).
size_t settle_bytes(size_t bytes, std::chrono::milliseconds limit = 2000ms) {
  auto deadline = steady::now() + limit;
  while (store_bytes() != bytes && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return store_bytes();
}

uint64_t checksum(const std::vector<uint8_t>& xs) {
  uint64_t sum = 0;
  for (size_t i = 0; i < xs.size(); i += 4096)
    sum += xs[i];
  return sum + xs.size();
}

std::atomic<int> gate_open{0};

/// Blocks until the test opens the gate, then reads the whole vector.
uint64_t read_after_gate(const std::vector<uint8_t>& xs) {
  while (gate_open.load() == 0)
    std::this_thread::sleep_for(1ms);
  return checksum(xs);
}

uint64_t sum_nested(const std::vector<manta::object_ref<std::vector<uint8_t>>>& refs) {
  uint64_t sum = 0;
  for (auto& r : refs)
    sum += checksum(*manta::get_shared(r));
  return sum;
}

std::vector<uint8_t> make_bytes(int n) {
  return std::vector<uint8_t>(static_cast<size_t>(n), 7);
}

/// Not serializable (no inspect, not trivially copyable): a vector of them
/// can never be spilled, and the store counts its buffer.
struct opaque_cell {
  opaque_cell() = default;
  opaque_cell(const opaque_cell& other) : b(other.b) {}
  opaque_cell& operator=(const opaque_cell&) = default;
  uint8_t b = 0;
};
using opaque_blob = std::vector<opaque_cell>;

MANTA_REMOTE(checksum, read_after_gate, sum_nested, make_bytes);

} // namespace

TEST_CASE("ten tasks reading one put share one copy (RSS grows by one array)") {
  runtime_guard rt{4};
  constexpr size_t n = 200u << 20;
  auto before = rss_bytes();
  manta::object_ref<std::vector<uint8_t>> ref;
  {
    std::vector<uint8_t> big(n);
    for (size_t i = 0; i < n; i += 4096)
      big[i] = static_cast<uint8_t>(i / 4096);
    ref = manta::put(std::move(big));
  }
  // One reader first, then nine more: each reader that copied the array
  // would add another 200 MiB between the two measures.
  std::vector<manta::object_ref<uint64_t>> results;
  results.push_back(manta::task(checksum).remote(ref));
  manta::get(results.front());
  auto one_reader = rss_bytes();
  for (int i = 1; i < 10; ++i)
    results.push_back(manta::task(checksum).remote(ref));
  auto sums = manta::get(results);
  auto expected = checksum(*manta::get_shared(ref));
  for (auto s : sums)
    CHECK(s == expected);
  auto after = rss_bytes();
  auto grown = after - before;
  auto grown_by_nine = after > one_reader ? after - one_reader : 0;
  MESSAGE("RSS grew by " << grown / 1048576 << " MiB for one 200 MiB array read by 10 tasks, "
                         << grown_by_nine / 1048576 << " MiB of it for the last 9");
  CHECK(grown >= n * 9 / 10);      // the array itself is resident
  CHECK(grown_by_nine < n / 2);    // ... once, not ten times
#ifndef __SANITIZE_THREAD__
  // ThreadSanitizer's shadow memory (several bytes per byte accessed) counts
  // in RSS: there one resident array makes RSS grow by about 5 times its size.
  CHECK(grown < n * 3 / 2);
#endif
}

TEST_CASE("put(std::move(x)) and get_shared do not copy the value") {
  runtime_guard rt{1};
  std::vector<uint8_t> big(64u << 20, 1);
  const auto* data = big.data();
  auto t0 = steady::now();
  auto ref = manta::put(std::move(big));
  auto dt = steady::now() - t0;
  CHECK(dt < 50ms); // a copy of 64 MiB would take tens of ms
  auto shared = manta::get_shared(ref);
  CHECK(shared->data() == data);              // the moved buffer itself
  CHECK(manta::get_shared(ref).get() == shared.get()); // the same object each time
  auto copy = manta::get(ref);                // get copies, by design
  CHECK(copy.data() != data);
  CHECK(copy == *shared);
}

TEST_CASE("store bytes go back to zero when the last ref drops") {
  runtime_guard rt{2};
  REQUIRE(settle_bytes(0) == 0);
  {
    auto a = manta::put(std::vector<uint8_t>(1u << 20, 1));
    auto b = manta::put(std::string(100000, 'x'));
    auto c = manta::task(make_bytes).remote(300000);
    manta::get(c);
    CHECK(store_bytes() >= (1u << 20) + 100000 + 300000);
    auto copy_of_a = a;
    a = {};
    CHECK(store_bytes() >= (1u << 20)); // copy_of_a still holds it
  }
  CHECK(settle_bytes(0) == 0);
  CHECK(manta::memory_summary().num_objects == 0);
}

TEST_CASE("a task argument borrows the object after the driver dropped its ref") {
  runtime_guard rt{2};
  REQUIRE(settle_bytes(0) == 0);
  gate_open = 0;
  manta::object_ref<uint64_t> result;
  uint64_t expected = 0;
  {
    std::vector<uint8_t> xs(4u << 20, 3);
    expected = checksum(xs);
    auto ref = manta::put(std::move(xs));
    result = manta::task(read_after_gate).remote(ref);
  } // the driver's ref is gone; the task (queued or running) holds one
  std::this_thread::sleep_for(20ms);
  CHECK(store_bytes() >= (4u << 20));
  auto summary = manta::memory_summary();
  bool found = false;
  for (auto& o : summary.objects)
    if (o.size_bytes >= (4u << 20)) {
      found = true;
      CHECK(o.references >= 1);
      CHECK(o.location == "memory");
    }
  CHECK(found);
  gate_open = 1;
  CHECK(manta::get(result) == expected);
  result = {};
  CHECK(settle_bytes(0) == 0);
}

TEST_CASE("refs nested inside a stored object keep their objects alive") {
  runtime_guard rt{2};
  REQUIRE(settle_bytes(0) == 0);
  manta::object_ref<std::vector<manta::object_ref<std::vector<uint8_t>>>> outer;
  uint64_t expected = 0;
  {
    std::vector<manta::object_ref<std::vector<uint8_t>>> inner;
    for (int i = 0; i < 8; ++i) {
      std::vector<uint8_t> xs(256u << 10, static_cast<uint8_t>(i));
      expected += checksum(xs);
      inner.push_back(manta::put(std::move(xs)));
    }
    outer = manta::put(std::move(inner));
  } // only the outer object refers to the inner ones now
  CHECK(store_bytes() >= 8 * (256u << 10));
  CHECK(manta::get(manta::task(sum_nested).remote(outer)) == expected);
  outer = {};
  CHECK(settle_bytes(0) == 0);
}

TEST_CASE("put fails with object_store_full_error when nothing can be freed") {
  manta::init_options opts;
  opts.num_cpus = 1;
  opts.object_store_memory = 4u << 20;
  runtime_guard rt{std::move(opts)};
  std::vector<manta::object_ref<opaque_blob>> kept;
  for (int i = 0; i < 3; ++i)
    kept.push_back(manta::put(opaque_blob(1u << 20)));
  std::string message;
  try {
    manta::put(opaque_blob(2u << 20));
  } catch (const manta::object_store_full_error& e) {
    message = e.what();
  }
  MESSAGE(message);
  REQUIRE(!message.empty());
  CHECK(message.find("manta::put") != std::string::npos);
  CHECK(message.find("4.0 MiB") != std::string::npos);  // the budget
  CHECK(message.find("3 object(s)") != std::string::npos);
  CHECK(message.find("opaque_cell") != std::string::npos); // largest named
  CHECK(message.find("not serializable") != std::string::npos);
  CHECK(message.find("--object-store-memory") != std::string::npos);
  // Dropping refs makes room again.
  kept.clear();
  CHECK_NOTHROW(manta::put(opaque_blob(2u << 20)));
  // A task whose result does not fit fails with the same error.
  auto too_big = manta::task(make_bytes).remote(8 << 20);
  CHECK_THROWS_AS(manta::get(too_big), manta::object_store_full_error);
}

TEST_CASE("memory_summary names size, owner, refs, location, type and creator") {
  runtime_guard rt{1};
  auto line = __LINE__ + 1;
  auto a = manta::put(std::vector<uint8_t>(100000, 1));
  auto a2 = a;
  auto b = manta::task(make_bytes).remote(5000);
  manta::get(b);
  auto report = manta::memory_summary();
  REQUIRE(report.num_objects == 2);
  auto& big = report.objects.at(0); // largest first
  CHECK(big.id == a.id());
  CHECK(big.size_bytes >= 100000);
  CHECK(big.references == 2);
  CHECK(big.location == "memory");
  CHECK(big.owner == "node-" + std::to_string(a.id().node()));
  CHECK(big.type.find("std::vector<unsigned char") != std::string::npos);
  CHECK(big.created_by.find("object_store_test.cpp:" + std::to_string(line)) != std::string::npos);
  CHECK(report.objects.at(1).created_by == "task make_bytes");
  CHECK(report.bytes_in_memory >= 105000);
  auto text = report.to_string();
  MESSAGE(text);
  CHECK(text.find(manta::to_string(a.id())) != std::string::npos);
  CHECK(text.find("task make_bytes") != std::string::npos);
  CHECK(text.find("2 object(s)") != std::string::npos);
}

TEST_CASE("--object-store-memory sets the budget; bad values are rejected") {
  {
    const char* argv[] = {"prog", "--object-store-memory=64M", "--num-cpus=1"};
    manta::init(3, const_cast<char**>(argv));
    CHECK(manta::memory_summary().budget_bytes == (64u << 20));
    manta::shutdown();
  }
  {
    const char* argv[] = {"prog", "--object-store-memory=lots"};
    CHECK_THROWS_AS(manta::init(2, const_cast<char**>(argv)), manta::invalid_argument_error);
  }
  CHECK(!manta::is_initialized());
}
