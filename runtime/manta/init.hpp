#pragma once

#include "manta/actor_options.hpp"
#include "manta/resources.hpp"
#include "manta/task_options.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace manta {

/// How the processes of a cluster connect (see "TLS" in docs/cluster.md).
/// By default every connection is TLS 1.3 with an identity each process
/// makes from the cluster token (nothing to hand out beyond the token). A
/// cluster may instead use PEM files made for it and its own CA (all three
/// below), or, on a trusted network only, plain TCP (`plain`). A cluster is
/// all one of the three.
struct tls_options {
  /// This process's certificate (chain), signed by the CA. Flag
  /// `--tls-cert=FILE`, environment `MANTA_TLS_CERT`.
  std::string certificate;
  /// The certificate's private key (unencrypted). `--tls-key`,
  /// `MANTA_TLS_KEY`.
  std::string key;
  /// The CA certificate that signs every node's certificate. `--tls-ca`,
  /// `MANTA_TLS_CA`.
  std::string ca_file;

  /// Plain TCP: a peer's bytes reach CAF's message handling before anything
  /// is checked (the token inside Manta's messages still is), and nothing
  /// is encrypted. Only for a network where every host is trusted, or to
  /// measure what TLS costs. Flag `--transport=plain` (default `tls`),
  /// environment `MANTA_TRANSPORT`.
  bool plain = false;

  /// Whether any of the three files is set (they are then all needed).
  bool enabled() const noexcept { return !certificate.empty() || !key.empty() || !ca_file.empty(); }
};

/// How long a silent connection is kept before it is closed as broken:
/// `init_options::connection_timeout` when none is given.
inline constexpr std::chrono::milliseconds default_connection_timeout{4000};
/// Settings of the embedded node started by `init`.
struct init_options {
  /// CPUs the node offers to tasks; default: the hardware's core count.
  std::optional<double> num_cpus;
  /// Custom resources the node offers, e.g. {{"GPU", 2}}.
  resource_map resources;
  /// Threads of CAF's scheduler (which runs the runtime's actors, never user
  /// code); default: half the hardware cores, at least 1 and at most 4.
  std::optional<size_t> scheduler_threads;
  /// Bytes of object values the node keeps in memory; beyond it, large
  /// serializable objects are spilled to disk and `put` fails with
  /// `object_store_full_error` when nothing can be spilled. Default: 30% of
  /// physical memory.
  std::optional<size_t> object_store_memory;
  /// Where spilled objects go; default `/tmp/manta-<pid>/spill`. Removed at
  /// `shutdown`.
  std::optional<std::string> object_spill_directory;
  /// Whether objects may be spilled to disk at all.
  bool object_spilling = true;
  /// The head of a cluster to join as a driver, "HOST:PORT", or "auto" for
  /// the head started on this machine with `manta start --head`. Unset: an
  /// embedded single node, exactly as without a cluster. See docs/cluster.md.
  std::optional<std::string> address;
  /// The store holding the head's state, "redis://HOST:PORT/DB" (flag
  /// `--head-store=URL`, environment `MANTA_HEAD_STORE`). A head started
  /// with it writes its members, named actors and address there, and a
  /// head started again with it (on any port) recovers them; a worker or
  /// driver given it follows the head to its new address when its old one
  /// stops answering. Unset: the head keeps its state in memory. See
  /// "Head fault tolerance" in docs/cluster.md.
  std::optional<std::string> head_store;
  /// Whether the node records what its tasks and actor calls do (states,
  /// times, threads) for `list_tasks`, `timeline` and the metrics. Costs a
  /// few clock reads and two uncontended locks per task. Flag
  /// `--task-events=on|off`, environment `MANTA_TASK_EVENTS=0`.
  bool task_events = true;
  /// How many finished tasks and actor calls the node remembers (a ring:
  /// the oldest are forgotten first). Flag `--task-history=N`.
  size_t task_history = 10000;
  /// Serves the dashboard and the JSON state API on `dashboard_host` at this
  /// port (0: any free port; `dashboard_url()` says which). Unset: no
  /// server. Flag `--dashboard-port=P`, environment `MANTA_DASHBOARD_PORT`.
  std::optional<uint16_t> dashboard_port;
  /// The IP address the dashboard listens on: 127.0.0.1 unless given. Any
  /// other (0.0.0.0, a network address, even 127.0.0.2) makes the page, the
  /// state API and /metrics ask for the cluster token (`token`, which must
  /// then be set or come from the cluster): `Authorization: Bearer TOKEN`
  /// or the page's login form. Flag `--dashboard-host=ADDR`, environment
  /// `MANTA_DASHBOARD_HOST`.
  std::optional<std::string> dashboard_host;
  /// Lines that tasks and actor calls write to std::cout / std::cerr reach
  /// the terminal prefixed with who wrote them ("(add node-0 (pid 42)) ...")
  /// and are kept per task (`task_logs`). Flag `--log-prefix=on|off`.
  bool log_prefix = true;
  /// The cluster token the head made (`manta start --head` writes it to
  /// `<runtime dir>/head.token`, mode 0600). Joining needs it; with address
  /// "auto" it is read from that file. Also `--token-file=FILE` (a file of
  /// this user's, mode 0600) and `MANTA_TOKEN`; `--token=T` is refused,
  /// since every user of the machine can read a command line.
  std::optional<std::string> token;
  /// TLS for every connection to the cluster (with an address only).
  tls_options tls;
  /// The IP address this process listens on and tells the cluster: a
  /// worker's node manager, every node's raw data path (object transfer
  /// server), the head's registry. Must be an address of this machine that
  /// the other nodes reach (not a host name, not 0.0.0.0); default
  /// 127.0.0.1, which only reaches processes of this machine. Flag
  /// `--node-ip-address=ADDR`, environment `MANTA_NODE_IP`.
  std::optional<std::string> node_ip_address;
  /// Declares that every host of the network `node_ip_address` is on is
  /// trusted: only then may a process listen off loopback with
  /// `tls.plain` (it warns once). Flag `--trusted-network`, environment
  /// `MANTA_TRUSTED_NETWORK=1`.
  bool trusted_network = false;
  /// Worker nodes only: the "HOST:PORT" other nodes connect to instead of
  /// where this node listens (an ephemeral port on 127.0.0.1, or
  /// --node-ip-address), e.g. a proxy or port forward in front of it. Also
  /// `--advertise-address=HOST:PORT` and `MANTA_ADVERTISE_ADDRESS`.
  std::optional<std::string> advertise_address;
  /// How long a connection to another node may stay silent before this
  /// process closes it as broken (a partition, a peer that froze): CAF's
  /// middleman sends a heartbeat on every connection each eighth of it, and
  /// a driver also pings its workers. A driver reconnects to a worker whose
  /// connection it closed while the head lists it; a worker whose link to
  /// the head goes silent leaves. Give every process of a cluster the same
  /// value. Flag `--connection-timeout=4s` (ms, s or m; 100ms to 1h),
  /// environment `MANTA_CONNECTION_TIMEOUT`; `manta start` passes it on.
  std::chrono::milliseconds connection_timeout = default_connection_timeout;
  /// The memory monitor (Ray's `memory_usage_threshold`): when the node's
  /// memory use reaches this share of its limit, the most recently started
  /// retriable task is stopped (its next allocation throws; it is retried
  /// while its `max_retries` last, else fails with `out_of_memory_error`)
  /// before the kernel kills the node. In (0, 1]. Flag
  /// `--memory-usage-threshold=0.95`, environment
  /// `MANTA_MEMORY_USAGE_THRESHOLD`. See "Memory monitor" in
  /// docs/reliability.md.
  double memory_usage_threshold = 0.95;
  /// The limit the threshold applies to, in bytes, against this process's
  /// resident memory. Unset: the container's limit (cgroup memory.max) if
  /// it has one, else the machine's memory. Flag `--memory-limit=BYTES`
  /// (suffixes K, M, G), environment `MANTA_MEMORY_LIMIT`.
  std::optional<size_t> memory_limit;
  /// Drivers only: the job's code, as Ray's C++ `code_search_path`: shared
  /// libraries (or folders of them) holding the job's `MANTA_REMOTE`
  /// functions and `MANTA_ACTOR` classes (and its `actor<T>().remote(...)`
  /// calls, which register the constructors). Every task and actor this
  /// driver sends to another node names them; the node loads them once and
  /// runs this job's functions from them, apart from other jobs' code, so a
  /// generic worker (`manta start` without a program) serves jobs built
  /// from different code. Empty: every node runs the same binary. Flag
  /// `--code-search-path=A.so:DIR`, environment `MANTA_CODE_SEARCH_PATH`.
  /// See "Jobs" in docs/cluster.md.
  std::vector<std::string> code_search_path;
  /// The job's namespace (Ray's `init(namespace=...)`): where named actors
  /// are created and `get_actor` looks when given no namespace; read back
  /// with `get_runtime_context().get_namespace()`. Empty: "default". Flag
  /// `--namespace=NS`, environment `MANTA_NAMESPACE`.
  std::string ns;
  /// The lifetime of named actors created without `lifetime(...)` /
  /// `lifetime_detached()` (Ray's `default_actor_lifetime`). Anonymous
  /// actors stay non-detached: nothing could find or kill them again. Flag
  /// `--default-actor-lifetime=detached|non_detached`.
  actor_lifetime default_actor_lifetime = actor_lifetime::non_detached;
};

/// Starts the embedded runtime. Throws `error` if it is already running.
void init(init_options opts);

/// The same with the default options: `init(init_options{})`, out of line,
/// so a call builds and destroys no options in the caller's file.
void init();

/// Starts the runtime with options from the command line
/// (`--num-cpus=N`, `--resources=GPU:1,disk:2`,
/// `--object-store-memory=BYTES` (suffixes K, M, G), `--object-spill-dir=DIR`,
/// `--object-spilling=on|off`, `--address=HOST:PORT|auto`, `--token-file=F`,
/// `--tls-cert=F`, `--tls-key=F`, `--tls-ca=F`, `--transport=tls|plain`,
/// `--connection-timeout=4s`, `--head-store=redis://HOST:PORT/DB`,
/// `--memory-usage-threshold=0.95`, `--memory-limit=BYTES`,
/// `--node-ip-address=ADDR`, `--trusted-network`, `--code-search-path=A:B`,
/// `--namespace=NS`, `--default-actor-lifetime=detached|non_detached`, for workers
/// `--advertise-address=HOST:PORT`),
/// falling back to the environment (`MANTA_NUM_CPUS`,
/// `MANTA_OBJECT_STORE_MEMORY`, `MANTA_ADDRESS`, `MANTA_TOKEN`,
/// `MANTA_TLS_CERT`, `MANTA_TLS_KEY`, `MANTA_TLS_CA`, `MANTA_TRANSPORT`,
/// `MANTA_CONNECTION_TIMEOUT`, `MANTA_ADVERTISE_ADDRESS`,
/// `MANTA_MEMORY_USAGE_THRESHOLD`, `MANTA_MEMORY_LIMIT`, `MANTA_NODE_IP`,
/// `MANTA_TRUSTED_NETWORK`, `MANTA_CODE_SEARCH_PATH`, `MANTA_NAMESPACE`). Unknown `--manta-*`
/// flags are errors; other arguments
/// are left for the program. With `--manta-worker` (or `--manta-head`) the
/// process becomes a worker (head) node of the cluster at `--address` and
/// never returns: this is how the user's own binary serves as a worker
/// (see `worker_main` in <manta/cluster.hpp>).
void init(int argc, char** argv);

/// Stops the runtime: queued tasks fail with `task_cancelled_error`, tasks
/// blocked in `get` are woken, and `init` may be called again.
void shutdown();

/// True between `init` and `shutdown`.
bool is_initialized() noexcept;

/// "http://127.0.0.1:PORT/" (or its --dashboard-host) where this node's
/// dashboard and JSON state API listen (`init_options::dashboard_port`);
/// empty when it has none.
std::string dashboard_url();

/// Resources not held by running tasks right now.
resource_map available_resources();

/// The node running the calling code (0 for an embedded node; in a
/// cluster the index the head gave this process's node). Tasks can be sent
/// back to it with `task(f).node_affinity(id)`.
node_id current_node();

/// Resources of all nodes together: this node's and, in a cluster, those of
/// the live worker nodes this process is connected to.
resource_map cluster_resources();

} // namespace manta
