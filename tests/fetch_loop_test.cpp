// Reads over the raw data path run on the process's fetch loop
// (fetch_loop.hpp): hundreds of reads at once keep the process's threads
// and descriptors bounded and all complete, over plain TCP and TLS; a task
// whose argument is read from another node lends its CPU meanwhile, so
// another task runs on it.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN

#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <manta/cluster/cluster_tls.hpp>
#include <manta/core/codec.hpp>
#include <manta/net/data_path_tls.hpp>
#include <manta/net/fetch_loop.hpp>
#include <manta/sched/function_registry.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/store/object_slot.hpp>
#include <manta/net/object_transfer.hpp>
#include <manta/cluster/remote_task.hpp>
#include <manta/core/runtime.hpp>
#include <manta/sched/worker_pool.hpp>

#include "tests/byte_pattern.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

using namespace manta::detail;
using namespace std::chrono_literals;

namespace {

size_t entries(const char* dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator{dir})
    ++n;
  return n;
}

size_t threads_now() {
  return entries("/proc/self/task");
}

size_t descriptors_now() {
  return entries("/proc/self/fd");
}

/// Holds the server's lookups until opened (9 s at most: a reader drops a
/// holder after 10 s without a byte), counting them.
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  size_t asked = 0;

  void pass() {
    std::unique_lock<std::mutex> guard{mtx};
    ++asked;
    cv.notify_all();
    cv.wait_for(guard, 9s, [&] { return open; });
  }

  bool wait_asked(size_t n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, limit, [&] { return asked >= n; });
  }

  void let_through() {
    std::lock_guard<std::mutex> guard{mtx};
    open = true;
    cv.notify_all();
  }
};

int64_t byte_sum(std::vector<char> v) {
  return std::accumulate(v.begin(), v.end(), int64_t{0});
}
MANTA_REMOTE(byte_sum);

int quick(int x) {
  return x + 1;
}
MANTA_REMOTE(quick);


/// 200 reads at once of a server whose lookups are held until every read
/// that has a turn connected: threads and descriptors are counted then.
void many_reads(std::shared_ptr<data_path_tls> tls) {
  auto bytes = manta_test::pattern((1u << 20) + 77);
  gate held;
  transfer_server server{"127.0.0.1", "secret",
                         [&](uint64_t id) -> std::optional<held_bytes> {
                           held.pass();
                           if (id < 1000 || id >= 1000 + 200)
                             return std::nullopt;
                           return held_bytes{bytes, bytes->data(), bytes->size(), nullptr};
                         },
                         tls};
  fetch_loop::instance(); // its threads count in the baseline
  auto threads_before = threads_now();
  auto fds_before = descriptors_now();
  constexpr size_t reads = 200;
  std::mutex mtx;
  std::condition_variable cv;
  size_t done = 0;
  std::vector<std::string> errors(reads);
  std::vector<std::shared_ptr<std::vector<char>>> outs(reads);
  for (size_t k = 0; k < reads; ++k) {
    outs[k] = std::make_shared<std::vector<char>>();
    fetch_object_async(
      {{"127.0.0.1", server.port()}}, "secret", 1000 + k, bytes->size(), outs[k],
      [&, k](std::string err) {
        std::lock_guard<std::mutex> guard{mtx};
        errors[k] = std::move(err);
        ++done;
        cv.notify_all();
      },
      transfer_streams, nullptr, tls);
  }
  // Every read that holds a turn has connected and waits for its answer
  // (the server's lookups are held): the most connections the reads have
  // open at once.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (server.connections() < fetch_loop::max_active
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  REQUIRE(server.connections() >= fetch_loop::max_active);
  auto threads_during = threads_now();
  auto fds_during = descriptors_now();
  auto connections_during = server.connections();
  held.let_through();
  {
    std::unique_lock<std::mutex> guard{mtx};
    REQUIRE(cv.wait_for(guard, 60s, [&] { return done == reads; }));
  }
  INFO("threads " << threads_before << " -> " << threads_during << ", descriptors " << fds_before
                  << " -> " << fds_during);
  // No thread per read or per connection: the reads' threads are the
  // loop's, counted before (the server's connections too are served by
  // its own fixed loop).
  MESSAGE("threads " << threads_before << " -> " << threads_during << ", descriptors " << fds_before
                     << " -> " << fds_during << ", server connections " << connections_during);
  CHECK(threads_during <= threads_before + 2);
  // A turn holds one connection here (one holder, a small object): the
  // readers' sockets and the server's ends of them, nothing per waiting read.
  CHECK(fds_during <= fds_before + 2 * fetch_loop::max_active + 4);
  CHECK(connections_during <= fetch_loop::max_active); // the others wait their turn
  for (size_t k = 0; k < reads; ++k) {
    CHECK(errors[k] == "");
    CHECK(*outs[k] == *bytes);
  }
}

} // namespace

TEST_CASE("200 reads at once share the fetch loop: threads and descriptors stay bounded") {
  many_reads(nullptr);
}

TEST_CASE("200 TLS reads at once: the same bounds, every read byte-exact") {
  std::string err;
  auto id = token_identity::make(std::string(64, 'e'), err);
  REQUIRE(id);
  auto tls = data_path_tls::from_identity(*id);
  REQUIRE(tls);
  many_reads(tls);
}

TEST_CASE("a task reading its argument from another node lends its CPU meanwhile") {
  manta::init_options opts;
  opts.num_cpus = 1;
  manta::init(opts);
  auto value = std::vector<char>(3u << 20, 2);
  auto encoded = std::make_shared<std::vector<char>>(encode(value));
  gate held;
  transfer_server server{"127.0.0.1", "secret", [&](uint64_t id) -> std::optional<held_bytes> {
                           held.pass();
                           if (id != 99)
                             return std::nullopt;
                           return held_bytes{encoded, encoded->data(), encoded->size(), nullptr};
                         }};
  const auto* fn = find_function("byte_sum");
  REQUIRE(fn != nullptr);
  wire::task_message msg;
  msg.task_id = 4242;
  msg.name = "byte_sum";
  msg.function_name = "byte_sum";
  msg.args.resize(1);
  msg.arg_refs = {{0, 99, 2, "127.0.0.1", server.port(), encoded->size(), {}}};
  auto task = std::make_shared<remote_task>(*fn, std::move(msg));
  task->token = "secret";
  auto* rt = runtime::current();
  REQUIRE(rt != nullptr);
  task->result = std::make_shared<object_slot>(&rt->store(), manta::object_id{4242}, task);
  task_ptr scheduled = task;
  rt->pool().schedule(std::move(scheduled));
  // The task runs on the one CPU and waits for its argument's bytes.
  REQUIRE(held.wait_asked(1, 10s));
  CHECK_FALSE(task->result->done());
  // Another task runs on that CPU meanwhile.
  auto other = manta::task(quick).remote(41);
  CHECK(manta::get(other, 8s) == 42);
  CHECK_FALSE(task->result->done());
  held.let_through();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!task->result->done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  REQUIRE(task->result->done());
  REQUIRE_FALSE(task->result->failed());
  auto out = task->result->copy_as<std::vector<char>>();
  int64_t sum = 0;
  REQUIRE_FALSE(decode(std::span<const char>{out}, sum));
  CHECK(sum == 2 * int64_t{3u << 20});
  manta::shutdown();
}
