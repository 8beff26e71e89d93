// The `manta` command line.

#include "tools/cluster_commands.hpp"
#include "tools/job_commands.hpp"
#include "tools/microbenchmark.hpp"
#include "tools/state_commands.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: manta <command> [options]\n"
               "commands:\n"
               "  start --head [--port=P] [--dashboard-port=P|0|off] [--dashboard-host=ADDR]\n"
               "      start a head node (cluster registry) on 127.0.0.1 as a daemon, with the\n"
               "      cluster's dashboard (default port 8265; 0: any free port, in head.dashboard)\n"
               "  start --address=HOST:PORT|auto [--num-cpus=N] [--resources=GPU:1,...] -- PROGRAM [ARGS]\n"
               "      start a worker node running your PROGRAM (which calls manta::init(argc, argv))\n"
               "      both take --token-file=F (mode 0600) or MANTA_TOKEN (never --token=T: every\n"
               "      user can read a command line) and, for a TLS cluster, --tls-cert=F --tls-key=F --tls-ca=F\n"
               "      (or MANTA_TLS_CERT/KEY/CA), and --connection-timeout=4s (how long a silent\n"
               "      connection is kept before it is closed as broken); the daemons inherit them;\n"
               "      --node-ip-address=ADDR (MANTA_NODE_IP): the address of this machine to listen\n"
               "      on and tell the cluster, instead of 127.0.0.1; with --transport=plain off\n"
               "      loopback also --trusted-network (MANTA_TRUSTED_NETWORK=1)\n"
               "  stop  stop the daemons started here by `manta start` (only those its pid files\n"
               "      recorded, in a runtime folder that is yours alone)\n"
               "  status [--address=HOST:PORT|auto] [--token-file=F] [--tls-cert=F --tls-key=F --tls-ca=F]\n"
               "      list the live worker nodes\n"
               "  status --dashboard=HOST:PORT  a node's tasks by state, actors, memory, nodes\n"
               "  list tasks|actors|objects|nodes [--filter KEY=VALUE]... [--limit=N]\n"
               "       [--format=table|json] [--address=HOST:PORT]\n"
               "      what a running node holds (its dashboard address, or the head's for the\n"
               "      whole cluster; default: the latest node started here with --dashboard-port)\n"
               "  memory [--address=HOST:PORT]  the node's objects and memory use\n"
               "  timeline -o trace.json [--address=HOST:PORT]  Chrome trace of recent tasks\n"
               "  why OBJECT_ID [--address=HOST:PORT]  what a pending object waits for\n"
               "  job submit [--address=HOST:PORT|auto] -- PROGRAM [ARGS]  run a driver as a job\n"
               "      (id job-NNNN; output in the runtime folder); job list | status ID | logs ID |\n"
               "      stop ID  its state RUNNING/FINISHED/FAILED/STOPPED, pid, times, output\n"
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
  if (cmd == "start")
    return manta::tools::start_main(argc - 1, argv + 1);
  if (cmd == "stop")
    return manta::tools::stop_main(argc - 1, argv + 1);
  if (cmd == "status")
    return manta::tools::wants_node_status(argc - 1, argv + 1)
             ? manta::tools::node_status_main(argc - 1, argv + 1)
             : manta::tools::status_main(argc - 1, argv + 1);
  if (cmd == "list")
    return manta::tools::list_main(argc - 1, argv + 1);
  if (cmd == "memory")
    return manta::tools::memory_main(argc - 1, argv + 1);
  if (cmd == "timeline")
    return manta::tools::timeline_main(argc - 1, argv + 1);
  if (cmd == "why")
    return manta::tools::why_main(argc - 1, argv + 1);
  if (cmd == "job")
    return manta::tools::job_main(argc - 1, argv + 1);
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
