// The `manta` command line.

#include "tools/microbenchmark.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: manta <command> [options]\n"
               "commands:\n"
               "  microbenchmark [--filter=SUBSTR] [--json] [--runs=N] [--num-cpus=N]\n"
               "      measure per-task, per-get and per-put costs (Ray's metric names)\n"
               "  help  show this text\n");
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string_view cmd{argv[1]};
  if (cmd == "microbenchmark")
    return manta::tools::microbenchmark_main(argc - 1, argv + 1);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "manta: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
