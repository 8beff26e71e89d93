// The help of every `manta` verb, `manta --version`, and the hints for
// options a verb does not know. The verbs parse their own flags
// (cluster_commands.cpp, state_commands.cpp, microbenchmark.cpp); the flags
// each one takes are listed here once, for its help and for suggestions.

#include "tools/command_help.hpp"

#include "tools/build_version.hpp"

#include <caf/config.hpp>
#include <capnp/common.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#ifndef MANTA_VERSION
#  define MANTA_VERSION "unknown"
#endif

namespace manta::tools {

namespace {

struct verb {
  const char* name;
  const char* summary;            ///< one line for `manta --help`
  std::vector<const char*> flags; ///< every flag it takes, for suggestions
  const char* help;               ///< `manta NAME --help`
};

constexpr const char* exit_codes =
  "exit codes: 0 done; 1 the command ran and failed (a node it cannot reach, a daemon that\n"
  "  did not come up, a refused file: the message says which); 2 bad usage (an unknown verb\n"
  "  or option, a bad value; nothing was done).\n";

constexpr const char* tls_flags =
  "  --token-file=F        the cluster token, from a file only you can read (mode 0600); or\n"
  "                        MANTA_TOKEN. --token=T is refused: every user can read a command line\n"
  "  --tls-cert=F --tls-key=F --tls-ca=F\n"
  "                        your own CA's certificates instead of the token's (MANTA_TLS_CERT/KEY/CA)\n"
  "  --transport=tls|plain plain turns TLS off (a trusted network only; MANTA_TRANSPORT)\n";

const std::vector<verb>& verbs() {
  static const std::string start_help = std::string{
    "usage: manta start --head [--port=P] [--dashboard-port=P|0|off] [options]\n"
    "       manta start --address=HOST:PORT|auto [--num-cpus=N] [--resources=GPU:1,...] [options]\n"
    "                   [-- PROGRAM [ARGS...]]\n"
    "Starts a daemon on this machine (pid and log files in the runtime folder, /tmp/manta-UID):\n"
    "a head node (the cluster's registry, bound to 127.0.0.1 unless --node-ip-address, with the\n"
    "cluster's dashboard), or\n"
    "a worker node running your PROGRAM, which registers its functions (MANTA_REMOTE) and calls\n"
    "manta::init(argc, argv). Everything after `--` is the program and its arguments. Without a\n"
    "program, the generic worker (manta-worker, beside manta), which runs the jobs whose drivers\n"
    "name their code with --code-search-path=LIB.so[:DIR] (docs/cluster.md, \"Jobs\").\n"
    "options:\n"
    "  --head                start the head node\n"
    "  --port=P              the head's port (default 0: any free port; written to head.address)\n"
    "  --dashboard-port=P    the cluster's dashboard (default 8265; 0: any free port; off: none)\n"
    "  --address=HOST:PORT   the head a worker joins; auto: the head started here\n"
    "  --num-cpus=N          CPUs the worker offers (default: the machine's cores)\n"
    "  --resources=K:V,...   custom resources the worker offers (GPU:2,disk:1)\n"
    "  --connection-timeout=4s  a silent connection is closed as broken after it\n"
    "  --node-ip-address=ADDR  an address of this machine to listen on and tell the cluster,\n"
    "                        instead of 127.0.0.1 (MANTA_NODE_IP)\n"
    "  --dashboard-host=ADDR the head's dashboard address (off loopback it asks for the token)\n"
    "  --trusted-network     allow --transport=plain off loopback (MANTA_TRUSTED_NETWORK=1)\n"
    "  --head-store=redis://HOST:PORT/DB  the head keeps its state there and a replacement\n"
    "                        recovers it; a worker given it (no --address needed) finds the head\n"
    "                        there and follows it when it moves (MANTA_HEAD_STORE)\n"}
    + tls_flags
    + "examples:\n"
      "  manta start --head\n"
      "  manta start --address=auto --num-cpus=4 -- ./my_app\n"
      "  manta start --address=auto --num-cpus=4            (a generic worker)\n";
  static const std::string status_help = std::string{
    "usage: manta status [--address=HOST:PORT|auto] [--token-file=F] [TLS options]\n"
    "       manta status --dashboard=HOST:PORT\n"
    "Lists the cluster's live worker nodes, asking the head (default: the head started here);\n"
    "with --dashboard (or MANTA_DASHBOARD), a node's tasks by state, actors, memory and nodes.\n"
    "options:\n"
    "  --address=HOST:PORT   the head (auto: the one started here, the default)\n"
    "  --dashboard=HOST:PORT a node's or the head's dashboard\n"}
    + tls_flags;
  static const std::vector<verb> all{
    {"start", "start a head node, or a worker node running your program, as a daemon",
     {"--head", "--port", "--dashboard-port", "--address", "--token-file", "--tls-cert",
      "--tls-key", "--tls-ca", "--transport", "--connection-timeout", "--num-cpus",
      "--resources"},
     start_help.c_str()},
    {"stop", "stop the daemons `manta start` started here", {},
     "usage: manta stop\n"
     "Stops the daemons `manta start` started on this machine: only those its pid files\n"
     "recorded (same user, same start time, a Manta daemon), in a runtime folder that is yours\n"
     "alone. SIGTERM, then SIGKILL after 5 s. Takes no options.\n"},
    {"status", "list the cluster's worker nodes (or a node's state: --dashboard)",
     {"--address", "--dashboard", "--token-file", "--tls-cert", "--tls-key", "--tls-ca",
      "--transport"},
     status_help.c_str()},
    {"list", "list a running node's tasks, actors, objects, nodes or placement groups",
     {"--filter", "--limit", "--format", "--address", "--dashboard", "--token"},
     "usage: manta list tasks|actors|objects|nodes|placement-groups [--filter KEY=VALUE]...\n"
     "                  [--limit=N] [--format=table|json] [--address=HOST:PORT]\n"
     "What a running node holds, from its dashboard (a node started with --dashboard-port, or\n"
     "the head's for the whole cluster; default: MANTA_DASHBOARD, else the latest node started\n"
     "here with a dashboard). Placement groups (their bundles and the node each sits on) are\n"
     "listed by the dashboard of the driver that created them.\n"
     "options:\n"
     "  --filter KEY=VALUE    only records whose field KEY is VALUE (state=RUNNING); repeatable\n"
     "  --limit=N             at most N records\n"
     "  --format=table|json   a table (default) or the dashboard's JSON as it is\n"
     "  --address=HOST:PORT   the dashboard to ask (also --dashboard=)\n"
     "  --token=T             the cluster token, for a dashboard off loopback (or MANTA_TOKEN)\n"
     "example:\n"
     "  manta list tasks --filter state=RUNNING --address=127.0.0.1:8265\n"},
    {"memory", "a running node's objects and memory use",
     {"--format", "--address", "--dashboard", "--token"},
     "usage: manta memory [--format=table|json] [--address=HOST:PORT]\n"
     "Every object of the node: id, size, references, location (memory, spilled, another node),\n"
     "type and the call that created it; then the store's totals. Options as `manta list`.\n"},
    {"timeline", "write a Chrome trace of a node's recent tasks",
     {"-o", "--output", "--address", "--dashboard", "--token"},
     "usage: manta timeline -o trace.json [--address=HOST:PORT]\n"
     "Writes the Chrome trace events of the node's recent tasks (one row per executor thread)\n"
     "to the file; open it in https://ui.perfetto.dev or chrome://tracing.\n"
     "options:\n"
     "  -o FILE, --output=FILE  the file to write (required)\n"
     "  --address=HOST:PORT     the dashboard to ask (as `manta list`)\n"},
    {"why", "what a pending object waits for",
     {"--address", "--dashboard", "--token", "--format"},
     "usage: manta why OBJECT_ID [--address=HOST:PORT]\n"
     "The chain of unfinished arguments, the missing resource or the actor queue a pending\n"
     "object waits for. OBJECT_ID: 16 hex digits, as `manta list tasks` prints.\n"},
    {"logs", "print what a task, an actor or a node printed; --follow for new lines",
     {"--actor", "--node", "--task", "--tail", "--follow", "--format", "--address",
      "--dashboard", "--token"},
     "usage: manta logs TASK_ID | --actor=ID_OR_NAME | --node[=NAME] [--tail=N] [--follow]\n"
     "                  [--format=table|json] [--address=HOST:PORT]\n"
     "The lines tasks and actor calls wrote to std::cout/std::cerr, as the node keeps them\n"
     "(log_prefix on: the latest 10,000 tasks that printed, 1,000 lines each), from its\n"
     "dashboard (as `manta list`). A driver also keeps the lines its tasks printed on workers.\n"
     "The head's dashboard gives every member's lines, each node's under \"== NODE ==\".\n"
     "A task's lines print as they are; an actor's or a node's after the call that printed\n"
     "them: \"(counter 'c1'.incr) the line\".\n"
     "options:\n"
     "  TASK_ID, --task=ID    a task or actor call (16 hex digits, as `manta list tasks` prints)\n"
     "  --actor=ID_OR_NAME    every call of an actor: its id or its name (`manta list actors`)\n"
     "  --node[=NAME]         every line the node kept (NAME, if given, must be that node's:\n"
     "                        \"node-2\" or its whole name)\n"
     "  --tail=N              only the last N lines\n"
     "  --follow, -f          then print new lines as they come (asked for every 250 ms) until\n"
     "                        interrupted; exits 1 when the node stops answering (at the\n"
     "                        head: follows every member, says which stops answering)\n"
     "  --format=json         one JSON object a line: seq, task, name, line (node at the head)\n"
     "  --address=HOST:PORT   the dashboard to ask (also --dashboard=); --token=T off loopback\n"
     "examples:\n"
     "  manta logs 000000000000002a\n"
     "  manta logs --actor=c1 --follow\n"
     "  manta logs --node --tail=100\n"},
    {"summary", "a node's tasks, actors or objects grouped and counted (as `ray summary`)",
     {"--group-by", "--format", "--address", "--dashboard", "--token"},
     "usage: manta summary tasks|actors|objects [--group-by=type|callsite]\n"
     "                     [--format=table|json] [--address=HOST:PORT]\n"
     "tasks: the tasks and actor calls the node (or, asking the head, the cluster) lists,\n"
     "grouped by function (\"Class.method\" for actor calls) with their count in each state;\n"
     "actors: grouped by class with their count in each state; objects: grouped by type (or\n"
     "--group-by=callsite: the call that created them) with count, total size (KiB, MiB, GiB)\n"
     "and where they are. Groups are sorted by name, states in the order of a task's life.\n"
     "Counts cover what `manta list` shows: the live tasks and the node's recent history.\n"
     "options:\n"
     "  --group-by=type|callsite  how objects are grouped (default type)\n"
     "  --format=table|json   a table (default) or one JSON document\n"
     "  --address=HOST:PORT   the dashboard to ask (as `manta list`)\n"},
    {"job", "run a driver as a job and follow it: submit, list, status, logs, stop",
     {"--address", "--token-file", "--transport", "--tls-cert", "--tls-key", "--tls-ca"},
     "usage: manta job submit [--address=HOST:PORT|auto] [--token-file=FILE] -- PROGRAM [ARGS...]\n"
     "       manta job list [--address=...] | status ID [--address=...] | logs ID | stop ID\n"
     "Job ids are the head's: `submit` registers the job with the head (--address, else\n"
     "MANTA_ADDRESS, else auto: the head started here), prints its id (job-0001, ...) and runs\n"
     "PROGRAM as that job's driver under a supervisor, its output in the runtime folder\n"
     "(jobs/ID/output.log). `list` and `status` ask the head, so they show the cluster's jobs\n"
     "(drivers started by hand too) from any machine that reaches it: state (PENDING, RUNNING,\n"
     "FINISHED, FAILED, STOPPED), pid, host, entrypoint and times. `logs` prints a job's output\n"
     "and `stop` sends SIGTERM to its process group, then SIGKILL after 5 s, on the machine that\n"
     "submitted it. The workers clean up what a driver that ended left on them\n"
     "(docs/cluster.md, \"Jobs\").\n"},
    {"microbenchmark", "measure per-task, per-get and per-put costs (Ray's metric names)",
     {"--filter", "--json", "--runs", "--num-cpus", "--scheduler-threads"},
     "usage: manta microbenchmark [--filter=SUBSTR] [--json] [--runs=N] [--num-cpus=N]\n"
     "Measures every metric of `ray microbenchmark` under Ray's names, with the raw-CAF floor\n"
     "measured in the same run and Ray's published figures as a ratio.\n"
     "options:\n"
     "  --filter=SUBSTR       only the metrics whose name contains SUBSTR\n"
     "  --json                one JSON document instead of the table\n"
     "  --runs=N              runs per metric, 1 to 1000 (default 5): mean and deviation\n"
     "  --num-cpus=N          the embedded node's CPUs\n"},
    {"sim", "run a program as a simulation under many seeds, report the failing ones",
     {"--seeds", "--jobs", "--timeout"},
     "usage: manta sim [--seeds=A..B] [--jobs=N] [--timeout=D] -- PROGRAM [ARGS...]\n"
     "Runs PROGRAM once per seed as a deterministic simulation (PROGRAM --simulate --seed=N\n"
     "ARGS...; docs/simulation.md), N processes at once, and lists the seeds whose run\n"
     "exited non-zero, crashed or timed out, with the end of their output and the command\n"
     "that replays the first one.\n"
     "options:\n"
     "  --seeds=A..B          the seeds to run (default 1..100); N alone runs one seed\n"
     "  --jobs=N              processes at once (default: the machine's cores)\n"
     "  --timeout=D           real time one run may take (default 60s)\n"
     "example:\n"
     "  manta sim --seeds=1..1000 -- ./app --sim-nodes=8 --sim-kills=2\n"},
    {"help", "show this text, or a verb's: manta help VERB", {},
     "usage: manta help [VERB]\n"},
  };
  return all;
}

const verb* find_verb(std::string_view name) {
  for (auto& v : verbs())
    if (name == v.name)
      return &v;
  return nullptr;
}

/// Levenshtein distance, for "did you mean".
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

} // namespace

std::string overview_help() {
  std::string out = "usage: manta VERB [options]   (manta VERB --help: the verb's options)\n"
                    "verbs:\n";
  for (auto& v : verbs()) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-15s %s\n", v.name, v.summary);
    out += line;
  }
  out += "  --version       Manta's version, git revision, and the CAF, Cap'n Proto and\n"
         "                  OpenSSL versions it was built with\n";
  return out + exit_codes;
}

std::string verb_help(std::string_view name) {
  auto* v = find_verb(name);
  if (v == nullptr)
    return {};
  return std::string{v->help} + exit_codes;
}

bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    if (a == "--")
      return false;
    if (a == "--help" || a == "-h")
      return true;
  }
  return false;
}

std::string version_text() {
  char out[256];
  std::snprintf(out, sizeof(out),
                "manta %s (git %s)\nCAF %d.%d.%d, Cap'n Proto %d.%d.%d, %s\n", MANTA_VERSION,
                MANTA_GIT_REVISION, CAF_VERSION / 10000, (CAF_VERSION / 100) % 100,
                CAF_VERSION % 100, CAPNP_VERSION_MAJOR, CAPNP_VERSION_MINOR,
                CAPNP_VERSION_MICRO, OpenSSL_version(OPENSSL_VERSION));
  return out;
}

std::string option_hint(std::string_view name, std::string_view arg, int argc, char** argv) {
  // A worker's program given without `--`: write the command with it.
  if (name == "start" && !arg.empty() && arg[0] != '-') {
    std::string fixed = "manta start";
    bool placed = false;
    for (int i = 1; i < argc; ++i) {
      if (!placed && std::string_view{argv[i]} == arg) {
        fixed += " --";
        placed = true;
      }
      fixed += ' ';
      fixed += argv[i];
    }
    return "  a worker's program and its arguments go after `--`, e.g.:\n  " + fixed + "\n";
  }
  auto* v = find_verb(name);
  if (v == nullptr || arg.empty() || arg[0] != '-')
    return {};
  auto given = arg.substr(0, arg.find('='));
  const char* best = nullptr;
  size_t best_distance = 3; // more than 2 edits away is no suggestion
  for (auto* flag : v->flags) {
    std::string_view f{flag};
    auto d = distance(given, f);
    // "--cpus" for "--num-cpus": a part of the flag's name.
    if (given.size() > 3 && f.find(given.substr(2)) != std::string_view::npos)
      d = std::min<size_t>(d, 2);
    if (d < best_distance) {
      best_distance = d;
      best = flag;
    }
  }
  if (best == nullptr)
    return {};
  auto value = arg.find('=') == std::string_view::npos ? std::string{}
                                                       : std::string{arg.substr(arg.find('='))};
  return "  did you mean " + std::string{best} + value + "?\n";
}

int unknown_option(std::string_view name, std::string_view arg, int argc, char** argv) {
  auto hint = option_hint(name, arg, argc, argv);
  const char* what = !arg.empty() && arg[0] == '-' ? "unknown option" : "unexpected argument";
  std::fprintf(stderr, "manta %.*s: %s '%.*s'\n%s  (manta %.*s --help lists its options)\n",
               static_cast<int>(name.size()), name.data(), what, static_cast<int>(arg.size()),
               arg.data(), hint.c_str(), static_cast<int>(name.size()), name.data());
  return exit_usage;
}

} // namespace manta::tools
