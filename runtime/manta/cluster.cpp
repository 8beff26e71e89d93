#include "manta/cluster.hpp"

#include "actors/cluster_registry.hpp"
#include "actors/cluster_atoms.hpp"
#include "manta/dashboard/dashboard.hpp"
#include "manta/dashboard/head_dashboard.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/core/backoff.hpp"
#include "manta/observe/log_sink.hpp"
#include "manta/cluster/node_address.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/cluster/node_argv.hpp"
#include "manta/core/caf_config.hpp"
#include "manta/core/runtime.hpp"
#include "manta/core/runtime_dir.hpp"
#include "manta/net/transport.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string_view>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace manta {

namespace {

std::atomic<bool> g_stop_requested{false};

extern "C" void on_stop_signal(int) {
  g_stop_requested.store(true);
}

void install_stop_handlers() {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
}

/// Writes `text` to `path` atomically (readers never see half a file), mode
/// 0600 (runtime_dir.hpp).
void write_file(const std::string& path, const std::string& text) {
  if (auto err = detail::write_private_file(path, text + "\n"); !err.empty())
    detail::log_line(log_level::error, "manta head: %s\n", err.c_str());
}

/// The head's dashboard: the page and JSON API for the whole cluster, its
/// state collected through the registry (head_dashboard.hpp).
std::unique_ptr<actors::dashboard>
start_head_dashboard(caf::actor_system& sys, const caf::actor& registry, const std::string& token,
                     const std::string& head_address, const std::string& host, uint16_t port) {
  auto collect = [&sys, registry, token](const detail::state_query& q) {
    actors::cluster_state_ptr out;
    caf::scoped_actor self{sys};
    self
      ->request(registry, actors::state_timeout + std::chrono::seconds(2),
                actors::state_atom::value, token, detail::wire::encode(q))
      .receive([&](actors::cluster_state_ptr& x) { out = std::move(x); }, [&](caf::error&) {});
    return out;
  };
  auto read_jobs = [&sys, registry, token] {
    std::string out;
    caf::scoped_actor self{sys};
    self->request(registry, actors::state_timeout, actors::jobs_atom::value, token)
      .receive([&](std::string& x) { out = std::move(x); }, [&](caf::error&) {});
    return out;
  };
  auto dir = actors::dashboard::default_asset_dir();
  return std::make_unique<actors::dashboard>(
    host, port, token, [dir, head_address, collect, read_jobs](std::string_view target) {
      return actors::head_route(target, dir, head_address, collect, read_jobs);
    });
}

} // namespace

bool is_cluster_process(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--manta-worker" || arg == "--manta-head")
      return true;
  }
  return false;
}

void detail::refuse_node_without_argv() {
  std::ifstream in{"/proc/self/cmdline", std::ios::binary};
  std::string arg;
  while (std::getline(in, arg, '\0'))
    if (arg == "--manta-worker" || arg == "--manta-head")
      throw invalid_argument_error(
        "this process was started as a Manta node (" + arg
        + " is on its command line) but called manta::init() without its command line, so it "
          "cannot become one; call manta::init(argc, argv) (or manta::worker_main(argc, argv)) "
          "first thing in main");
}

namespace {

/// Waits until the head goes away (false if told to stop first).
bool serve_while_head_lives(detail::runtime& rt) {
  caf::scoped_actor self{rt.system()};
  self->monitor(rt.cluster_link()->head());
  bool head_gone = false;
  while (!head_gone && !g_stop_requested.load())
    self->receive([&](caf::down_msg&) { head_gone = true; },
                  caf::after(std::chrono::milliseconds(100)) >> [] {});
  return head_gone;
}

/// The connection to the head closed: a cut or silent link, or the head
/// died. The node keeps serving the drivers connected to it and joins the
/// head again under its index, for up to `rejoin_window` (a head restarted
/// on its port with the cluster's token takes it back too). Returns whether
/// it did.
bool rejoin_head(detail::runtime& rt, const char* address) {
  auto* link = rt.cluster_link();
  auto window = detail::cluster::rejoin_window;
  detail::log_line(log_level::warning,
                   "manta: %s lost its connection to the head at %s; joining it again for up to "
                   "%lld s\n",
                   detail::runtime::node_name().c_str(), address,
                   static_cast<long long>(window.count()));
  auto deadline = std::chrono::steady_clock::now() + window;
  std::string why;
  int attempts = 0;
  while (!g_stop_requested.load() && std::chrono::steady_clock::now() < deadline) {
    // A pause before each try: the first one also lets a dying head's
    // sockets go (a connection that reaches one as it dies may never be
    // answered; each try is bounded by `rejoin_timeout`).
    std::this_thread::sleep_for(detail::backoff_delay(std::chrono::milliseconds(100), attempts,
                                                      std::chrono::milliseconds(1000)));
    ++attempts;
    why = link->rejoin();
    if (why.empty()) {
      detail::log_line(log_level::info, "manta: %s joined the head again after %d attempt(s)\n",
                       detail::runtime::node_name().c_str(), attempts);
      return true;
    }
  }
  if (!g_stop_requested.load())
    detail::log_line(
      log_level::error, "manta: %s leaves: the head did not take it back within %lld s (%s)\n",
      detail::runtime::node_name().c_str(), static_cast<long long>(window.count()), why.c_str());
  return false;
}

} // namespace

int worker_main(int argc, char** argv) {
  install_stop_handlers();
  try {
    auto cl = detail::parse_command_line(argc, argv);
    if (!cl.opts.address && !cl.opts.head_store) {
      detail::log_line(log_level::error, "manta worker: --address HOST:PORT (or MANTA_ADDRESS), or "
                                         "--head-store=redis://HOST:PORT/DB (MANTA_HEAD_STORE), is "
                                         "required\n");
      return 2;
    }
    detail::runtime::start(cl.opts, /*worker=*/true);
    auto& rt = detail::runtime::require("worker_main");
    auto* link = rt.cluster_link();
    detail::announce("manta: %s joined the cluster at %s (listening at %s%s)\n",
                     detail::runtime::node_name().c_str(), link->head_address().c_str(),
                     link->listen_address().c_str(),
                     link->advertised_address() == link->listen_address()
                       ? ""
                       : (", advertised as " + link->advertised_address()).c_str());
    // Serve until told to stop, or until the head is gone for good.
    while (!g_stop_requested.load() && serve_while_head_lives(rt)) {
      if (!rejoin_head(rt, link->head_address().c_str()))
        break;
    }
    shutdown();
    return 0;
  } catch (const std::exception& e) {
    detail::log_line(log_level::error, "manta worker: %s\n", e.what());
    return 1;
  }
}

int head_main(int argc, char** argv) {
  install_stop_handlers();
  try {
    auto cl = detail::parse_command_line(argc, argv);
    if (auto err = detail::check_tls(cl.opts.tls); !err.empty()) {
      detail::log_line(log_level::error, "manta head: %s\n", err.c_str());
      return 2;
    }
    // Where the registry listens and what its address file says
    // (--node-ip-address, checked when parsed); plain TCP off loopback only
    // on a network declared trusted.
    auto host = cl.opts.node_ip_address.value_or(detail::default_node_ip);
    try {
      detail::check_exposure("manta head", host, cl.opts.tls, cl.opts.trusted_network);
    } catch (const std::exception& e) {
      detail::log_line(log_level::error, "%s\n", e.what());
      return 2;
    }
    // With a head store: the state a killed head left there comes back
    // (docs/cluster.md, "Head fault tolerance"); a store that cannot be
    // reached or read stops the head here, saying so.
    actors::registry_recovery recovery;
    if (cl.opts.head_store) {
      try {
        recovery.store = std::make_shared<detail::head_store>(
          detail::parse_store_address("--head-store (MANTA_HEAD_STORE)", *cl.opts.head_store));
        recovery.next_index = recovery.store->next_index();
        recovery.members = recovery.store->nodes();
        recovery.named = recovery.store->actors();
        recovery.next_job = recovery.store->next_job();
        recovery.jobs = recovery.store->jobs();
      } catch (const std::exception& e) {
        detail::log_line(log_level::error, "manta head: %s\n", e.what());
        return 2;
      }
    }
    // The cluster token: given (--token / MANTA_TOKEN) or made here, and
    // written next to the address file, readable by this user only. The
    // cluster's TLS identity is made from it.
    auto token = cl.opts.token.value_or("");
    if (token.empty())
      token = detail::generate_token();
    auto cfg = detail::make_caf_config(1, /*networked=*/true, cl.opts.tls, token,
                                       cl.opts.connection_timeout);
    caf::actor_system sys{*cfg};
    auto slash = cl.address_file.rfind('/');
    auto dir = cl.address_file.empty()      ? detail::runtime_dir()
               : slash == std::string::npos ? std::string{"."}
                                            : cl.address_file.substr(0, slash);
    // Refused if another user could have planted it or files in it.
    if (auto err = detail::make_private_dir(dir); !err.empty()) {
      detail::log_line(log_level::error, "manta head: %s\n", err.c_str());
      return 1;
    }
    auto token_file = dir + "/head.token";
    if (auto err = detail::write_token_file(token_file, token); !err.empty()) {
      detail::log_line(log_level::error, "manta head: cannot write the cluster token: %s\n",
                       err.c_str());
      return 1;
    }
    auto store = recovery.store;
    auto registry = sys.spawn(actors::cluster_registry, token, std::move(recovery));
    // Reusing the address: a head restarted on its port (its workers join
    // it again) binds while the old head's connections linger.
    auto port = detail::publish(sys, registry, cl.port, host, /*reuse_address=*/true);
    if (!port) {
      detail::log_line(log_level::error, "manta head: cannot listen on %s port %u: %s\n",
                       host.c_str(), unsigned{cl.port}, sys.render(port.error()).c_str());
      caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
      return 1;
    }
    auto address = host + ":" + std::to_string(*port); // split at the last ':'
    auto file = cl.address_file.empty() ? dir + "/head.address" : cl.address_file;
    // Started after the address file is written: whoever waits for that
    // file finds the dashboard's file too (written first, like the token).
    std::unique_ptr<actors::dashboard> dashboard;
    auto dashboard_file = dir + "/head.dashboard";
    if (cl.opts.dashboard_port) {
      try {
        dashboard = start_head_dashboard(
          sys, registry, token, address,
          cl.opts.dashboard_host.value_or(actors::dashboard::default_host),
          *cl.opts.dashboard_port);
      } catch (const std::exception& e) {
        detail::log_line(log_level::error, "manta head: %s\n", e.what());
        caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
        return 1;
      }
      write_file(dashboard_file, dashboard->address());
      detail::announce("manta head: dashboard at http://%s/\n", dashboard->address().c_str());
    }
    write_file(file, address);
    if (store) {
      // Workers and drivers given the store follow the head here.
      try {
        store->put_head({address, static_cast<uint32_t>(::getpid()),
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()});
      } catch (const std::exception& e) {
        detail::log_line(log_level::error, "manta head: %s\n", e.what());
        caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
        return 2;
      }
    }
    detail::announce("manta head: listening at %s%s%s\n", address.c_str(),
                     detail::uses_tls(sys) ? " (TLS)" : "",
                     store ? (", its state in " + store->address().text).c_str() : "");
    std::printf("%s\n", address.c_str());
    std::fflush(stdout);
    while (!g_stop_requested.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (dashboard) {
      dashboard.reset();
      std::remove(dashboard_file.c_str());
    }
    if (cl.address_file.empty())
      std::remove(file.c_str());
    std::remove(token_file.c_str());
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    return 0;
  } catch (const std::exception& e) {
    detail::log_line(log_level::error, "manta head: %s\n", e.what());
    return 1;
  }
}

} // namespace manta
