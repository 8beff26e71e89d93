// `manta logs` and `manta summary` in a cluster (this binary is the head,
// a worker and the driver, tests/cluster_main.hpp): the driver's dashboard
// serves the lines its tasks printed on the worker, also while followed;
// the head's dashboard summarizes every node's tasks, each counted once,
// and sends `manta logs` to the node that keeps the lines.

#include "tests/background_command.hpp"
#include "tests/cluster_main.hpp"
#include "tests/shell_command.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <boost/json/src.hpp>

#include <iostream>
#include <stdexcept>
#include <string>

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

/// `manta ARGS --address=ADDRESS`: exit status and output.
std::pair<int, std::string> manta_at(const std::string& address, const std::string& args) {
  auto* bin = std::getenv("MANTA_BIN");
  REQUIRE(bin != nullptr);
  return manta_test::run(std::string{bin} + " " + args + " --address=" + address);
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
  int failed = 0;
  for (auto& r : refs) {
    try {
      manta::get(r, 20s);
    } catch (const std::exception&) {
      ++failed;
    }
  }
  REQUIRE(failed == 1);

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
  // The head gathers every member's lines, each under its node's name;
  // following needs one node.
  auto [hrc, from_head] = manta_at(c.dashboard_address(), "logs --node");
  CHECK(hrc == 0);
  CHECK(manta_test::contains(from_head, "== node-2"));
  CHECK(manta_test::contains(from_head, "(remote_say) remote says 1\n"));
  auto [frc, follow_head] = manta_at(c.dashboard_address(), "logs --node --follow");
  CHECK(frc == 1);
  CHECK(manta_test::contains(follow_head, "--follow needs one node"));

  // Followed on the driver: a line printed on the worker afterwards.
  manta_test::background_manta follower{{"logs", "--node", "--follow", "--address=" + driver},
                                        dir.path};
  REQUIRE(manta_test::file_shows(follower.out, "(remote_say) remote says 1\n"));
  CHECK(manta::get(manta::task(remote_say).remote(7), 20s) == 7);
  CHECK(manta_test::file_shows(follower.out, "(remote_say) remote says 7\n"));
  CHECK(follower.exit_within(0ms) == -1);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
