// `manta logs` and `manta summary` against a live node: this test process
// (init_options::dashboard_port) runs a known workload and runs the `manta`
// binary ($MANTA_BIN) as a user would. The summaries' counts must match the
// workload; `manta logs` must find lines tasks and actor calls printed, by
// task, actor and node; `--follow` must print a line printed after it
// started and fail once the node goes away; unknown ids are errors that
// name them.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include "tests/background_command.hpp"
#include "tests/failed_count.hpp"
#include "tests/shell_command.hpp"

#include <boost/json/src.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>


using namespace std::chrono_literals;
namespace json = boost::json;

using manta_test::background_manta;
using manta_test::check_answer;
using manta_test::contains;
using manta_test::file_shows;
using manta_test::read_file;
using manta_test::temp_dir;

namespace {

int work(int i) {
  std::cout << "work says " << i << "\n";
  if (i >= 5)
    throw std::runtime_error("work " + std::to_string(i) + " fails");
  return i;
}

int chatty(int n) {
  for (int i = 0; i < n; ++i)
    std::cout << "chatty line " << i << "\n";
  return n;
}

MANTA_REMOTE(work, chatty);

class talker {
public:
  int talk(std::string what) {
    std::cout << "talker says " << what << "\n";
    return 1;
  }
};
MANTA_ACTOR(talker, &talker::talk);

class keeper {
public:
  int ping() { return 1; }
};
MANTA_ACTOR(keeper, &keeper::ping);

/// A node of this process with a dashboard on a free loopback port.
struct node {
  explicit node(bool log_prefix = true) {
    manta::init_options opts;
    opts.num_cpus = 2;
    opts.log_prefix = log_prefix;
    opts.dashboard_port = 0;
    manta::init(std::move(opts));
    auto url = manta::dashboard_url(); // http://HOST:PORT/
    address = url.substr(7, url.size() - 8);
  }
  ~node() { stop(); }
  void stop() {
    if (running) {
      manta::shutdown();
      running = false;
    }
  }
  std::string address;
  bool running = true;
};

/// `manta ARGS --address=...`: exit status and output.
std::pair<int, std::string> manta_cmd(const node& n, const std::string& args) {
  return manta_test::run(manta_test::manta_tool("MANTA_BIN") + " " + args
                         + " --address=" + n.address);
}

/// The group named `name` of a `--format=json` summary.
json::object group_of(const std::string& summary, const std::string& name) {
  auto doc = json::parse(summary);
  for (auto& g : doc.at("groups").as_array())
    if (g.at("name").as_string() == name)
      return g.as_object();
  FAIL("no group " << name << " in " << summary);
  return {};
}

} // namespace

TEST_CASE("manta summary counts a known workload") {
  node n;
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 7; ++i)
    refs.push_back(manta::task(work).remote(i));
  REQUIRE(manta_test::failed_count(refs, 10s) == 2);
  CHECK(manta::get(manta::task(chatty).remote(1), 10s) == 1);
  auto t1 = manta::actor<talker>().name("t1").remote();
  auto t2 = manta::actor<talker>().name("t2").remote();
  auto k = manta::actor<keeper>().remote();
  CHECK(manta::get(t1.call(&talker::talk).remote(std::string{"hi"}), 10s) == 1);
  CHECK(manta::get(t2.call(&talker::talk).remote(std::string{"ho"}), 10s) == 1);
  CHECK(manta::get(k.call(&keeper::ping).remote(), 10s) == 1);
  std::vector<manta::object_ref<std::vector<char>>> blobs;
  for (int i = 0; i < 3; ++i)
    blobs.push_back(manta::put(std::vector<char>(1 << 20, 'x')));

  auto [rc, text] = manta_cmd(n, "summary tasks");
  REQUIRE(rc == 0);
  INFO(text);
  auto work_row = text.substr(text.find("\nwork "));
  work_row = work_row.substr(1, work_row.find('\n', 1));
  CHECK(contains(work_row, "task"));
  CHECK(contains(work_row, "FINISHED: 5, FAILED: 2"));
  // Sorted by name: chatty, talker.talk, work.
  CHECK(text.find("\nchatty ") < text.find("\ntalker.talk "));
  CHECK(text.find("\ntalker.talk ") < text.find("\nwork "));

  auto [jrc, tasks] = manta_cmd(n, "summary tasks --format=json");
  REQUIRE(jrc == 0);
  auto w = group_of(tasks, "work");
  CHECK(w.at("total").to_number<int>() == 7);
  CHECK(w.at("states").at("FINISHED").to_number<int>() == 5);
  CHECK(w.at("states").at("FAILED").to_number<int>() == 2);
  CHECK(group_of(tasks, "talker.talk").at("states").at("FINISHED").to_number<int>() == 2);

  auto [arc, actors] = manta_cmd(n, "summary actors --format=json");
  REQUIRE(arc == 0);
  CHECK(group_of(actors, "talker").at("states").at("ALIVE").to_number<int>() == 2);
  CHECK(group_of(actors, "keeper").at("total").to_number<int>() == 1);
  auto [atrc, actor_table] = manta_cmd(n, "summary actors");
  CHECK(contains(actor_table, "3 actor(s) in 2 class(es)"));
  CHECK(actor_table.find("\nkeeper ") < actor_table.find("\ntalker "));

  auto [orc, objects] = manta_cmd(n, "summary objects --format=json");
  REQUIRE(orc == 0);
  json::object blob_group;
  auto object_doc = json::parse(objects);
  for (auto& g : object_doc.at("groups").as_array())
    if (contains(std::string{g.at("name").as_string()}, "vector"))
      blob_group = g.as_object();
  REQUIRE(!blob_group.empty());
  CHECK(blob_group.at("total").to_number<int>() == 3);
  CHECK(blob_group.at("total_bytes").to_number<uint64_t>() >= 3u << 20);
  CHECK(blob_group.at("total_bytes").to_number<uint64_t>() < 4u << 20);
  auto [otrc, object_table] = manta_cmd(n, "summary objects");
  INFO(object_table);
  CHECK(contains(object_table, " MiB"));
  auto [crc, by_site] = manta_cmd(n, "summary objects --group-by=callsite");
  CHECK(crc == 0);
  CHECK(contains(by_site, "CALLSITE"));
  CHECK(contains(by_site, "task work"));

  check_answer(manta_cmd(n, "summary bogus"), 2, "tasks, actors or objects");
}

TEST_CASE("manta logs by task, actor and node; unknown ids") {
  node n;
  auto r = manta::task(chatty).remote(3);
  REQUIRE(manta::get(r, 10s) == 3);
  auto t1 = manta::actor<talker>().name("t1").remote();
  REQUIRE(manta::get(t1.call(&talker::talk).remote(std::string{"to the log"}), 10s) == 1);

  auto id = manta::to_string(r.id());
  auto [rc, text] = manta_cmd(n, "logs " + id);
  CHECK(rc == 0);
  CHECK(text == "chatty line 0\nchatty line 1\nchatty line 2\n");
  auto [trc, tail] = manta_cmd(n, "logs --tail=1 " + id);
  CHECK(tail == "chatty line 2\n");

  auto [arc, by_name] = manta_cmd(n, "logs --actor=t1");
  CHECK(arc == 0);
  CHECK(by_name == "(talker 't1'.talk) talker says to the log\n");
  auto [lrc, listed] = manta_cmd(n, "list actors --format=json");
  REQUIRE(lrc == 0);
  auto actor_id = std::string{json::parse(listed).at(0).at("id").as_string()};
  REQUIRE(actor_id.size() == 16);
  auto [irc, by_id] = manta_cmd(n, "logs --actor=" + actor_id);
  CHECK(by_id == by_name);

  auto [nrc, all] = manta_cmd(n, "logs --node");
  CHECK(nrc == 0);
  CHECK(contains(all, "(chatty) chatty line 1\n(chatty) chatty line 2\n"));
  CHECK(contains(all, "(talker 't1'.talk) talker says to the log\n"));
  auto [jrc, as_json] = manta_cmd(n, "logs --node --tail=1 --format=json");
  CHECK(json::parse(as_json).at("line").as_string() == "talker says to the log");

  auto [u1, no_task] = manta_cmd(n, "logs 00000000deadbeef");
  CHECK(u1 == 1);
  CHECK(contains(no_task, "no task 00000000deadbeef"));
  CHECK(contains(no_task, "manta list tasks"));
  CHECK(!contains(no_task, "{\"error\""));
  auto [u2, no_actor] = manta_cmd(n, "logs --actor=nobody");
  CHECK(u2 == 1);
  CHECK(contains(no_actor, "no actor 'nobody'"));
  CHECK(contains(no_actor, "manta list actors"));
  check_answer(manta_cmd(n, "logs --node=node-9"), 1, "not 'node-9'");
  check_answer(manta_cmd(n, "logs xyz"), 1, "task id 'xyz' is not 16 hex digits");
  check_answer(manta_cmd(n, "logs"), 2, "whose logs?");
  check_answer(manta_cmd(n, "logs --node --tail=lots"), 2, "--tail takes a count");
}

TEST_CASE("manta logs --follow prints new lines and stops when the node goes away") {
  temp_dir dir;
  node n;
  auto t1 = manta::actor<talker>().name("t1").remote();
  REQUIRE(manta::get(t1.call(&talker::talk).remote(std::string{"before following"}), 10s) == 1);
  background_manta follower{{"logs", "--actor=t1", "--follow", "--address=" + n.address}, dir.path};
  // Its first answer printed the old line: it follows from there on.
  REQUIRE(file_shows(follower.out, "talker says before following\n"));
  REQUIRE(manta::get(t1.call(&talker::talk).remote(std::string{"after following"}), 10s) == 1);
  CHECK(file_shows(follower.out, "(talker 't1'.talk) talker says after following\n"));
  CHECK(read_file(follower.out)
        == "(talker 't1'.talk) talker says before following\n"
           "(talker 't1'.talk) talker says after following\n");
  CHECK(follower.exit_within(0ms) == -1); // still following
  n.stop();
  CHECK(follower.exit_within(15s) == 1);
  CHECK(contains(read_file(follower.err), "the node went away"));
}

TEST_CASE("manta logs says when the node keeps no lines") {
  node n{false};
  REQUIRE(manta::get(manta::task(chatty).remote(1), 10s) == 1);
  auto [rc, text] = manta_cmd(n, "logs --node");
  CHECK(rc == 0);
  CHECK(contains(text, "keeps no lines: it runs with log_prefix off"));
  CHECK(!contains(text, "chatty line"));
}
