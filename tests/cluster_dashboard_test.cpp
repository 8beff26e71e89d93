// The head's dashboard shows the whole cluster: this binary is the head, the
// worker and the driver (tests/cluster_main.hpp). The driver leaves a task
// running on the worker, a named actor there and an object of its own
// (tests/observed_cluster.hpp), and the head's JSON endpoints show each with
// its node; nodes that die or hang show as such, in bounded time.

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"
#include "tests/observed_cluster.hpp"
#include "tools/http_client.hpp"

#include "manta/cluster/node_state.hpp"

#include <manta/local_cluster.hpp>
#include <manta/manta.hpp>

#include <boost/json/src.hpp>

#include <chrono>
#include <csignal>
#include <thread>
#include <string>

namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// GET `target` from the head's dashboard, parsed; fails the test on an
/// HTTP error.
json::value get_json(const manta::local_cluster& c, const std::string& target) {
  auto r = manta::tools::http_get(c.dashboard_address(), target);
  INFO(target << ": " << r.error << " " << r.body.substr(0, 300));
  REQUIRE(r.error.empty());
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

/// The element of the array `rows` whose `key` is `value`, or null.
const json::object* row(const json::value& rows, const char* key, const std::string& value) {
  for (auto& x : rows.as_array())
    if (auto* o = x.if_object();
        o && o->contains(key) && (*o).at(key).is_string() && (*o).at(key).as_string() == value)
      return o;
  return nullptr;
}

/// Waits (up to 2 s) until `pid` is stopped: SIGSTOP reaches every thread
/// of a process asynchronously.
bool stopped(pid_t pid) {
  for (auto until = steady::now() + 2s; steady::now() < until; std::this_thread::sleep_for(1ms)) {
    auto stat = manta_test::read_all("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')'); // "pid (comm) S ...": the state follows the name
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T')
      return true;
  }
  return false;
}

std::string text(const json::object& o, const char* key) {
  return json::value_to<std::string>(o.at(key));
}

} // namespace

TEST_CASE("the head's dashboard shows every node's tasks, actors and objects with their node") {
  manta::local_cluster c;
  REQUIRE_FALSE(c.dashboard_address().empty());
  c.add_worker(2);
  c.join(0);
  manta_test::observed_workload w{c};
  auto driver = manta::detail::runtime::node_name();

  // The task runs on the worker: the head shows it there, once (the
  // driver's own record of it is left to the worker).
  auto held = manta::to_string(w.held());
  auto tasks = get_json(c, "/api/tasks?state=RUNNING");
  auto* t = row(tasks, "id", held);
  REQUIRE(t != nullptr);
  CHECK(text(*t, "name") == "held_step");
  CHECK(text(*t, "state") == "RUNNING");
  CHECK(text(*t, "node") == w.worker());
  CHECK(text(*t, "thread").rfind("executor-", 0) == 0);
  size_t copies = 0;
  auto all = get_json(c, "/api/tasks");
  for (auto& x : all.as_array())
    copies += text(x.as_object(), "id") == held ? 1 : 0;
  CHECK(copies == 1);
  // So does the actor's call: once, on the worker that ran it (the driver's
  // record of it names that node too).
  size_t calls = 0;
  for (auto& x : all.as_array()) {
    if (text(x.as_object(), "name") != "keeper.store")
      continue;
    ++calls;
    CHECK(text(x.as_object(), "node") == w.worker());
    CHECK(text(x.as_object(), "state") == "FINISHED");
  }
  CHECK(calls == 1);
  for (auto& x : tasks.as_array()) // the filter went to every node
    CHECK(text(x.as_object(), "state") == "RUNNING");

  auto actors = get_json(c, "/api/actors");
  auto* a = row(actors, "name", "keeper");
  REQUIRE(a != nullptr);
  CHECK(text(*a, "state") == "ALIVE");
  CHECK(text(*a, "node") == w.worker());
  CHECK(actors.as_array().size() == 1);

  auto objects = get_json(c, "/api/objects");
  auto* o = row(objects, "id", manta::to_string(w.object()));
  REQUIRE(o != nullptr);
  CHECK(text(*o, "node") == driver);
  CHECK(text(*o, "location") == "memory");
  CHECK(o->at("size_bytes").as_int64() >= int64_t{(1 << 16) * 8});

  auto nodes = get_json(c, "/api/nodes");
  CHECK(nodes.as_array().size() == 3);
  auto* head = row(nodes, "role", "head");
  REQUIRE(head != nullptr);
  auto* worker = row(nodes, "name", w.worker());
  REQUIRE(worker != nullptr);
  CHECK(text(*worker, "role") == "worker");
  CHECK(text(*worker, "state") == "ALIVE");
  CHECK(worker->at("total").at("CPU").to_number<double>() == 2);
  CHECK(worker->at("available").at("CPU").to_number<double>() == 1); // the held task's
  auto* d = row(nodes, "name", driver);
  REQUIRE(d != nullptr);
  CHECK(text(*d, "role") == "driver");

  auto status = get_json(c, "/api/status");
  CHECK(status.at("cluster").as_bool());
  CHECK(status.at("tasks").at("RUNNING").as_int64() == 1);
  CHECK(status.at("actors").as_int64() == 1);
  CHECK(status.at("objects").as_int64() >= 1);
  CHECK(status.at("nodes").as_array().size() == 3);

  auto memory = get_json(c, "/api/memory");
  CHECK(row(memory.at("objects"), "id", manta::to_string(w.object())) != nullptr);
  auto memory_text = json::value_to<std::string>(memory.at("text"));
  CHECK(memory_text.find("== " + driver + " (driver) ==") != std::string::npos);
  CHECK(memory_text.find("== " + w.worker() + " (worker) ==") != std::string::npos);

  // One trace: the worker is a process of its own, the held task a slice on it.
  auto trace = get_json(c, "/api/timeline");
  bool named = false, slice = false;
  for (auto& e : trace.at("traceEvents").as_array()) {
    auto& ev = e.as_object();
    if (text(ev, "ph") == "M" && text(ev, "name") == "process_name")
      named = named || text(ev.at("args").as_object(), "name") == w.worker();
    if (text(ev, "ph") == "X" && text(ev, "name") == "held_step")
      slice = slice || text(ev.at("args").as_object(), "id") == held;
  }
  CHECK(named);
  CHECK(slice);

  // The page itself, and what only a node can answer.
  auto page = manta::tools::http_get(c.dashboard_address(), "/");
  CHECK(page.status == 200);
  CHECK(page.body.find("dashboard.js") != std::string::npos);
  CHECK(manta::tools::http_get(c.dashboard_address(), "/api/why?id=" + held).status == 404);
  CHECK(manta::tools::http_get(c.dashboard_address(), "/api/nope").status == 404);

  // The detail page's /api/task and the logs view's /api/log_lines, which
  // every member answers for itself: the held task from the worker that
  // runs it (its record there has its thread), keeper's printed line found
  // by a search on every node, a search nothing matches finds nothing.
  auto detail = get_json(c, "/api/task?id=" + held);
  CHECK(detail.at("ran_here").as_bool());
  CHECK(text(detail.as_object(), "node") == w.worker());
  CHECK(text(detail.at("task").as_object(), "state") == "RUNNING");
  CHECK(text(detail.at("task").as_object(), "name") == "held_step");
  CHECK(detail.at("chain").as_array().empty());
  CHECK(text(detail.as_object(), "why").find(held) != std::string::npos);
  CHECK(manta::tools::http_get(c.dashboard_address(), "/api/task?id=00000000deadbeef").status
        == 404);
  CHECK(manta::tools::http_get(c.dashboard_address(), "/api/task?id=nope").status == 400);
  auto found = get_json(c, "/api/log_lines?node=&search=keeper%20stored&tail=50");
  size_t lines = 0;
  bool from_worker = false;
  for (auto& answer : found.at("answers").as_array()) {
    for (auto& l : answer.at("lines").as_array()) {
      ++lines;
      CHECK(text(l.as_object(), "line").find("keeper stored 5") != std::string::npos);
      from_worker = from_worker || text(answer.as_object(), "node") == w.worker();
    }
  }
  CHECK(from_worker);
  auto none = get_json(c, "/api/log_lines?node=&search=no%20line%20says%20this");
  for (auto& answer : none.at("answers").as_array())
    CHECK(answer.at("lines").as_array().empty());
  CHECK(lines >= 1);
  CHECK(manta::tools::http_get(c.dashboard_address(), "/api/tasks?limit=x").status == 400);

  // The graphs' samples: the driver's and the worker's, and their sum,
  // where the held task runs once (on the worker, not on the driver too).
  auto series_since = [&](int64_t since_ms) {
    for (auto until = steady::now() + 10s;; std::this_thread::sleep_for(100ms)) {
      auto doc = get_json(c, "/api/series");
      auto& nodes = doc.at("nodes").as_array();
      bool fresh = nodes.size() == 2;
      for (auto& n : nodes) {
        auto& samples = n.at("samples").as_array();
        fresh = fresh && !samples.empty() && samples.back().at("time_ms").as_int64() >= since_ms;
      }
      if (fresh)
        return doc;
      REQUIRE_MESSAGE(steady::now() < until, "no fresh samples of both nodes in 10 s");
    }
  };
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  };
  auto held_series = series_since(now_ms());
  auto last = [](const json::value& samples) -> auto& { return samples.as_array().back(); };
  CHECK(last(held_series.at("cluster")).at("running").as_int64() == 1);
  for (auto& n : held_series.at("nodes").as_array())
    CHECK(last(n.at("samples")).at("running").as_int64()
          == (text(n.as_object(), "name") == w.worker() ? 1 : 0));
  auto finished_before = last(held_series.at("cluster")).at("finished").as_int64();

  CHECK(w.release() == 41);
  // Then it counts once as finished, on the worker (within 10 s: a sample a
  // second).
  for (auto until = steady::now() + 10s;; std::this_thread::sleep_for(100ms)) {
    auto doc = series_since(0);
    auto& sum = last(doc.at("cluster"));
    if (sum.at("running").as_int64() == 0 && sum.at("finished").as_int64() == finished_before + 1)
      break;
    REQUIRE_MESSAGE(steady::now() < until, "the cluster's samples read " << sum);
  }
  auto after = get_json(c, "/api/tasks?state=FINISHED&name=held_step");
  auto* done = row(after, "id", held);
  REQUIRE(done != nullptr);
  CHECK(text(*done, "node") == w.worker());
}

TEST_CASE("a node answers the head's state query only with the cluster token") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0);
  auto manager = manta_test::only_worker_manager(c.token());
  REQUIRE(manager);
  auto& sys = manta::detail::runtime::require("test").system();
  caf::scoped_actor self{sys};
  manta::detail::state_query q;
  q.sections = manta::detail::state_query::tasks | manta::detail::state_query::objects;
  auto ask = [&](const std::string& token) {
    std::string failure;
    manta::detail::node_state s;
    self
      ->request(*manager, 5s, manta::actors::state_atom::value, token,
                manta::detail::wire::encode(q))
      .receive(
        [&](const manta::detail::wire::bytes& b) { failure = manta::detail::wire::decode(b, s); },
        [&](caf::error& err) { failure = "error: " + caf::to_string(err); });
    return std::make_pair(failure, s);
  };
  auto [ok, s] = ask(c.token());
  REQUIRE(ok.empty());
  CHECK(s.role == "worker");
  CHECK(s.total.at("CPU") == 1);
  CHECK(s.name.rfind("node-", 0) == 0);
  // Last: a refused peer is disconnected too (cluster_security_test).
  auto [refused, nothing] = ask("not the token");
  CHECK(refused.find("wrong cluster token") != std::string::npos);
}

TEST_CASE("a dead node shows as DEAD and a hung one as NOT_RESPONDING, without holding the page") {
  manta::local_cluster c;
  auto doomed = c.add_worker(1);
  auto hung = c.add_worker(1);
  c.join(0);
  json::value nodes;
  auto state_of = [&](pid_t pid) {
    for (auto& x : nodes.as_array()) {
      auto name = text(x.as_object(), "name");
      if (name.find("(pid " + std::to_string(pid) + ")") != std::string::npos)
        return text(x.as_object(), "state");
    }
    return std::string{"absent"};
  };
  nodes = get_json(c, "/api/nodes");
  CHECK(state_of(doomed) == "ALIVE");
  c.kill_worker(doomed, 1);
  // The head hears of it when the connection drops (about when the driver does).
  for (auto until = steady::now() + 5s; steady::now() < until; std::this_thread::sleep_for(10ms))
    if (nodes = get_json(c, "/api/nodes"); state_of(doomed) == "DEAD")
      break;
  CHECK(state_of(doomed) == "DEAD");
  ::kill(hung, SIGSTOP); // its connection stays open: only the timeout tells
  REQUIRE(stopped(hung));
  auto t0 = steady::now();
  nodes = get_json(c, "/api/nodes");
  auto took = steady::now() - t0;
  ::kill(hung, SIGCONT);
  MESSAGE("/api/nodes with a hung node took "
          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < 3s);
  CHECK(state_of(doomed) == "DEAD");
  CHECK(state_of(hung) == "NOT_RESPONDING");
  CHECK(state_of(::getpid()) == "ALIVE");
  // The other endpoints still answer, with what the live nodes said.
  auto status = get_json(c, "/api/status");
  CHECK(status.at("nodes").as_array().size() == 4);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
