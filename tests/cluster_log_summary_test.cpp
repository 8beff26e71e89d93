// `manta logs` and `manta summary` in a cluster (this binary is the head,
// a worker and the driver, tests/cluster_main.hpp): the driver's dashboard
// serves the lines its tasks printed on the worker, also while followed;
// the head's dashboard summarizes every node's tasks, each counted once,
// and gathers every member's lines; `manta logs --follow` at the head shows
// a line a task prints on the worker after it started, under the worker's
// name, and says so when the worker stops answering.

#include "tests/background_command.hpp"
#include "tests/cluster_main.hpp"
#include "tests/failed_count.hpp"
#include "tests/shell_command.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <boost/json/src.hpp>

#include "manta/core/runtime.hpp"

#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

int remote_say(int i) {
  std::cout << "remote says " << i << "\n";
  if (i == 2)
    throw std::runtime_error("remote 2 fails");
  return i;
}

MANTA_REMOTE(remote_say);

/// The node of the first line `path` (a `manta logs --format=json` output,
/// one JSON object a line) holds that reads `text` and was not kept by
/// `not_node`; waits for it at most 15 s, empty if none came.
std::string node_of_line(const std::string& path, const std::string& text,
                         const std::string& not_node) {
  auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    std::istringstream lines{manta_test::read_file(path)};
    std::string l;
    while (std::getline(lines, l)) {
      boost::system::error_code ec;
      auto v = json::parse(l, ec); // the last line may be half written
      if (ec || !v.is_object())
        continue;
      auto node = json::value_to<std::string>(v.at("node"));
      if (v.at("line").as_string() == text && node != not_node)
        return node;
    }
    std::this_thread::sleep_for(20ms);
  }
  return {};
}

/// Whether the table `text` shows `line` under the header `== node ==`.
bool shown_under(const std::string& text, const std::string& node, const std::string& line) {
  std::istringstream lines{text};
  std::string l, header;
  while (std::getline(lines, l)) {
    if (l.rfind("== ", 0) == 0)
      header = l;
    else if (l == line && header == "== " + node + " ==")
      return true;
  }
  return false;
}

/// `manta ARGS --address=ADDRESS`: exit status and output.
std::pair<int, std::string> manta_at(const std::string& address, const std::string& args) {
  return manta_test::run(manta_test::manta_tool("MANTA_BIN") + " " + args
                         + " --address=" + address);
}

} // namespace

TEST_CASE("logs of tasks run on a worker, from the driver; the head's summary") {
  manta_test::temp_dir dir;
  manta::local_cluster c;
  c.add_worker(2);
  manta::init_options opts;
  opts.dashboard_port = 0;
  c.join(0, std::move(opts)); // no CPUs here: every task runs on the worker
  auto url = manta::dashboard_url();
  auto driver = url.substr(7, url.size() - 8);

  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(manta::task(remote_say).remote(i));
  REQUIRE(manta_test::failed_count(refs, 20s) == 1);

  auto [rc, text] = manta_at(driver, "logs " + manta::to_string(refs[1].id()));
  CHECK(rc == 0);
  CHECK(text == "remote says 1\n");

  // The head counts each task once, on the worker that ran it.
  auto [src, summary] = manta_at(c.dashboard_address(), "summary tasks --format=json");
  REQUIRE(src == 0);
  INFO(summary);
  auto doc = json::parse(summary);
  bool seen = false;
  for (auto& g : doc.at("groups").as_array()) {
    if (g.at("name").as_string() != "remote_say")
      continue;
    seen = true;
    CHECK(g.at("total").to_number<int>() == 3);
    CHECK(g.at("states").at("FINISHED").to_number<int>() == 2);
    CHECK(g.at("states").at("FAILED").to_number<int>() == 1);
  }
  CHECK(seen);
  // The head gathers every member's lines, each under its node's name
  // (followed: the next test case).
  auto [hrc, from_head] = manta_at(c.dashboard_address(), "logs --node");
  CHECK(hrc == 0);
  CHECK(manta_test::contains(from_head, "== node-2"));
  CHECK(manta_test::contains(from_head, "(remote_say) remote says 1\n"));

  // Followed on the driver: a line printed on the worker afterwards.
  manta_test::background_manta follower{{"logs", "--node", "--follow", "--address=" + driver},
                                        dir.path};
  REQUIRE(manta_test::file_shows(follower.out, "(remote_say) remote says 1\n"));
  CHECK(manta::get(manta::task(remote_say).remote(7), 20s) == 7);
  CHECK(manta_test::file_shows(follower.out, "(remote_say) remote says 7\n"));
  CHECK(follower.exit_within(0ms) == -1);
}

TEST_CASE("manta logs --follow at the head follows every member") {
  manta_test::temp_dir as_json, as_table;
  manta::local_cluster c;
  auto worker = c.add_worker(2);
  c.join(0); // no CPUs here: every task runs on the worker
  auto driver = manta::detail::runtime::node_name();
  CHECK(manta::get(manta::task(remote_say).remote(1), 20s) == 1);

  auto head = "--address=" + c.dashboard_address();
  manta_test::background_manta json_follower{{"logs", "--node", "--follow", "--format=json", head},
                                             as_json.path};
  manta_test::background_manta table_follower{{"logs", "--node", "--follow", head}, as_table.path};
  // The first read: the worker's line, named after the worker (the driver
  // keeps a copy of it too, shipped with the task's result).
  auto worker_name = node_of_line(json_follower.out, "remote says 1", driver);
  INFO("json: " << manta_test::read_file(json_follower.out)
                << "\nstderr: " << manta_test::read_file(json_follower.err));
  REQUIRE(worker_name.rfind("node-", 0) == 0);

  // A line printed on the worker after both started reaches each, from the
  // worker itself, within the deadline.
  CHECK(manta::get(manta::task(remote_say).remote(8), 20s) == 8);
  CHECK(node_of_line(json_follower.out, "remote says 8", driver) == worker_name);
  auto until = std::chrono::steady_clock::now() + 15s;
  while (!shown_under(manta_test::read_file(table_follower.out), worker_name,
                      "(remote_say) remote says 8")
         && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  INFO("table: " << manta_test::read_file(table_follower.out));
  CHECK(shown_under(manta_test::read_file(table_follower.out), worker_name,
                    "(remote_say) remote says 8"));

  // The worker dies: each follower says which member no longer answers and
  // goes on following the rest.
  c.kill_worker(worker, 2);
  for (auto* f : {&json_follower, &table_follower}) {
    CHECK(manta_test::file_shows(f->err, worker_name + " does not answer the head (", 15s));
    CHECK(f->exit_within(0ms) == -1);
  }
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
