#pragma once

#include "manta/init.hpp"

#include <cstdint>
#include <string>

/// Cluster processes (see docs/cluster.md). A cluster is one head (the
/// membership registry), worker nodes that run tasks, and drivers: programs
/// that call `init` with an address and submit tasks. Workers run the
/// user's own binary (single-binary mode): the program that registers the
/// functions with MANTA_REMOTE is started again with `--manta-worker
/// --address HOST:PORT`, and `init(argc, argv)` (or `worker_main`) turns
/// that process into a worker.
namespace manta {

/// Runs this process as a worker node of the cluster at `--address` (or
/// MANTA_ADDRESS) with the node options of `init` (`--num-cpus`,
/// `--resources`, ...) until the head goes away or SIGTERM/SIGINT arrives.
/// Returns the process's exit code.
int worker_main(int argc, char** argv);

/// Runs a head node: the cluster registry, published on 127.0.0.1 (or
/// --node-ip-address) at
/// `--manta-port` (0 or absent: any free port). Writes "HOST:PORT" to
/// `--manta-address-file` (default `<runtime dir>/head.address`) and to
/// stdout, then serves until SIGTERM/SIGINT. Needs no user functions, so
/// `manta start --head` runs it from the `manta` tool.
int head_main(int argc, char** argv);

/// Whether the arguments ask for a worker or head process
/// (`--manta-worker`, `--manta-head`).
bool is_cluster_process(int argc, char** argv);

namespace detail {

/// The command line as `init(argc, argv)` and the cluster mains read it.
struct command_line {
  init_options opts;
  bool worker = false;
  bool head = false;
  uint16_t port = 0;
  std::string address_file;
};

command_line parse_command_line(int argc, char** argv);

} // namespace detail

} // namespace manta
