#include "tools/cluster_commands.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/cluster.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/core/caf_error_text.hpp"
#include "manta/core/codec.hpp"
#include "manta/cluster/node_address.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/cluster/head_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/core/runtime_dir.hpp"
#include "manta/net/transport.hpp"
#include "manta/net/wire.hpp"
#include "tools/command_help.hpp"
#include "tools/command_line.hpp"
#include "tools/daemon_pid.hpp"
#include "tools/head_client.hpp"
#include "tools/worker_join.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace manta::tools {

namespace {

using namespace std::chrono_literals;

/// The runtime folder, created (0700) if missing; "" after printing why it
/// is refused (another user's, or writable by others: runtime_dir.hpp).
std::string dir(const char* command) {
  auto d = detail::runtime_dir();
  if (auto err = detail::make_private_dir(d); !err.empty()) {
    std::fprintf(stderr, "%s: %s\n", command, err.c_str());
    return {};
  }
  return d;
}

/// Detaches the calling (forked) process from the terminal; output goes to
/// `log`.
void daemonize(const std::string& log) {
  ::setsid();
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0)
    ::dup2(null, 0);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
}

/// Records the daemon `pid` (with its start time: daemon_pid.hpp).
void write_pid(const std::string& path, pid_t pid) {
  if (auto err = detail::write_private_file(path, pid_file_text(pid)); !err.empty())
    std::fprintf(stderr, "manta start: %s; `manta stop` will not find pid %d\n", err.c_str(), pid);
}

/// The daemon a pid file records, if it still runs as that daemon (see
/// daemon_pid.hpp); else `why` says what it is instead.
std::optional<daemon_record> recorded_daemon(const std::string& path, std::string_view marker,
                                             std::string& why) {
  auto file = detail::read_checked_file(path, 4096, detail::file_rule::private_to_user);
  if (!file.error.empty()) {
    why = file.error;
    return std::nullopt;
  }
  daemon_record rec;
  if (auto err = parse_pid_file(file.text, rec); !err.empty()) {
    why = path + ": " + err;
    return std::nullopt;
  }
  why = verify_daemon(rec, marker);
  if (!why.empty())
    return std::nullopt;
  return rec;
}

/// Hands the TLS files to a daemon (called in the forked child).
void export_tls(const tls_options& tls) {
  ::setenv("MANTA_TLS_CERT", tls.certificate.c_str(), 1);
  ::setenv("MANTA_TLS_KEY", tls.key.c_str(), 1);
  ::setenv("MANTA_TLS_CA", tls.ca_file.c_str(), 1);
  ::setenv("MANTA_TRANSPORT", tls.plain ? "plain" : "tls", 1);
}

/// Whether `text` is a port: 0 to 65535 in decimal digits.
bool is_port(const std::string& text) {
  return !text.empty() && text.size() <= 5
         && text.find_first_not_of("0123456789") == std::string::npos && std::stoul(text) <= 65535;
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

/// Whether `pid` exited (reaped here if it is our child) or is gone.
bool gone(pid_t pid) {
  return ::waitpid(pid, nullptr, WNOHANG) == pid || process_ended(pid);
}

/// The token goes to the daemons in the environment, not on their command
/// line, where every user of the machine could read it (ps).
int start_head(const std::string& port, const std::string& dashboard_port, const std::string& token,
               const tls_options& tls, std::vector<std::string> head_flags,
               bool ignored_resources) {
  auto d = dir("manta start");
  if (d.empty())
    return 1;
  auto address_file = d + "/head.address";
  std::string why;
  if (auto old = recorded_daemon(d + "/head.pid", "--head", why)) {
    std::fprintf(stderr, "manta start: a head already runs here (pid %d); `manta stop` first\n",
                 old->pid);
    return 1;
  }
  std::remove(address_file.c_str());
  std::remove((d + "/head.dashboard").c_str());
  if (ignored_resources)
    std::fprintf(stderr, "manta start: note: the head runs no tasks; give --num-cpus and "
                         "--resources to the worker nodes\n");
  auto pid = ::fork();
  if (pid < 0) {
    std::perror("manta start: fork");
    return 1;
  }
  if (pid == 0) {
    daemonize(d + "/head.log");
    if (!token.empty())
      ::setenv("MANTA_TOKEN", token.c_str(), 1);
    export_tls(tls);
    std::string p = "--manta-port=" + (port.empty() ? std::string{"0"} : port);
    std::string self = "manta";
    std::vector<char*> args{self.data(), p.data()};
    std::string d = "--dashboard-port=" + dashboard_port;
    if (dashboard_port != "off")
      args.push_back(d.data());
    for (auto& f : head_flags) // --node-ip-address, --dashboard-host, --trusted-network
      args.push_back(f.data());
    args.push_back(nullptr);
    ::_exit(head_main(static_cast<int>(args.size()) - 1, args.data()));
  }
  write_pid(d + "/head.pid", pid);
  for (int i = 0; i < 1000; ++i) {
    std::istringstream in{detail::read_runtime_file("head.address").text};
    std::string address;
    if (in >> address) {
      std::printf("manta head running at %s (pid %d)\n"
                  "join it with: init(--address=%s) / MANTA_ADDRESS=%s / --address=auto\n"
                  "add a worker: manta start --address=%s -- ./your_program\n",
                  address.c_str(), pid, address.c_str(), address.c_str(), address.c_str());
      // Written by the head before head.address.
      std::istringstream dashboard_file{detail::read_runtime_file("head.dashboard").text};
      if (std::string dashboard; dashboard_file >> dashboard)
        std::printf("dashboard of the cluster: http://%s/\n", dashboard.c_str());
      return 0;
    }
    if (!alive(pid) || ::waitpid(pid, nullptr, WNOHANG) == pid)
      break;
    std::this_thread::sleep_for(10ms);
  }
  // Its last line says why (a --dashboard-host it cannot bind, a port taken).
  std::istringstream log{detail::read_runtime_file("head.log").text};
  std::string line, last;
  while (std::getline(log, line))
    if (!line.empty())
      last = line;
  std::fprintf(stderr, "manta start: the head did not come up%s%s; see %s/head.log\n",
               last.empty() ? "" : ": ", last.c_str(), d.c_str());
  return 1;
}

int start_worker(const std::string& address, const std::string& token, const tls_options& tls,
                 const std::vector<std::string>& node_flags, std::vector<std::string> program) {
  // No program: the generic worker, which runs the jobs that name their
  // code (docs/cluster.md, "Jobs").
  if (program.empty() && (program = {generic_worker()}).front().empty())
    return 2;
  auto d = dir("manta start");
  if (d.empty())
    return 1;
  auto pid = ::fork();
  if (pid < 0) {
    std::perror("manta start: fork");
    return 1;
  }
  if (pid == 0) {
    daemonize(d + "/worker-" + std::to_string(::getpid()) + ".log");
    ::setenv("MANTA_TOKEN", token.c_str(), 1);
    export_tls(tls);
    std::vector<std::string> all = program;
    all.push_back("--manta-worker");
    all.push_back("--address=" + address);
    all.insert(all.end(), node_flags.begin(), node_flags.end());
    std::vector<char*> args;
    for (auto& a : all)
      args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "manta start: cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  write_pid(d + "/worker-" + std::to_string(pid) + ".pid", pid);
  if (!await_worker_join(pid, d + "/worker-" + std::to_string(pid) + ".log"))
    return 1;
  std::printf("manta worker node started (pid %d), joined %s\n", pid, address.c_str());
  return 0;
}

} // namespace

int start_main(int argc, char** argv) {
  auto args = parse_command("start", argc, argv);
  if (!args.error.empty())
    return usage_error("start", args.error);
  bool head = args.has("head");
  auto port = args.value("port");
  auto address = args.value("address");
  auto connection_timeout = args.value("connection-timeout");
  auto token = env_token();
  auto tls = env_tls();
  if (int rc = take_head_flags("manta start", args, token, tls); rc != 0)
    return rc;
  // The head's state in Redis (docs/cluster.md, "Head fault tolerance"):
  // handed to the daemons in the environment, as MANTA_HEAD_STORE.
  std::string head_store;
  if (auto env = std::getenv("MANTA_HEAD_STORE"); env != nullptr)
    head_store = env;
  head_store = args.value("head-store", head_store);
  auto dashboard_port = args.value("dashboard-port", "8265"); // Ray's
  // What the daemons are handed: where they listen and what they offer.
  std::vector<std::string> node_flags, head_flags;
  for (auto& [name, value] : args.flags) {
    if (name == "node-ip-address") { // where it listens and what it tells the cluster
      node_flags.push_back("--node-ip-address=" + value);
      head_flags.push_back("--node-ip-address=" + value);
    } else if (name == "dashboard-host") {
      head_flags.push_back("--dashboard-host=" + value);
    } else if (name == "trusted-network") {
      node_flags.emplace_back("--trusted-network");
      head_flags.emplace_back("--trusted-network");
    } else if (name == "num-cpus" || name == "resources") {
      node_flags.push_back("--" + name + "=" + value);
    }
  }
  bool resources_given = args.has("num-cpus") || args.has("resources");
  auto& program = args.program;
  // Bad flags are refused here, with the reason, rather than by a daemon
  // whose error only reaches its log file.
  if (!port.empty() && !is_port(port)) {
    std::fprintf(stderr,
                 "manta start: --port=%s is not a port; give 0 (any free port) to "
                 "65535\n",
                 port.c_str());
    return 2;
  }
  if (dashboard_port != "off" && !is_port(dashboard_port)) {
    std::fprintf(stderr,
                 "manta start: --dashboard-port=%s is not a port; give 0 (any free "
                 "port) to 65535, or off\n",
                 dashboard_port.c_str());
    return 2;
  }
  if (auto err = detail::check_tls(tls); !err.empty()) {
    std::fprintf(stderr, "manta start: %s\n", err.c_str());
    return 2;
  }
  // The node's flags and the connection timeout are checked by the parser
  // the daemons use; the timeout is handed to them (and to a worker's
  // program) in the environment.
  {
    auto checked = node_flags;
    if (head)
      checked = head_flags;
    if (!connection_timeout.empty())
      checked.push_back("--connection-timeout=" + connection_timeout);
    std::vector<char*> daemon_argv{argv[0]};
    for (auto& a : checked)
      daemon_argv.push_back(a.data());
    daemon_argv.push_back(nullptr);
    try {
      auto parsed = detail::parse_command_line(static_cast<int>(daemon_argv.size()) - 1,
                                               daemon_argv.data());
      detail::check_exposure("manta", parsed.opts.node_ip_address.value_or(detail::default_node_ip),
                             tls, parsed.opts.trusted_network);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "manta start: %s\n", e.what());
      return 2;
    }
  }
  if (!connection_timeout.empty())
    ::setenv("MANTA_CONNECTION_TIMEOUT", connection_timeout.c_str(), 1);
  if (!head_store.empty()) {
    try {
      detail::parse_store_address("--head-store", head_store);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "manta start: %s\n", e.what());
      return 2;
    }
    ::setenv("MANTA_HEAD_STORE", head_store.c_str(), 1);
  }
  if (head)
    return start_head(port, dashboard_port, token, tls, head_flags, resources_given);
  if (address.empty() && !head_store.empty()) {
    // Where the head is: the store says (the latest head wrote it).
    try {
      address = detail::stored_head_address(head_store, std::chrono::seconds(2));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "manta start: %s\n", e.what());
      return 1;
    }
    if (address.empty()) {
      std::fprintf(stderr,
                   "manta start: the head store %s names no head; start one with "
                   "`manta start --head --head-store=%s`\n",
                   head_store.c_str(), head_store.c_str());
      return 1;
    }
  }
  if (address.empty()) {
    std::fprintf(stderr, "manta start: give --head or --address=HOST:PORT (or "
                         "--head-store=redis://HOST:PORT/DB)\n");
    return 2;
  }
  if (address == "auto") {
    if ((address = local_head_address("manta start")).empty())
      return 1;
    if (token.empty()) {
      std::string err;
      token = detail::read_token_file(detail::default_token_file(), err);
      if (!err.empty()) {
        std::fprintf(stderr, "manta start: --address=auto: %s\n", err.c_str());
        return 1;
      }
    }
  }
  try {
    detail::parse_address(address);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "manta start: %s\n", e.what());
    return 2;
  }
  if (token.empty()) {
    std::fprintf(stderr, "manta start: joining %s needs the cluster token; %s\n", address.c_str(),
                 detail::token_hint().c_str());
    return 2;
  }
  return start_worker(address, token, tls, node_flags, program);
}

int stop_main(int argc, char** argv) {
  if (auto args = parse_command("stop", argc, argv); !args.error.empty())
    return usage_error("stop", args.error);
  auto d = detail::runtime_dir();
  struct stat st {};
  if (::lstat(d.c_str(), &st) != 0) {
    std::printf("manta stop: stopped 0 process(es)\n");
    return 0;
  }
  // Pid files in a folder another user could write may name any process.
  if (auto err = detail::check_private_dir(d); !err.empty()) {
    std::fprintf(stderr, "manta stop: %s\n", err.c_str());
    return 1;
  }
  std::vector<std::string> files;
  if (auto* dp = ::opendir(d.c_str())) {
    while (auto* e = ::readdir(dp)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.substr(name.size() - 4) == ".pid")
        files.push_back(name);
    }
    ::closedir(dp);
  }
  int stopped = 0, refused = 0;
  for (auto& name : files) {
    auto file = d + "/" + name;
    std::string why;
    auto daemon = recorded_daemon(file, name == "head.pid" ? "--head" : "--manta-worker", why);
    if (!daemon) {
      // The daemon ended (its number may be another process's now): the
      // file goes. Anything else is left as it is, and said.
      if (why.find("(the daemon ended)") != std::string::npos
          || why.find("another process has its number") != std::string::npos) {
        std::remove(file.c_str());
      } else {
        std::fprintf(stderr, "manta stop: not signalling what %s names: %s\n", file.c_str(),
                     why.c_str());
        ++refused;
      }
      continue;
    }
    auto pid = daemon->pid;
    if (::kill(pid, SIGTERM) == 0) {
      for (int i = 0; i < 50 && !gone(pid); ++i)
        std::this_thread::sleep_for(100ms);
      // Still the same process (not a new one with its number)?
      if (!gone(pid)
          && verify_daemon(*daemon, name == "head.pid" ? "--head" : "--manta-worker").empty())
        ::kill(pid, SIGKILL);
      ++stopped;
    }
    std::remove(file.c_str());
  }
  std::remove((d + "/head.address").c_str());
  std::remove((d + "/head.dashboard").c_str());
  std::printf("manta stop: stopped %d process(es)\n", stopped);
  return refused == 0 ? 0 : 1;
}

int status_main(int argc, char** argv) {
  auto args = parse_command("status", argc, argv);
  if (!args.error.empty())
    return usage_error("status", args.error);
  auto address = args.value("address", "auto");
  auto token = env_token();
  auto tls = env_tls();
  if (int rc = take_head_flags("manta status", args, token, tls); rc != 0)
    return rc;
  int rc = 0;
  auto conn = connect_head("manta status", address, token, tls, rc);
  if (!conn)
    return rc;
  address = conn->address;
  token = conn->token;
  caf::scoped_actor self{*conn->sys};
  self->request(conn->head, 5s, actors::nodes_atom::value, token)
    .receive(
      [&](const detail::wire::bytes& bytes) {
        detail::wire::cluster_view view;
        if (auto err = detail::wire::decode(bytes, view); !err.empty()) {
          std::fprintf(stderr, "manta status: %s\n", err.c_str());
          rc = 1;
          return;
        }
        std::printf("head %s: %zu worker node(s)\n", address.c_str(), view.nodes.size());
        for (auto& n : view.nodes) {
          std::printf("  node-%u  %s:%u  pid %u  CPU %g", unsigned{n.index}, n.host.c_str(),
                      unsigned{n.port}, n.pid, n.cpus);
          for (auto& [name, amount] : n.custom)
            std::printf("  %s %g", name.c_str(), amount);
          std::printf("\n");
        }
      },
      [&](caf::error& err) {
        std::fprintf(stderr, "manta status: %s\n", detail::error_text(err).c_str());
        rc = 1;
      });
  return rc;
}

} // namespace manta::tools
