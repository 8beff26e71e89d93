#pragma once

// The head-replacement case (docs/cluster.md, "Head fault tolerance"), as a
// body that any harness runs: the caller provides the processes (on
// loopback with local_cluster here; inside network namespaces later) through
// `head_replacement_hooks`, and this process is the driver, already joined
// with the head store and two one-CPU workers. It creates a named detached
// actor, runs a workload, kills the head with -9 while it runs, has a new
// head started from the store (elsewhere), and checks: every result
// correct and no task run twice, the workers and the driver rejoin the new
// head, the new head recovered the members and the named actor from the
// store, the actor still answers by name, and a worker started afterwards
// joins it under a fresh index. Returns the times it took.

#include "actors/cluster_atoms.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/core/job_id.hpp"
#include "manta/core/runtime.hpp"
#include "manta/net/transport.hpp"
#include "tests/head_workload.hpp"

#include <caf/all.hpp>

#include <functional>
#include <optional>
#include <set>

namespace manta_test {

struct head_replacement_hooks {
  /// The head's "HOST:PORT" now.
  std::function<std::string()> head_address;
  /// What the head wrote to its stderr so far.
  std::function<std::string()> head_log;
  /// Kills the head with SIGKILL and reaps it.
  std::function<void()> kill_head;
  /// Starts a new head with the same store and token (at another address
  /// or port, to show that members follow it) and returns once it listens.
  std::function<void()> start_head;
  /// Starts a one-CPU worker given only the store; returns its pid.
  std::function<pid_t()> add_worker;
  /// The stderr logs of the two workers started before.
  std::vector<std::string> worker_logs;
  /// A folder every process can write (the run log).
  std::string dir;
  std::string token;
};

struct head_replacement_figures {
  /// From the kill to: the new head listening, every worker back in it,
  /// the first result of a task on the worker that joined it afterwards.
  double head_up_s = 0, workers_back_s = 0, first_result_s = 0;
  size_t ran_at_kill = 0;
};

/// What the head at `address` knows of the named actor, or nullopt (asked
/// as a driver would, with the token).
inline std::optional<manta::detail::named_actor_record>
head_knows(const std::string& address, const std::string& token, const std::string& name) {
  auto& rt = manta::detail::runtime::require("head_knows");
  auto [host, port] = manta::detail::parse_address(address);
  auto head = manta::detail::connect(rt.system(), host, port, std::chrono::seconds(5));
  if (!head)
    return std::nullopt;
  caf::scoped_actor self{rt.system()};
  std::optional<manta::detail::named_actor_record> out;
  self
    ->request(*head, std::chrono::seconds(5), manta::actors::actor_find_atom::value, token,
              std::string{"default"}, name)
    .receive([&](const std::string& rec) { out = manta::detail::decode_actor(name, rec); },
             [&](caf::error&) {});
  return out;
}

/// The head at `address`'s string answer to `xs...` (asked with the
/// token, as `manta job` asks), or "" if none.
template <class... Ts>
std::string head_says(const std::string& address, Ts&&... xs) {
  auto& rt = manta::detail::runtime::require("head_says");
  auto [host, port] = manta::detail::parse_address(address);
  auto head = manta::detail::connect(rt.system(), host, port, std::chrono::seconds(5));
  if (!head)
    return {};
  caf::scoped_actor self{rt.system()};
  std::string out;
  self->request(*head, std::chrono::seconds(5), std::forward<Ts>(xs)...)
    .receive([&](const std::string& answer) { out = answer; }, [&](caf::error&) {});
  return out;
}

/// Waits (up to `limit`) until the head at `address` knows `name` on `node`.
inline bool head_knows_on(const std::string& address, const std::string& token,
                          const std::string& name, manta::node_id node,
                          std::chrono::seconds limit) {
  auto until = steady::now() + limit;
  while (steady::now() < until) {
    if (auto r = head_knows(address, token, name); r && r->node == node)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

inline head_replacement_figures run_head_replacement(const head_replacement_hooks& h, int n) {
  head_replacement_figures fig;
  auto nodes = worker_nodes(2);
  REQUIRE(nodes.size() == 2);
  auto keeper_node = nodes.begin()->second;
  auto keeper = manta::actor<tally>()
                  .name("keeper")
                  .lifetime_detached()
                  .node_affinity(keeper_node, true)
                  .max_restarts(-1)
                  .max_task_retries(-1)
                  .remote(int64_t{42});
  REQUIRE(manta::get(keeper.call(&tally::step).remote(int64_t{3}), std::chrono::seconds(10))
          == 42 * 1000003 + 9);
  auto old_address = h.head_address();
  REQUIRE(head_knows_on(old_address, h.token, "keeper", keeper_node, std::chrono::seconds(10)));

  auto log = h.dir + "/runs.log";
  workload w{n, log, std::prev(nodes.end())->second, 9, 3};
  fig.ran_at_kill = w.wait_for_a_fifth();
  h.kill_head();
  auto killed = steady::now();
  auto since = [&] { return std::chrono::duration<double>(steady::now() - killed).count(); };
  h.start_head();
  fig.head_up_s = since();
  auto new_address = h.head_address();
  CHECK(new_address != old_address);
  for (auto& l : h.worker_logs)
    CHECK(wait_for_line(l, "joined the head again", 1, std::chrono::seconds(20)));
  fig.workers_back_s = since();
  // It read them from the store: 2 workers and this driver, 1 named actor.
  CHECK(h.head_log().find("recovered 3 member(s) and 1 named actor(s)") != std::string::npos);
  // A worker given only the store joins the new head, which tells this
  // driver about it: the driver rejoined it too.
  auto late = h.add_worker();
  auto until = steady::now() + std::chrono::seconds(20);
  while (manta::cluster_resources()["CPU"] != 3 && steady::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(manta::cluster_resources()["CPU"] == 3);
  auto all = worker_nodes(3);
  REQUIRE(all.count(late) == 1);
  auto [node,
        pid] = manta::get(manta::task(where_it_ran).node_affinity(all.at(late), false).remote(),
                          std::chrono::seconds(10));
  fig.first_result_s = since();
  CHECK(pid == late);
  std::set<manta::node_id> old_nodes;
  for (auto& [p, id] : nodes)
    old_nodes.insert(id);
  CHECK(old_nodes.count(static_cast<manta::node_id>(node)) == 0); // a fresh index
  for (auto& [p, id] : nodes)
    CHECK(all.at(p) == id); // the same processes, the same indices

  // The work in flight at the kill completed, each task once.
  CHECK(w.wrong() == 0);
  CHECK(fig.ran_at_kill < static_cast<size_t>(n));
  CHECK(check_runs(log, n, 1) == 0);
  // The named detached actor answers by name, on the node it lived on, and
  // the new head knows where it is.
  auto found = manta::get_actor<tally>("keeper");
  CHECK(manta::get(found.call(&tally::step).remote(int64_t{5}), std::chrono::seconds(10))
        == 42 * 1000003 + 25);
  CHECK(manta::get(found.call(&tally::restarts).remote(), std::chrono::seconds(10)) == 0);
  // The job table came back from the store: this driver's job (rejoined)
  // is RUNNING there, and a new job gets an id the old head never gave.
  auto my_job = manta::detail::job_id();
  REQUIRE(my_job.rfind("job-", 0) == 0);
  auto table = head_says(new_address, manta::actors::jobs_atom::value, h.token);
  CHECK(table.find("{\"job_id\":\"" + my_job + "\",\"state\":\"RUNNING\"") != std::string::npos);
  auto fresh = head_says(new_address, manta::actors::job_new_atom::value, h.token,
                         std::string{"./check"}, std::string{"here"});
  REQUIRE(fresh.rfind("job-", 0) == 0);
  CHECK(std::stoi(fresh.substr(4)) > std::stoi(my_job.substr(4)));
  auto rec = head_knows(new_address, h.token, "keeper");
  REQUIRE(rec);
  CHECK(rec->node == keeper_node);
  CHECK(rec->detached);
  CHECK(rec->cls.find("tally") != std::string::npos);
  return fig;
}

} // namespace manta_test
