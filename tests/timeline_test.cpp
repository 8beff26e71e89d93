// The timeline: valid Chrome trace JSON (parsed with Boost.JSON), one named
// row per executor thread, slices ordered and disjoint on each row, nested
// tasks inside their parent's time, actor calls, the file variant.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/adder_actor.hpp"
#include "tests/napper_actor.hpp"
#include "tests/runtime_guard.hpp"

#include <boost/json/src.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

int leaf(int x) {
  std::this_thread::sleep_for(2ms);
  return x * 2;
}

int middle(int x) {
  auto a = manta::task(leaf).remote(x);
  auto b = manta::task(leaf).remote(x + 1);
  return manta::get(a) + manta::get(b);
}

MANTA_REMOTE(leaf, middle);

struct slice {
  std::string name, id, parent;
  int64_t tid = 0, ts = 0, dur = 0;
};

/// Parses a trace and checks its shape; returns the complete slices.
std::vector<slice> parse_trace(const std::string& text) {
  json::error_code ec;
  auto doc = json::parse(text, ec);
  REQUIRE_MESSAGE(!ec, "the timeline is not valid JSON: " << ec.message());
  auto& events = doc.as_object().at("traceEvents").as_array();
  std::set<int64_t> named_rows;
  std::vector<slice> out;
  for (auto& v : events) {
    auto& e = v.as_object();
    auto ph = json::value_to<std::string>(e.at("ph"));
    if (ph == "M") {
      if (e.at("name").as_string() == "thread_name") {
        named_rows.insert(e.at("tid").as_int64());
        CHECK(!e.at("args").as_object().at("name").as_string().empty());
      }
      continue;
    }
    if (ph != "X")
      continue;
    slice s;
    s.name = json::value_to<std::string>(e.at("name"));
    s.tid = e.at("tid").as_int64();
    s.ts = e.at("ts").as_int64();
    s.dur = e.at("dur").as_int64();
    auto& args = e.at("args").as_object();
    s.id = json::value_to<std::string>(args.at("id"));
    if (auto* p = args.if_contains("parent"))
      s.parent = json::value_to<std::string>(*p);
    CHECK(s.dur >= 0);
    out.push_back(std::move(s));
  }
  for (auto& s : out)
    CHECK_MESSAGE(named_rows.count(s.tid) == 1, "row " << s.tid << " has no thread_name");
  return out;
}

} // namespace

TEST_CASE(
  "the timeline is a valid trace with one ordered row per thread, its slices disjoint or nested") {
  runtime_guard rt{2};
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 6; ++i)
    refs.push_back(manta::task(middle).remote(i));
  auto acc = manta::actor<adder>().remote();
  for (int i = 0; i < 5; ++i)
    acc.call(&adder::add).remote(i);
  auto last = acc.call(&adder::add).remote(100);
  CHECK(manta::get(last, 10s) == 110);
  for (int i = 0; i < 6; ++i)
    CHECK(manta::get(refs[i], 10s) == 4 * i + 2);

  auto slices = parse_trace(manta::timeline());
  std::map<std::string, slice> by_id;
  std::map<int64_t, std::vector<slice>> rows;
  for (auto& s : slices) {
    by_id[s.id] = s;
    rows[s.tid].push_back(s);
  }
  // 6 middles + 12 leaves + 6 actor calls
  CHECK(slices.size() == 24);
  CHECK(rows.size() >= 2);
  // On one row, slices follow each other or nest: a task that waits in
  // get runs the task it waits for on its own thread (help-while-waiting),
  // a slice inside its slice, as a trace viewer stacks them.
  for (auto& [tid, row] : rows) {
    for (size_t i = 1; i < row.size(); ++i)
      CHECK_MESSAGE(row[i - 1].ts <= row[i].ts, "row " << tid << " is not in time order");
    std::vector<const slice*> open;
    for (size_t i = 0; i < row.size(); ++i) {
      while (!open.empty() && open.back()->ts + open.back()->dur <= row[i].ts)
        open.pop_back();
      if (!open.empty()) {
        auto& outer = *open.back();
        CHECK_MESSAGE(row[i].ts + row[i].dur <= outer.ts + outer.dur,
                      "slices " << outer.name << " and " << row[i].name << " overlap on row " << tid
                                << " without nesting");
        CHECK_MESSAGE(row[i].parent == outer.id,
                      row[i].name << " runs inside " << outer.name << ", not its parent");
      }
      open.push_back(&row[i]);
    }
  }
  // Each leaf lies inside its parent's slice (the parent waits in get while
  // the leaf runs, on another thread or under the wait on its own).
  size_t leaves = 0;
  for (auto& s : slices) {
    if (s.name != "leaf")
      continue;
    ++leaves;
    REQUIRE(by_id.count(s.parent) == 1);
    auto& p = by_id[s.parent];
    CHECK(p.name == "middle");
    CHECK(p.ts <= s.ts);
    CHECK(s.ts + s.dur <= p.ts + p.dur);
    CHECK(s.dur >= 2000); // it slept 2 ms
  }
  CHECK(leaves == 12);
  CHECK(by_id.count(manta::to_string(last.id())) == 1);
  CHECK(by_id[manta::to_string(last.id())].name == "adder.add");
}

TEST_CASE("async actor calls that suspend are async spans, not slices") {
  runtime_guard rt{2};
  auto n = manta::actor<napper>().remote();
  std::vector<manta::object_ref<int>> naps;
  for (int i = 0; i < 4; ++i)
    naps.push_back(n.call(&napper::nap).remote(20));
  for (auto& r : naps)
    CHECK(manta::get(r, 10s) == 20);
  // Their records are written just before the results are sealed; the
  // suspension flag just after the first run returns: poll briefly.
  auto text = manta::timeline();
  for (int i = 0; i < 100 && text.find("\"ph\":\"e\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(5ms);
    text = manta::timeline();
  }
  auto slices = parse_trace(text); // the X slices: none of the naps
  for (auto& s : slices)
    CHECK(s.name != "napper.nap");
  auto doc = json::parse(text);
  std::map<std::string, int64_t> begins, ends;
  for (auto& v : doc.as_object().at("traceEvents").as_array()) {
    auto& e = v.as_object();
    auto ph = json::value_to<std::string>(e.at("ph"));
    if (ph == "b")
      begins[json::value_to<std::string>(e.at("id"))] = e.at("ts").as_int64();
    if (ph == "e")
      ends[json::value_to<std::string>(e.at("id"))] = e.at("ts").as_int64();
  }
  CHECK(begins.size() == 4);
  CHECK(ends.size() == 4);
  for (auto& [id, ts] : begins) {
    REQUIRE(ends.count(id) == 1);
    CHECK(ends[id] - ts >= 20000); // each slept 20 ms
  }
}

TEST_CASE("timeline(path) writes the same trace to a file") {
  runtime_guard rt{1};
  CHECK(manta::get(manta::task(leaf).remote(1), 10s) == 2);
  auto path = "/tmp/manta-timeline-test-" + std::to_string(::getpid()) + ".json";
  manta::timeline(path);
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  auto slices = parse_trace(text.str());
  REQUIRE(slices.size() == 1);
  CHECK(slices[0].name == "leaf");
  CHECK_THROWS_AS(manta::timeline("/nonexistent-dir/trace.json"), manta::error);
}
