// Prometheus metrics of a node and of a whole cluster (docs/observability.md,
// "Metrics" and "Cluster metrics"): what a single node process serves and
// what the head of a local cluster serves pass `promtool check metrics`
// (Debian's prometheus package; skipped with exit 77 where it is missing),
// the process_* metrics hold sane values, the head's aggregate names every
// member, and its service-discovery endpoint lists every member's own
// /metrics. This binary is also the cluster's head and worker
// (tests/cluster_main.hpp); the single node is tests/observed_node.

#include "tests/cluster_checks.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/observed_node.hpp"
#include "tools/http_client.hpp"

#include "manta/dashboard/head_metrics.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <boost/json/src.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Counts in the worker's own metrics, from task code.
int handle(int x) {
  manta::metrics::counter{"app_handled", "Items handled by handle()"}.inc();
  manta::metrics::gauge{"app_last_item", "The last item handled"}.set(x);
  return x;
}

MANTA_REMOTE(handle);

bool have_promtool() {
  return std::system("command -v promtool >/dev/null 2>&1") == 0;
}

/// `promtool check metrics` on `text`: its exit status and what it printed
/// (nothing when the text passes).
std::pair<int, std::string> promtool(const std::string& text) {
  char path[] = "/tmp/manta-metrics-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream{path} << text;
  std::string cmd = std::string{"promtool check metrics < "} + path + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p))
    out.append(buf, n);
  int status = ::pclose(p);
  std::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// Checks `text` with promtool, naming `what` when it fails.
void check_passes(const std::string& text, const std::string& what) {
  auto [rc, out] = promtool(text);
  INFO(what << ": promtool said: " << out);
  CHECK(rc == 0);
  CHECK(out.empty());
}

/// Sample ("name{labels}") -> value, from the text format.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

/// The value of `sample`, failing the test (with the text's size) if absent.
double at(const std::map<std::string, double>& m, const std::string& sample) {
  INFO("sample " << sample << " among " << m.size());
  REQUIRE(m.count(sample) == 1);
  return m.at(sample);
}

/// The process metrics of one process are sane: `labels` is "" or
/// `node="node-1"` (the head's aggregate).
void check_process(const std::map<std::string, double>& m, const std::string& labels) {
  auto s = [&](const char* name) {
    return at(m, labels.empty() ? std::string{name} : std::string{name} + "{" + labels + "}");
  };
  double rss = s("process_resident_memory_bytes");
  CHECK(rss > 1e6); // a running C++ node holds megabytes
  CHECK(s("process_virtual_memory_bytes") >= rss);
  CHECK(s("process_threads") >= 1);
  CHECK(s("process_open_fds") >= 3);
  CHECK(s("process_max_fds") >= s("process_open_fds"));
  CHECK(s("process_cpu_seconds_total") >= 0);
  double start = s("process_start_time_seconds");
  double now = static_cast<double>(std::time(nullptr));
  CHECK(start <= now + 2); // clock ticks round; btime is whole seconds
  CHECK(start > now - 600);  // started by this test
}

/// Every metric the shipped Grafana dashboard queries (deploy/grafana/).
std::set<std::string> grafana_metrics() {
  auto json = manta_test::read_all(std::string{MANTA_SOURCE_ROOT} + "/deploy/grafana/manta.json");
  REQUIRE(!json.empty());
  std::set<std::string> out;
  std::regex name{"\\b(manta|process)_[a-z_]+"};
  for (std::sregex_iterator it{json.begin(), json.end(), name}, end; it != end; ++it)
    out.insert(it->str());
  return out;
}

std::string get_ok(const std::string& address, const std::string& target) {
  auto r = manta::tools::http_get(address, target);
  INFO(address << target << ": " << r.error << " " << r.body.substr(0, 300));
  REQUIRE(r.error.empty());
  REQUIRE(r.status == 200);
  return r.body;
}

} // namespace

TEST_CASE("the head labels each member's samples with its node") {
  using manta::actors::with_node_label;
  CHECK(with_node_label("up 1", "node-1") == "up{node=\"node-1\"} 1");
  CHECK(with_node_label("a_bucket{le=\"+Inf\",name=\"f\"} 3", "node-2")
        == "a_bucket{node=\"node-2\",le=\"+Inf\",name=\"f\"} 3");
  // A label of its own named node (a user's tag) is kept as exported_node;
  // quotes, braces and commas inside values stay as they were escaped.
  CHECK(with_node_label("x{node=\"a\\\"},b\",z=\"\"} 2", "node-3")
        == "x{node=\"node-3\",exported_node=\"a\\\"},b\",z=\"\"} 2");
  CHECK(with_node_label("x{le=\"1\" 2", "node-1").empty()); // unterminated
  CHECK(with_node_label("{a=\"1\"} 2", "node-1").empty());  // no name
}

TEST_CASE("a single node's /metrics passes promtool and reports its process") {
  observed_node node; // a running task, a waiting one, an actor, an object
  auto text = get_ok(node.address(), "/metrics");
  check_passes(text, "the node's /metrics");
  auto m = samples(text);
  check_process(m, "");
  CHECK(at(m, "manta_tasks{state=\"RUNNING\"}") == 1);
  CHECK(at(m, "manta_resources_capacity{resource=\"CPU\"}") > 0);
  CHECK(m.count("manta_resources_total{resource=\"CPU\"}") == 0); // renamed: a gauge
}

TEST_CASE("the head serves every member's metrics and lists their targets") {
  manta::local_cluster c;
  auto worker_pid = c.add_worker(2, "", {"--dashboard-port=0"});
  manta::init_options opts;
  opts.dashboard_port = 0;
  c.join(0, opts);
  std::vector<manta::object_ref<int>> refs;
  for (int i = 0; i < 10; ++i)
    refs.push_back(manta::task(handle).remote(i));
  for (auto& r : refs)
    manta::get(r, 10s);
  auto worker = "node-" + std::to_string(manta_test::sole_worker_node());
  auto driver = "node-" + std::to_string(manta::current_node());
  auto label = [](const std::string& node) { return "node=\"" + node + "\""; };

  // Every member in the aggregate, the head's own process too, and each
  // member's samples labelled with it. The worker counts its tasks' ends
  // after sealing their results: wait for the last.
  std::string text;
  std::map<std::string, double> m;
  auto finished = "manta_tasks_ended_total{" + label(worker) + ",state=\"FINISHED\"}";
  for (auto until = steady::now() + 10s; steady::now() < until; std::this_thread::sleep_for(20ms)) {
    text = get_ok(c.dashboard_address(), "/metrics");
    m = samples(text);
    if (m.count(finished) == 1 && m.at(finished) >= 10)
      break;
  }
  check_passes(text, "the head's /metrics");
  CHECK(at(m, finished) >= 10); // and the where_it_ran probes of worker_nodes
  check_process(m, label("head"));
  check_process(m, label(worker));
  check_process(m, label(driver));
  CHECK(at(m, "manta_node_up{" + label(worker) + ",role=\"worker\"}") == 1);
  CHECK(at(m, "manta_node_up{" + label(driver) + ",role=\"driver\"}") == 1);
  CHECK(at(m, "manta_resources_capacity{" + label(worker) + ",resource=\"CPU\"}") == 2);
  CHECK(at(m, "app_handled_total{" + label(worker) + "}") == 10); // "_total" added
  CHECK(at(m, "app_last_item{" + label(worker) + "}") >= 0);
  CHECK(at(m, "manta_task_duration_seconds_count{" + label(worker) + ",name=\"handle\"}") == 10);
  CHECK(text.find("# TYPE process_threads gauge") == text.rfind("# TYPE process_threads gauge"));
  auto queried = grafana_metrics();
  CHECK(queried.size() >= 10);
  for (auto& name : queried) { // the dashboard's names are the real ones
    INFO("the Grafana dashboard queries " << name);
    CHECK((text.find("\n" + name + "{") != std::string::npos
           || text.find("# TYPE " + name + " histogram") != std::string::npos));
  }

  // Service discovery: each member's own /metrics, which passes too.
  auto sd = boost::json::parse(get_ok(c.dashboard_address(), "/api/prometheus_sd"));
  std::map<std::string, std::string> targets; // node -> address
  for (auto& group : sd.as_array()) {
    auto& g = group.as_object();
    REQUIRE(g.at("targets").as_array().size() == 1);
    targets[boost::json::value_to<std::string>(g.at("labels").at("node"))] =
      boost::json::value_to<std::string>(g.at("targets").at(0));
  }
  CHECK(targets.size() == 2);
  REQUIRE(targets.count(worker) == 1);
  REQUIRE(targets.count(driver) == 1);
  CHECK("http://" + targets[driver] + "/" == manta::dashboard_url());
  auto own = get_ok(targets[worker], "/metrics");
  check_passes(own, "the worker's own /metrics");
  CHECK(at(samples(own), "app_handled_total") == 10);

  // A member that left shows as down; the text stays valid.
  c.kill_worker(worker_pid, 2);
  auto down = "manta_node_up{" + label(worker) + ",role=\"worker\"}";
  for (auto until = steady::now() + 10s; steady::now() < until; std::this_thread::sleep_for(20ms)) {
    text = get_ok(c.dashboard_address(), "/metrics");
    m = samples(text);
    if (m.count(down) == 1 && m.at(down) == 0)
      break;
  }
  CHECK(at(m, down) == 0);
  CHECK(m.count("process_threads{" + label(worker) + "}") == 0);
  check_passes(text, "the head's /metrics without the worker");
  manta::shutdown();
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv, [](doctest::Context&) {
    if (!have_promtool()) {
      std::printf("SKIP: promtool is not installed (Debian package prometheus; "
                  "tools/setup.sh installs it)\n");
      std::exit(77);
    }
  });
}
