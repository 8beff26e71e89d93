// The dashboard's graphs' data (runtime/manta/observe/series.hpp): /api/series
// of a real node over HTTP, read with Boost.JSON, has one sample a second with
// increasing times, counts that match the workload the test ran, the task
// running now, and the node's CPU and memory; `?since=T` answers only the
// newer samples (and refuses a T that is not a time); the head's cluster sum,
// whole and since T; the CPU meter reports the share a busy thread had.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "manta/observe/cpu_meter.hpp"
#include "manta/observe/series.hpp"
#include "tests/adder_actor.hpp"
#include "tests/runtime_guard.hpp"
#include "tools/http_client.hpp"

#include <boost/json/src.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::atomic<bool> g_release{false};
std::atomic<bool> g_started{false};

int add_one(int x) {
  return x + 1;
}

int fails(int) {
  throw std::runtime_error("on purpose");
}

int held(int x) {
  g_started = true;
  while (!g_release.load())
    std::this_thread::sleep_for(1ms);
  return x;
}

MANTA_REMOTE(add_one, fails, held);

/// GETs /api/series (with `query`) from the node's dashboard.
json::object series(const std::string& query = "") {
  auto r = manta::tools::http_get(manta::dashboard_url(), "/api/series" + query);
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

uint64_t field(const json::value& sample, const char* name) {
  return json::value_to<uint64_t>(sample.at(name));
}

/// Waits (at most 15 s) for a sample that `pred` accepts; returns the
/// document it came in.
template <class Pred>
json::object wait_for_sample(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    auto doc = series();
    auto& samples = doc.at("nodes").as_array().at(0).at("samples").as_array();
    if (!samples.empty() && pred(samples.back()))
      return doc;
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    "no sample as expected within 15 s; last: "
                      << json::serialize(samples.empty() ? json::value{} : samples.back()));
    std::this_thread::sleep_for(100ms);
  }
}

} // namespace

TEST_CASE("/api/series has a sample a second with the counts of the workload") {
  manta::init_options opts;
  opts.num_cpus = 2;
  opts.dashboard_port = 0;
  runtime_guard rt{std::move(opts)};

  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 20; ++i)
    refs.push_back(manta::task(add_one).remote(i));
  manta::get(refs);
  auto c = manta::actor<adder>().remote();
  for (int i = 0; i < 5; ++i)
    manta::get(c.call(&adder::add).remote(i));
  CHECK_THROWS(manta::get(manta::task(fails).remote(1)));

  // 20 tasks and 5 actor calls finished, one task failed.
  auto doc = wait_for_sample(
    [](const json::value& s) { return field(s, "finished") >= 25 && field(s, "failed") >= 1; });
  auto& node = doc.at("nodes").as_array().at(0).as_object();
  CHECK(json::value_to<std::string>(node.at("name")).rfind("node-0", 0) == 0);
  auto& samples = node.at("samples").as_array();
  auto& last = samples.back();
  CHECK(field(last, "finished") == 25);
  CHECK(field(last, "failed") == 1);
  CHECK(field(last, "actor_calls") == 5);
  CHECK(field(last, "running") == 0);
  // The node's memory and its machine's.
  CHECK(field(last, "rss_bytes") > 1'000'000);
  CHECK(field(last, "machine_total_bytes") >= field(last, "machine_used_bytes"));
  CHECK(field(last, "machine_used_bytes") > field(last, "rss_bytes") / 2);
  CHECK(field(last, "budget_bytes") > 0);

  // Another second: times increase by about the interval, and cumulative
  // counts never go down.
  auto first_ms = json::value_to<int64_t>(last.at("time_ms"));
  doc = wait_for_sample(
    [&](const json::value& s) { return json::value_to<int64_t>(s.at("time_ms")) > first_ms; });
  auto& all = doc.at("nodes").as_array().at(0).at("samples").as_array();
  REQUIRE(all.size() >= 2);
  // The first sample (at init) has no CPU use yet; each later one has.
  CHECK(all[0].at("cpu_percent").is_null());
  for (size_t i = 1; i < all.size(); ++i) {
    auto cpu = all[i].at("machine_cpu_percent").to_number<double>();
    CHECK(cpu >= 0);
    CHECK(cpu <= 100);
    auto dt = json::value_to<int64_t>(all[i].at("time_ms"))
              - json::value_to<int64_t>(all[i - 1].at("time_ms"));
    CHECK(dt >= 500);
    CHECK(dt <= 3000);
    CHECK(field(all[i], "finished") >= field(all[i - 1], "finished"));
  }
  // On a node, the cluster's samples are its own, one per second.
  auto& cluster = doc.at("cluster").as_array();
  REQUIRE(cluster.size() == all.size());
  CHECK(field(cluster.back(), "finished") == 25);

  // A task running now shows in the next samples, and stops showing once done.
  g_release = false;
  auto h = manta::task(held).remote(7);
  while (!g_started.load())
    std::this_thread::sleep_for(1ms);
  wait_for_sample([](const json::value& s) { return field(s, "running") == 1; });
  g_release = true;
  CHECK(manta::get(h) == 7);
  wait_for_sample(
    [](const json::value& s) { return field(s, "running") == 0 && field(s, "finished") == 26; });
}

TEST_CASE("/api/series?since=T answers only the samples newer than T") {
  manta::init_options opts;
  opts.num_cpus = 1;
  opts.dashboard_port = 0;
  runtime_guard rt{std::move(opts)};
  // Three samples at least, so that T can cut between them.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  auto doc = series();
  while (doc.at("nodes").as_array().at(0).at("samples").as_array().size() < 3) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "no 3 samples within 15 s");
    std::this_thread::sleep_for(100ms);
    doc = series();
  }
  auto& all = doc.at("nodes").as_array().at(0).at("samples").as_array();
  auto time_of = [](const json::value& s) { return json::value_to<int64_t>(s.at("time_ms")); };
  auto t = time_of(all[all.size() - 2]);
  auto part = series("?since=" + std::to_string(t));
  auto& newer = part.at("nodes").as_array().at(0).at("samples").as_array();
  // The newest sample of the full answer, and any taken since: none at or before T.
  REQUIRE(!newer.empty());
  CHECK(newer.size() < all.size());
  CHECK(time_of(newer.front()) == time_of(all.back()));
  for (auto& s : newer)
    CHECK(time_of(s) > t);
  for (auto& s : part.at("cluster").as_array())
    CHECK(time_of(s) > t);
  // Past the newest sample: nothing; since=0 is the whole ring.
  auto none = series("?since=" + std::to_string(time_of(newer.back())));
  CHECK(none.at("nodes").as_array().at(0).at("samples").as_array().empty());
  CHECK(series("?since=0").at("nodes").as_array().at(0).at("samples").as_array().size()
        >= all.size());
  // A since that is not a time is refused with what it should be.
  for (auto bad : {"?since=soon", "?since=-5", "?since="}) {
    auto r = manta::tools::http_get(manta::dashboard_url(), std::string{"/api/series"} + bad);
    CHECK(r.status == 400);
    CHECK_MESSAGE(r.body.find("milliseconds since the Unix epoch") != std::string::npos, r.body);
  }
}

TEST_CASE("the cluster's sum carries each node's latest sample forward") {
  using manta::detail::series_sample;
  auto at = [](int64_t ms, uint64_t finished, uint64_t store) {
    series_sample s;
    s.time_ms = ms;
    s.finished = finished;
    s.store_bytes = store;
    return s;
  };
  // Node a samples at 10.1 s, 11.1 s, 12.1 s; node b starts at 11.6 s and
  // skips second 12.
  std::vector<std::vector<series_sample>> nodes{
    {at(10'100, 1, 100), at(11'100, 2, 200), at(12'100, 3, 300)},
    {at(11'600, 10, 1000), at(13'000, 30, 3000)}};
  auto sum = manta::detail::sum_series(nodes);
  REQUIRE(sum.size() == 4);
  CHECK(sum[0].time_ms == 10'000);
  CHECK(sum[0].finished == 1); // b had not sampled yet
  CHECK(sum[1].finished == 12);
  CHECK(sum[2].finished == 13); // b's 11.6 s sample carried forward
  CHECK(sum[2].store_bytes == 1300);
  CHECK(sum[3].finished == 33);
  auto doc = json::parse(manta::detail::series_document({{"a", nodes[0]}, {"b", nodes[1]}}));
  CHECK(doc.at("nodes").as_array().size() == 2);
  CHECK(doc.at("cluster").as_array().size() == 4);
  CHECK(field(doc.at("cluster").as_array().at(3), "store_bytes") == 3300);

  // Since 11 s: each node's later samples, and the sums of seconds 12 and
  // 13, b's sample of 11.6 s still carried into second 12.
  auto part = json::parse(
    manta::detail::series_document({{"a", nodes[0]}, {"b", nodes[1]}}, 11'000));
  CHECK(part.at("nodes").as_array().at(0).at("samples").as_array().size() == 2);
  CHECK(part.at("nodes").as_array().at(1).at("samples").as_array().size() == 2);
  auto& cut = part.at("cluster").as_array();
  REQUIRE(cut.size() == 2);
  CHECK(json::value_to<int64_t>(cut.at(0).at("time_ms")) == 12'000);
  CHECK(field(cut.at(0), "finished") == 13);
  CHECK(field(cut.at(1), "finished") == 33);
}

TEST_CASE("the CPU meter sees a thread that keeps a core busy") {
  // The process's CPU time as the kernel's clock counts it, beside the
  // meter's reading of the same window: the meter must report that share,
  // whatever else the machine runs (a fixed floor failed at load 12).
  auto process_cpu_ns = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  };
  auto wall0 = std::chrono::steady_clock::now();
  auto cpu0 = process_cpu_ns();
  manta::detail::cpu_meter meter;
  std::thread burn{[&] {
    // Until it has had 300 ms of a core (however long that takes), at
    // most 30 s.
    auto limit = std::chrono::steady_clock::now() + 30s;
    volatile uint64_t x = 0;
    timespec ts{};
    do {
      for (int i = 0; i < 100000; ++i)
        x = x + 1;
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    } while ((ts.tv_sec * 1000 + ts.tv_nsec / 1000000) < 300
             && std::chrono::steady_clock::now() < limit);
  }};
  burn.join();
  auto r = meter.read();
  auto cpu1 = process_cpu_ns();
  auto wall_ns =
    std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wall0).count();
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  auto expected = 100.0 * (cpu1 - cpu0) / (wall_ns * cores);
  MESSAGE("meter " << r.process_percent << "%, process clock " << expected << "%, machine "
                   << r.machine_percent << "%");
  REQUIRE(cpu1 - cpu0 >= 300e6); // the thread had its 300 ms
  // Within the meter's resolution (10 ms ticks) and the windows' few
  // microseconds apart.
  CHECK(r.process_percent > 0.0);
  CHECK(std::abs(r.process_percent - expected) <= 3.0 + 0.15 * expected);
  CHECK(r.process_percent <= 100.0);
  CHECK(r.machine_percent + 5.0 >= r.process_percent);
}
