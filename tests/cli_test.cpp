// The `manta` state commands against a real node process (observed_node):
// list, status, memory, timeline, why, over the node's HTTP endpoint; the
// endpoint's /metrics and errors.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/dashboard/dashboard.hpp"
#include "manta/dashboard/dashboard_routes.hpp"
#include "tests/observed_node.hpp"
#include "tests/shell_command.hpp"
#include "tools/http_client.hpp"

#include <boost/json/src.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace json = boost::json;

namespace {

using manta_test::contains;

/// Runs `manta ARGS` ($MANTA_BIN) and captures stdout and stderr.
manta_test::command_result run_manta(const std::string& args) {
  return manta_test::run_command(manta_test::manta_tool("MANTA_BIN") + " " + args);
}

/// The table row (line) of `text` containing `key`.
std::string row_of(const std::string& text, const std::string& key) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (contains(line, key))
      return line;
  return {};
}

/// Each test case gets its own runtime dir, so the node's recorded address
/// is the one the commands find.
struct private_runtime_dir {
  private_runtime_dir() {
    char tmpl[] = "/tmp/manta-cli-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ::setenv("MANTA_RUNTIME_DIR", dir.c_str(), 1);
    ::unsetenv("MANTA_DASHBOARD");
  }
  ~private_runtime_dir() {
    std::remove((dir + "/dashboard.address").c_str());
    ::rmdir(dir.c_str());
  }
  std::string dir;
};

/// A live node (tests/observed_node) in a runtime folder of its own, and
/// the flag that gives `manta` its address.
struct live_node {
  private_runtime_dir rd;
  observed_node node;
  std::string addr = " --address=" + node.address();
};

} // namespace

TEST_CASE("manta list/status/memory/timeline/why against a live node") {
  live_node live;
  auto& [rd, node, addr] = live;

  auto tasks = run_manta("list tasks" + addr);
  CHECK(tasks.status == 0);
  auto blocked_row = row_of(tasks.output, node["blocked"]);
  CHECK(contains(blocked_row, "blocked_step"));
  CHECK(contains(blocked_row, "RUNNING"));
  CHECK(contains(blocked_row, "executor-"));
  CHECK(contains(row_of(tasks.output, node["pending"]), "PENDING_ARGS"));
  CHECK(contains(row_of(tasks.output, "keeper.store"), "FINISHED"));

  auto running = run_manta("list tasks --filter state=RUNNING --format=json" + addr);
  REQUIRE(running.status == 0);
  auto rows = json::parse(running.output).as_array();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("name").as_string() == "blocked_step");
  CHECK(rows[0].at("id").as_string() == node["blocked"]);

  // Without --address: the address the node recorded in the runtime dir.
  auto actors = run_manta("list actors");
  CHECK(actors.status == 0);
  CHECK(contains(row_of(actors.output, "keeper"), "ALIVE"));

  auto objects = run_manta("list objects" + addr);
  CHECK(contains(row_of(objects.output, node["object"]), "memory"));
  // Sizes in human units (the 2^16 doubles observed_node put).
  CHECK(contains(row_of(objects.output, node["object"]), "512.0 KiB"));
  auto nodes = run_manta("list nodes" + addr);
  CHECK(contains(nodes.output, "driver"));
  CHECK(contains(nodes.output, "CPU"));

  auto status = run_manta("status --dashboard=" + node.address());
  CHECK(status.status == 0);
  CHECK(contains(status.output, "RUNNING=1"));
  CHECK(contains(status.output, "PENDING_ARGS=1"));
  CAPTURE(status.output);
  CHECK(contains(status.output, "iB of ")); // bytes in memory and budget in KiB/MiB/GiB

  auto memory = run_manta("memory" + addr);
  CHECK(contains(memory.output, node["object"]));
  CHECK(contains(memory.output, "std::vector<double"));

  auto trace_path = rd.dir + "/trace.json";
  auto tl = run_manta("timeline -o " + trace_path + addr);
  CHECK(tl.status == 0);
  CHECK(contains(tl.output, "wrote"));
  {
    std::ifstream in{trace_path};
    std::stringstream text;
    text << in.rdbuf();
    auto events = json::parse(text.str()).as_object().at("traceEvents").as_array();
    CHECK(events.size() > 10);
  }
  std::remove(trace_path.c_str());

  auto why = run_manta("why " + node["pending"] + addr);
  CHECK(why.status == 0);
  CHECK(contains(why.output, "waits for its arguments"));
  CHECK(contains(why.output, node["blocked"]));
  CHECK(contains(why.output, "runs on executor-"));

  auto bad = run_manta("list everything" + addr);
  CHECK(bad.status == 2);
  auto nowhere = run_manta("list tasks --address=127.0.0.1:1");
  CHECK(nowhere.status == 1);
  CHECK(contains(nowhere.output, "cannot GET"));
}

TEST_CASE("manta list placement-groups shows groups, their bundles and where they sit") {
  live_node live;
  auto& [rd, node, addr] = live;
  auto table = run_manta("list placement-groups" + addr);
  REQUIRE(table.status == 0);
  auto row = row_of(table.output, "observed");
  CAPTURE(table.output);
  CHECK(contains(row, "STRICT_PACK"));
  CHECK(contains(row, "CREATED"));
  CHECK(contains(row, "0 {CPU: ")); // bundle 0 and what it holds (the amount: below)
  CHECK(contains(row, "} node-"));   // and the node it sits on
  auto listed = run_manta("list placement-groups --format=json" + addr);
  REQUIRE(listed.status == 0);
  auto groups = json::parse(listed.output).as_array();
  REQUIRE(groups.size() == 1);
  auto& g = groups[0].as_object();
  CHECK(g.at("name").as_string() == "observed");
  auto& bundle = g.at("bundles").as_array().at(0).as_object();
  CHECK(bundle.at("resources").as_object().at("CPU").to_number<double>() == 0.5);
  CHECK(std::string{bundle.at("node").as_string()}.rfind("node-", 0) == 0);
  auto removed = run_manta("list placement-groups --filter state=REMOVED --format=json" + addr);
  CHECK(json::parse(removed.output).as_array().empty());
}

TEST_CASE("the endpoint serves /metrics, the dashboard page and clear errors") {
  private_runtime_dir rd;
  observed_node node;
  auto metrics = manta::tools::http_get(node.address(), "/metrics");
  REQUIRE(metrics.error.empty());
  CHECK(metrics.status == 200);
  CHECK(contains(metrics.body, "manta_tasks{state=\"RUNNING\"} 1"));
  CHECK(contains(metrics.body, "manta_actors{state=\"ALIVE\"} 1"));
  CHECK(contains(metrics.body, "manta_task_duration_seconds_count{name=\"add_one\"} 10"));

  auto page = manta::tools::http_get(node.address(), "/");
  CHECK(page.status == 200);
  CHECK(contains(page.body, "<title>Manta dashboard</title>"));
  CHECK(manta::tools::http_get(node.address(), "/dashboard.js").status == 200);
  CHECK(manta::tools::http_get(node.address(), "/../meson.build").status == 404);
  CHECK(manta::tools::http_get(node.address(), "/api/nothing").status == 404);
  CHECK(manta::tools::http_get(node.address(), "/api/why?id=xyz").status == 400);
  auto bad_filter = manta::tools::http_get(node.address(), "/api/tasks?limit=x");
  CHECK(bad_filter.status == 400);
}

TEST_CASE("the page is compiled into the library; MANTA_DASHBOARD_DIR serves a folder instead") {
  using manta::actors::asset;
  ::unsetenv("MANTA_DASHBOARD_DIR");
  CHECK(manta::actors::dashboard::default_asset_dir().empty());
  // The embedded copy is the source tree's file, byte for byte.
  std::ifstream in{std::string{MANTA_SOURCE_ROOT} + "/tools/dashboard/dashboard.js",
                   std::ios::binary};
  std::stringstream js;
  js << in.rdbuf();
  REQUIRE(js.str().size() > 100);
  auto embedded = asset("/dashboard.js", "");
  CHECK(embedded.status == 200);
  CHECK(embedded.content_type == "text/javascript; charset=utf-8");
  CHECK(embedded.body == js.str());
  CHECK(contains(asset("/", "").body, "<title>Manta dashboard</title>"));
  CHECK(asset("/nothing.html", "").status == 404);
  CHECK(asset("/../meson.build", "").status == 404);

  char tmpl[] = "/tmp/manta-dashboard-dir-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::ofstream{dir + "/index.html"} << "<p>edited page</p>";
  ::setenv("MANTA_DASHBOARD_DIR", dir.c_str(), 1);
  CHECK(manta::actors::dashboard::default_asset_dir() == dir);
  CHECK(asset("/", dir).body == "<p>edited page</p>");
  CHECK(asset("/dashboard.js", dir).status == 404);
  ::unsetenv("MANTA_DASHBOARD_DIR");
  std::remove((dir + "/index.html").c_str());
  ::rmdir(dir.c_str());
}
