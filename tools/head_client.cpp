#include "tools/head_client.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/cluster/cluster_token.hpp"
#include "manta/cluster/node_address.hpp"
#include "manta/core/caf_config.hpp"
#include "manta/core/runtime_dir.hpp"
#include "manta/net/transport.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace manta::tools {

using namespace std::chrono_literals;

/// The token in the file `--token-file` names (checked like the head's:
/// this user's alone); "" after printing why not.
std::string token_from_file(const char* command, const std::string& path) {
  std::string err;
  auto token = detail::read_token_file(path, err);
  if (err.empty() && token.empty())
    err = "the token file " + path + " does not exist or is empty";
  if (!err.empty()) {
    std::fprintf(stderr, "%s: --token-file: %s\n", command, err.c_str());
    return {};
  }
  return token;
}

/// The refusal of `--token=T` on a command line.
void refuse_token_flag(const char* command) {
  std::fprintf(stderr,
               "%s: --token is refused on a command line: every user of this machine can "
               "read a command line (ps, /proc/PID/cmdline); give the token in a file only you "
               "can read with --token-file=FILE (mode 0600), or in the environment variable "
               "MANTA_TOKEN\n",
               command);
}

/// The head's address from the runtime folder, for `--address=auto`; ""
/// after printing why not.
std::string local_head_address(const char* command) {
  auto file = detail::read_runtime_file("head.address");
  if (file.missing) {
    std::fprintf(stderr, "%s: no head runs here (--address=auto): %s\n", command,
                 file.error.c_str());
    return {};
  }
  if (!file.error.empty()) {
    std::fprintf(stderr, "%s: --address=auto: %s\n", command, file.error.c_str());
    return {};
  }
  std::istringstream in{file.text};
  std::string address;
  in >> address;
  return address;
}

std::string env_token() {
  auto env = std::getenv("MANTA_TOKEN");
  return env != nullptr ? env : "";
}

/// TLS files from MANTA_TLS_CERT, MANTA_TLS_KEY and MANTA_TLS_CA, and
/// MANTA_TRANSPORT=plain.
tls_options env_tls() {
  auto get = [](const char* name) {
    auto env = std::getenv(name);
    return std::string{env != nullptr ? env : ""};
  };
  return {get("MANTA_TLS_CERT"), get("MANTA_TLS_KEY"), get("MANTA_TLS_CA"),
          get("MANTA_TRANSPORT") == "plain"};
}

int take_head_flags(const char* command, const command_args& args, std::string& token,
                    tls_options& tls) {
  if (args.has("token")) {
    refuse_token_flag(command);
    return 2;
  }
  if (args.has("token-file")
      && (token = token_from_file(command, args.value("token-file"))).empty())
    return 2;
  if (args.has("transport")) {
    auto value = args.value("transport");
    if (value != "tls" && value != "plain") {
      std::fprintf(stderr,
                   "%s: --transport expects tls (the default) or plain (a trusted "
                   "network only), got '%s'\n",
                   command, value.c_str());
      return 2;
    }
    tls.plain = value == "plain";
  }
  for (auto [name, field] : {std::pair{"tls-cert", &tls.certificate},
                             std::pair{"tls-key", &tls.key}, std::pair{"tls-ca", &tls.ca_file}}) {
    if (!args.has(name))
      continue;
    auto value = args.value(name);
    std::error_code ec;
    auto path = std::filesystem::absolute(value, ec);
    *field = ec || value.empty() ? value : path.string();
  }
  return 0;
}

std::optional<head_connection> connect_head(const char* command, std::string address,
                                            std::string token, const tls_options& tls, int& rc) {
  rc = 2;
  if (auto err = detail::check_tls(tls); !err.empty()) {
    std::fprintf(stderr, "%s: %s\n", command, err.c_str());
    return std::nullopt;
  }
  rc = 1;
  if (address == "auto" && (address = local_head_address(command)).empty())
    return std::nullopt;
  if (token.empty()) {
    std::string err;
    token = detail::read_token_file(detail::default_token_file(), err);
    if (!err.empty()) {
      std::fprintf(stderr, "%s: %s\n", command, err.c_str());
      return std::nullopt;
    }
  }
  rc = 2;
  std::pair<std::string, uint16_t> host_port;
  try {
    host_port = detail::parse_address(address);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", command, e.what());
    return std::nullopt;
  }
  auto [host, port] = host_port;
  if (token.empty() && !tls.plain && !tls.enabled()) {
    std::fprintf(stderr, "%s: the cluster's connections are authenticated with its token; %s\n",
                 command, detail::token_hint().c_str());
    return std::nullopt;
  }
  head_connection c;
  c.address = address;
  c.token = token;
  c.cfg = detail::make_caf_config(1, /*networked=*/true, tls, token);
  c.sys = std::make_unique<caf::actor_system>(*c.cfg);
  auto head = detail::connect(*c.sys, host, port, 5s);
  if (!head) {
    std::fprintf(stderr, "%s: cannot reach %s: %s\n", command, address.c_str(),
                 detail::connect_error(*c.sys, head.error(), host, port).c_str());
    rc = 1;
    return std::nullopt;
  }
  c.head = std::move(*head);
  rc = 0;
  return c;
}

void await_detached_threads_gone() {
  namespace fs = std::filesystem;
  auto caf_thread_left = [] {
    std::error_code ec;
    for (const auto& task : fs::directory_iterator{"/proc/self/task", ec}) {
      std::ifstream comm{task.path() / "comm"};
      std::string name;
      if (std::getline(comm, name) && name == "caf.actor")
        return true;
    }
    return false;
  };
  for (auto until = std::chrono::steady_clock::now() + 5s;
       caf_thread_left() && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(1ms);
}

} // namespace manta::tools
