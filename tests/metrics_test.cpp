// Metrics: user counters, gauges and histograms from task code, the
// runtime's own metrics, and the Prometheus text format they are served in.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

int handle_request(int size) {
  manta::metrics::counter requests{"app_requests_total", "Requests handled", {{"route", "/x"}}};
  requests.inc();
  manta::metrics::histogram sizes{"app_request_size", "Request sizes", {10, 100, 1000}};
  sizes.observe(size);
  return size;
}

int fails(int) {
  throw std::runtime_error("no");
}

MANTA_REMOTE(handle_request, fails);

/// Parses the exposition: every line is a comment (# HELP / # TYPE) or
/// `name{labels} value`; returns sample -> value.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in{text};
  std::string line;
  std::map<std::string, std::string> types;
  while (std::getline(in, line)) {
    REQUIRE(!line.empty());
    if (line[0] == '#') {
      std::istringstream ls{line};
      std::string hash, what, name, rest;
      ls >> hash >> what >> name;
      CHECK((what == "HELP" || what == "TYPE"));
      if (what == "TYPE") {
        ls >> rest;
        CHECK((rest == "counter" || rest == "gauge" || rest == "histogram"));
        CHECK_MESSAGE(types.count(name) == 0, "family " << name << " declared twice");
        types[name] = rest;
      }
      continue;
    }
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    auto sample = line.substr(0, space);
    char* end = nullptr;
    auto value_text = line.substr(space + 1);
    double v = value_text == "+Inf" ? 1e308 : std::strtod(value_text.c_str(), &end);
    CHECK_MESSAGE((value_text == "+Inf" || *end == '\0'), "bad value in: " << line);
    CHECK_MESSAGE(out.count(sample) == 0, "sample " << sample << " appears twice");
    out[sample] = v;
  }
  return out;
}

} // namespace

TEST_CASE("user metrics from task code and the runtime's metrics in Prometheus format") {
  runtime_guard rt{2};
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 20; ++i)
    refs.push_back(manta::task(handle_request).remote(i * 10)); // 0..190
  manta::get(refs, 10s);
  CHECK_THROWS(manta::get(manta::task(fails).remote(1), 10s));
  manta::metrics::gauge depth{"app_queue_depth", "Queue depth"};
  depth.set(7);
  depth.add(-2);
  auto kept = manta::put(std::vector<char>(4096, 'x'));

  // Ended counts come after the results are sealed, and a task's CPU goes
  // back to the pool after its end is counted: wait for both.
  auto until = std::chrono::steady_clock::now() + 10s;
  auto settled = [] {
    return manta::count_tasks().finished + manta::count_tasks().failed >= 21
           && manta::available_resources()["CPU"] == 2;
  };
  while (!settled() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);

  auto m = parse(manta::metrics::prometheus_text());
  // Each series and its value.
  const std::pair<const char*, double> exact[] = {
    {"app_requests_total{route=\"/x\"}", 20},
    {"app_queue_depth", 5},
    // 0 and 10 are <= 10; up to 100: 0..100 (11 values); all 20 <= 1000.
    {"app_request_size_bucket{le=\"10\"}", 2},
    {"app_request_size_bucket{le=\"100\"}", 11},
    {"app_request_size_bucket{le=\"1000\"}", 20},
    {"app_request_size_bucket{le=\"+Inf\"}", 20},
    {"app_request_size_count", 20},
    {"app_request_size_sum", 1900},
    {"manta_tasks_ended_total{state=\"FINISHED\"}", 20},
    {"manta_tasks_ended_total{state=\"FAILED\"}", 1},
    {"manta_tasks{state=\"RUNNING\"}", 0},
    {"manta_task_duration_seconds_count{name=\"handle_request\"}", 20},
    {"manta_task_duration_seconds_bucket{le=\"+Inf\",name=\"handle_request\"}", 20},
    {"manta_resources_capacity{resource=\"CPU\"}", 2},
    {"manta_resources_available{resource=\"CPU\"}", 2},
  };
  for (auto [series, value] : exact) {
    CAPTURE(series);
    CHECK(m.at(series) == value);
  }
  CHECK(m.at("manta_object_store_bytes_used") >= 4096);
  CHECK(m.at("manta_object_store_objects") >= 1);
  CHECK(m.count("manta_resources_total{resource=\"CPU\"}") == 0); // a gauge: no _total
  CHECK(m.at("process_resident_memory_bytes") > 0);
  CHECK(m.at("process_threads") >= 3); // main and executors
}

TEST_CASE("metrics reject bad names, kinds and negative counter steps") {
  CHECK_THROWS_AS(manta::metrics::counter{"bad name"}, manta::invalid_argument_error);
  CHECK_THROWS_AS(manta::metrics::counter{"manta_mine"}, manta::invalid_argument_error);
  manta::metrics::counter c{"app_things_total"};
  CHECK_THROWS_AS(manta::metrics::gauge{"app_things_total"}, manta::invalid_argument_error);
  CHECK_THROWS_AS(c.inc(-1), manta::invalid_argument_error);
  CHECK_THROWS_AS((manta::metrics::histogram{"app_h", "", {3, 1}}), manta::invalid_argument_error);
  manta::metrics::counter same{"app_things_total"};
  same.inc(2);
  CHECK(c.value() == 2); // the same series
  // Prometheus' naming: a counter is served with _total, only a counter.
  manta::metrics::counter plain{"app_things"};
  CHECK(plain.value() == 2); // app_things is app_things_total
  CHECK_THROWS_AS(manta::metrics::gauge{"app_level_total"}, manta::invalid_argument_error);
  CHECK_THROWS_AS(manta::metrics::counter{"process_mine"}, manta::invalid_argument_error);
}
