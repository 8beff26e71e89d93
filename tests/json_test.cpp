// The JSON the state API and the dashboard write (observe/json.hpp), read
// back with Boost.JSON: each record's fields under their names with their
// values, strings always valid UTF-8, resource amounts as numbers.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include "manta/observe/json.hpp"
#include "manta/placement/placement_json.hpp"
#include "manta/observe/series.hpp"

#include <boost/json/parse.hpp>

#include <cmath>
#include <string>

namespace json = manta::detail::json;
namespace bj = boost::json;

namespace {

bj::object parse_object(const std::string& text) {
  bj::error_code ec;
  auto v = bj::parse(text, ec); // refuses invalid UTF-8
  REQUIRE_MESSAGE(!ec, ec.message() << " in " << text);
  REQUIRE(v.is_object());
  return v.as_object();
}

/// A string member's text, a number member as an integer ("" and -1 for
/// another type: the check then fails).
std::string str(const bj::value& v) {
  return v.is_string() ? std::string{v.get_string()} : std::string{};
}

int64_t num(const bj::value& v) {
  return v.is_int64() ? v.get_int64() : v.is_uint64() ? static_cast<int64_t>(v.get_uint64()) : -1;
}

} // namespace

TEST_CASE("a task's record has each field under its name") {
  manta::task_info t;
  t.id = manta::object_id{0x11};
  t.name = "add";
  t.kind = "task";
  t.state = manta::task_state::failed;
  t.submitted_us = 100;
  t.started_us = 200;
  t.ended_us = 300;
  t.thread = "executor-2";
  t.thread_id = 7;
  t.node = "node-1 (pid 9)";
  t.actor = "counter";
  t.attempts = 3;
  t.suspended = true;
  t.error = "std::runtime_error: boom";
  t.job = "01000000";
  t.args = {{manta::object_id{0x22}, 64}, {manta::object_id{}, 0}};
  t.caused_by = manta::object_id{0x33};
  auto o = parse_object(json::to_json(t));
  CHECK(o.size() == 18);
  CHECK(str(o.at("id")) == manta::to_string(t.id));
  CHECK(str(o.at("name")) == "add");
  CHECK(str(o.at("kind")) == "task");
  CHECK(str(o.at("state")) == "FAILED");
  CHECK(num(o.at("submitted_us")) == 100);
  CHECK(num(o.at("started_us")) == 200);
  CHECK(num(o.at("ended_us")) == 300);
  CHECK(str(o.at("thread")) == "executor-2");
  CHECK(num(o.at("thread_id")) == 7);
  CHECK(str(o.at("node")) == "node-1 (pid 9)");
  CHECK(o.at("parent").is_null()); // not set
  CHECK(str(o.at("actor")) == "counter");
  CHECK(num(o.at("attempts")) == 3);
  CHECK(o.at("suspended").as_bool());
  CHECK(str(o.at("error")) == "std::runtime_error: boom");
  CHECK(str(o.at("job")) == "01000000");
  auto& args = o.at("args").as_array();
  REQUIRE(args.size() == 2);
  CHECK(str(args[0].at("id")) == manta::to_string(manta::object_id{0x22}));
  CHECK(num(args[0].at("size_bytes")) == 64);
  CHECK(args[1].at("id").is_null());
  CHECK(str(o.at("caused_by")) == manta::to_string(t.caused_by));
}

TEST_CASE("an actor's, a node's and an object's records") {
  manta::actor_info a;
  a.id = "00000000000000ab";
  a.class_name = "counter";
  a.name = "c1";
  a.ns = "prod";
  a.state = "ALIVE";
  a.restarts = 2;
  a.queued_calls = 4;
  a.running_calls = 1;
  a.node = "node-2";
  a.resources = {{"CPU", 1}, {"GPU", 0.5}};
  a.job = "02000000";
  a.history = {{"PENDING_CREATION", 10, ""}, {"ALIVE", 20, "up"}};
  auto ao = parse_object(json::to_json(a));
  CHECK(str(ao.at("class_name")) == "counter");
  CHECK(str(ao.at("namespace")) == "prod");
  CHECK(num(ao.at("restarts")) == 2);
  CHECK(num(ao.at("queued_calls")) == 4);
  CHECK(num(ao.at("running_calls")) == 1);
  CHECK(str(ao.at("death_cause")) == "");
  CHECK(num(ao.at("resources").at("CPU")) == 1); // a whole amount as an integer
  CHECK(ao.at("resources").at("GPU").as_double() == 0.5);
  REQUIRE(ao.at("history").as_array().size() == 2);
  CHECK(str(ao.at("history").as_array()[1].at("state")) == "ALIVE");
  CHECK(num(ao.at("history").as_array()[1].at("at_us")) == 20);
  CHECK(str(ao.at("history").as_array()[1].at("detail")) == "up");

  manta::node_info n;
  n.name = "node-3";
  n.role = "worker";
  n.state = "ALIVE";
  n.total = {{"CPU", 4}};
  n.available = {{"CPU", std::nan("")}};
  n.queued_tasks = 5;
  n.executor_threads = 6;
  auto no = parse_object(json::to_json(n));
  CHECK(str(no.at("role")) == "worker");
  CHECK(num(no.at("total").at("CPU")) == 4);
  CHECK(no.at("available").at("CPU").is_null()); // JSON has no NaN
  CHECK(num(no.at("queued_tasks")) == 5);
  CHECK(num(no.at("executor_threads")) == 6);

  manta::object_memory_info m;
  m.id = manta::object_id{0x44};
  m.size_bytes = 4096;
  m.owner = "driver";
  m.references = 3;
  m.location = "spilled";
  m.type = "std::vector<int>";
  m.created_by = "task add";
  m.pins = 1;
  auto mo = parse_object(json::to_json(m));
  CHECK(str(mo.at("id")) == manta::to_string(m.id));
  CHECK(num(mo.at("size_bytes")) == 4096);
  CHECK(str(mo.at("owner")) == "driver");
  CHECK(num(mo.at("references")) == 3);
  CHECK(str(mo.at("location")) == "spilled");
  CHECK(str(mo.at("type")) == "std::vector<int>");
  CHECK(str(mo.at("created_by")) == "task add");
  CHECK(num(mo.at("pins")) == 1);
}

TEST_CASE("a placement group's record lists its bundles") {
  manta::placement_group_info g;
  g.id = "0000000000000001";
  g.name = "pg";
  g.strategy = "SPREAD";
  g.state = "CREATED";
  g.tasks = 2;
  g.actors = 1;
  g.bundles = {{0, {{"CPU", 1}}, "node-1"}, {1, {{"GPU", 2}}, ""}};
  bj::error_code ec;
  auto v = bj::parse(json::to_json(std::vector{g}), ec);
  REQUIRE(!ec);
  auto& o = v.as_array().at(0).as_object();
  CHECK(str(o.at("strategy")) == "SPREAD");
  CHECK(num(o.at("tasks")) == 2);
  CHECK(num(o.at("actors")) == 1);
  auto& b = o.at("bundles").as_array();
  REQUIRE(b.size() == 2);
  CHECK(num(b[1].at("index")) == 1);
  CHECK(num(b[1].at("resources").at("GPU")) == 2);
  CHECK(str(b[0].at("node")) == "node-1");
}

TEST_CASE("strings are escaped and always valid UTF-8") {
  CHECK(json::quote("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  CHECK(json::quote("\xe2\x82\xac") == "\"\xe2\x82\xac\""); // a well-formed sequence as it is
  CHECK(json::quote("x\xffy") == "\"x\xef\xbf\xbdy\""); // a bad byte is U+FFFD
  auto o = parse_object(json::error_body("bad \xc0 input"));
  CHECK(str(o.at("error")) == "bad \xef\xbf\xbd input");
}

TEST_CASE("the series' keys are the sample's fields in snake_case") {
  manta::detail::series_sample s{1000, 12.3456, -1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  bj::error_code ec;
  auto v = bj::parse(manta::detail::to_json(std::vector{s}), ec);
  REQUIRE(!ec);
  auto& o = v.as_array().at(0).as_object();
  CHECK(o.size() == 14);
  CHECK(num(o.at("time_ms")) == 1000);
  CHECK(o.at("cpu_percent").as_double() == doctest::Approx(12.35).epsilon(1e-9));
  CHECK(o.at("machine_cpu_percent").is_null()); // unknown
  CHECK(num(o.at("rss_bytes")) == 1);
  CHECK(num(o.at("machine_used_bytes")) == 2);
  CHECK(num(o.at("machine_total_bytes")) == 3);
  CHECK(num(o.at("store_bytes")) == 4);
  CHECK(num(o.at("spilled_bytes")) == 5);
  CHECK(num(o.at("budget_bytes")) == 6);
  CHECK(num(o.at("finished")) == 7);
  CHECK(num(o.at("failed")) == 8);
  CHECK(num(o.at("actor_calls")) == 9);
  CHECK(num(o.at("running")) == 10);
  CHECK(num(o.at("queued")) == 11);
}
