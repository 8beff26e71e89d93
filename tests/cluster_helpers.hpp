#pragma once

// Helpers shared by the multi-process tests: which node each worker process
// is, a worker's node manager reached as a peer would, child exit codes and
// log files.

#include <manta/cluster/cluster.hpp>
#include <manta/core/runtime.hpp>
#include <manta/net/transport.hpp>
#include <manta/net/wire.hpp>
#include <manta/manta.hpp>

#include "actors/cluster_atoms.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace manta_test {

/// Waits until the cluster offers `cpus` CPUs in all (its workers have
/// connected), for at most `within`; false if it did not.
inline bool wait_for_cluster_cpus(double cpus, std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  while (manta::cluster_resources()["CPU"] < cpus) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

/// Which node and process ran it.
inline std::pair<int, int> where_it_ran() {
  return {manta::current_node(), static_cast<int>(::getpid())};
}

MANTA_REMOTE(where_it_ran);

/// The node id of each of `workers` worker processes (by pid), learned from
/// tasks spread over the cluster.
inline std::map<int, manta::node_id> worker_nodes(size_t workers) {
  std::map<int, manta::node_id> out;
  for (int i = 0; i < 100 && out.size() < workers; ++i) {
    auto [node, pid] = manta::get(manta::task(where_it_ran).spread().remote(),
                                  std::chrono::seconds(10));
    if (pid != ::getpid())
      out[pid] = static_cast<manta::node_id>(node);
  }
  return out;
}

/// The node manager of the cluster's only worker, connected to directly,
/// as any process on the network could after asking the head.
inline std::optional<caf::actor> only_worker_manager(const std::string& token) {
  auto& rt = manta::detail::runtime::require("only_worker_manager");
  auto& sys = rt.system();
  caf::scoped_actor self{sys};
  manta::detail::wire::cluster_view view;
  self
    ->request(rt.cluster_link()->head(), std::chrono::seconds(5), manta::actors::nodes_atom::value,
              token)
    .receive(
      [&](const manta::detail::wire::bytes& b) {
        if (!manta::detail::wire::decode(b, view).empty())
          view.nodes.clear();
      },
      [&](caf::error&) { view.nodes.clear(); });
  if (view.nodes.size() != 1)
    return std::nullopt;
  auto manager = manta::detail::connect(sys, view.nodes[0].host, view.nodes[0].port,
                                        std::chrono::seconds(10));
  if (!manager)
    return std::nullopt;
  return *manager;
}

/// The only worker's "HOST:PORT" as this driver knows it, or "" unless
/// the driver knows exactly one.
inline std::string only_worker_address() {
  auto workers = manta::detail::runtime::require("only_worker_address").cluster_link()->workers();
  if (workers.size() != 1)
    return {};
  return workers[0].host + ":" + std::to_string(workers[0].port);
}

/// Waits for a child to exit; its exit status, or -1 on a signal or after
/// `limit`.
inline int exit_status(pid_t pid, std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

/// Waits (up to `limit`) for `path` to exist, the signal one process gives
/// another with `touch`; false if it did not appear by then.
inline bool appears(const std::string& path, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!std::filesystem::exists(path)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

/// A fresh, empty folder for one case's files: `suite`'s, named `name`,
/// with this process's id (so runs side by side never meet).
inline std::string scratch_dir(const std::string& suite, const std::string& name) {
  auto dir = std::filesystem::temp_directory_path()
             / ("manta_" + suite + "_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

/// Creates the file at `path`: a signal to a process waiting in `appears`.
inline void touch(const std::string& path) {
  std::ofstream{path} << "x";
}

/// The first word of the file at `path` (empty if there is none).
inline std::string read_word(const std::string& path) {
  std::string out;
  std::ifstream{path} >> out;
  return out;
}

/// Options that join, as a second driver with `cpus` CPUs, the cluster whose
/// runtime folder is `dir` (its head's address and token are there).
inline manta::init_options second_driver_options(const std::string& dir, double cpus) {
  manta::init_options opts;
  opts.address = read_word(dir + "/head.address");
  opts.token = read_word(dir + "/head.token");
  opts.num_cpus = cpus;
  return opts;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// How many times `what` stands in `text` (a log's lines of one kind).
inline size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

/// Waits (up to `limit`) until the file at `path` holds `text`; false if it
/// did not by then.
inline bool wait_for_text(const std::string& path, const std::string& text,
                          std::chrono::milliseconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < until;) {
    if (read_all(path).find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

/// Waits (up to `limit`) until this driver has sent each of the tasks whose
/// results are `ids` to a worker (its record names another node), as a test
/// must before it kills or stops that worker; false if one was not sent by
/// then. A condition, not a fixed sleep: a loaded machine may take longer.
inline bool wait_until_sent(const std::vector<manta::object_id>& ids,
                            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto here = manta::detail::runtime::node_name();
  for (auto until = std::chrono::steady_clock::now() + limit;;) {
    size_t sent = 0;
    for (auto& t : manta::list_tasks())
      for (auto& id : ids)
        if (t.id == id && t.node != here)
          ++sent;
    if (sent == ids.size())
      return true;
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

} // namespace manta_test
