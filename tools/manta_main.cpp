// The `manta` command line: dispatches to the verbs; `--help` on any verb
// and `--version` are answered here (command_help.hpp).

#include "tools/cluster_commands.hpp"
#include "tools/command_help.hpp"
#include "tools/job_commands.hpp"
#include "tools/log_commands.hpp"
#include "tools/microbenchmark.hpp"
#include "tools/sim_commands.hpp"
#include "tools/state_commands.hpp"
#include "tools/summary_commands.hpp"

#include <cstdio>
#include <string_view>
#include <utility>

int main(int argc, char** argv) {
  using namespace manta::tools;
  if (argc < 2) {
    std::fprintf(stderr, "%s", overview_help().c_str());
    return exit_usage;
  }
  std::string_view cmd{argv[1]};
  if (cmd == "--version" || cmd == "version") {
    std::printf("%s", version_text().c_str());
    return exit_ok;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    if (argc > 2) {
      auto text = verb_help(argv[2]);
      if (text.empty()) {
        std::fprintf(stderr, "manta help: no verb '%s'\n%s", argv[2], overview_help().c_str());
        return exit_usage;
      }
      std::printf("%s", text.c_str());
      return exit_ok;
    }
    std::printf("%s", overview_help().c_str());
    return exit_ok;
  }
  auto help = verb_help(cmd);
  if (help.empty()) {
    std::fprintf(stderr, "manta: unknown verb '%s'\n%s", argv[1], overview_help().c_str());
    return exit_usage;
  }
  if (wants_help(argc - 1, argv + 1)) {
    std::printf("%s", help.c_str());
    return exit_ok;
  }
  if (cmd == "status" && wants_node_status(argc - 1, argv + 1))
    return node_status_main(argc - 1, argv + 1);
  static const std::pair<std::string_view, int (*)(int, char**)> mains[] = {
    {"start", start_main},     {"stop", stop_main},
    {"status", status_main},   {"list", list_main},
    {"memory", memory_main},   {"timeline", timeline_main},
    {"why", why_main},         {"logs", logs_main},
    {"summary", summary_main}, {"microbenchmark", microbenchmark_main},
    {"job", job_main},         {"sim", sim_main},
  };
  for (auto& [name, verb_main] : mains)
    if (cmd == name)
      return verb_main(argc - 1, argv + 1);
  std::fprintf(stderr, "manta: verb '%s' has no implementation\n", argv[1]);
  return exit_usage;
}
