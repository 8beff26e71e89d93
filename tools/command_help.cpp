// Every `manta` verb with its flags, each declared once: the verbs read
// them through command_line.hpp (Boost.Program_options), their help lists
// them and a misspelt flag is matched against them. Also `manta --version`
// and the hints for options a verb does not know.

#include "tools/command_help.hpp"

#include "manta/core/init_flags.hpp"
#include "tools/build_version.hpp"

#include <caf/config.hpp>
#include <capnp/common.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#ifndef MANTA_VERSION
#define MANTA_VERSION "unknown"
#endif

namespace manta::tools {

namespace {

constexpr const char* exit_codes =
  "exit codes: 0 done; 1 the command ran and failed (a node it cannot reach, a daemon that\n"
  "  did not come up, a refused file: the message says which); 2 bad usage (an unknown verb\n"
  "  or option, a bad value; nothing was done).\n";

/// The flags of the verbs that talk to the head: the token and TLS.
const std::vector<command_flag> tls_flags{
  {"token-file", "FILE",
   "the cluster token, from a file only you can read (mode 0600); or\n"
   "MANTA_TOKEN. --token=T is refused: every user can read a command line"},
  {"token", "T", "", 0, /*hidden=*/true},
  {"tls-cert", ""},
  {"tls-key", ""},
  {"tls-ca", ""},
  {"transport", "tls|plain", "plain turns TLS off (a trusted network only; MANTA_TRANSPORT)"},
};

/// The flags of the verbs that read a node's dashboard (state_client.hpp).
const std::vector<command_flag> dashboard_flags{
  {"address", "HOST:PORT",
   "the dashboard to ask (default: MANTA_DASHBOARD, else the latest node\n"
   "started here with a dashboard)"},
  {"dashboard", "HOST:PORT", "the same as --address"},
  {"token", "T", "the cluster token, for a dashboard off loopback (or MANTA_TOKEN)"},
};

const command_flag format_flag{"format", "table|json",
                               "a table (default) or the dashboard's JSON as it is"};

/// `first`, then each of `more`.
std::vector<command_flag> join(std::vector<command_flag> first,
                               std::initializer_list<const std::vector<command_flag>*> more) {
  for (auto* m : more)
    first.insert(first.end(), m->begin(), m->end());
  return first;
}

const std::vector<command_verb>& all_verbs() {
  static const std::vector<command_verb> all{
    {"start", "start a head node, or a worker node running your program, as a daemon",
     "usage: manta start --head [--port=P] [--dashboard-port=P|0|off] [options]\n"
     "       manta start --address=HOST:PORT|auto [--num-cpus=N] [--resources=GPU:1,...] [options]\n"
     "                   [-- PROGRAM [ARGS...]]\n"
     "Starts a daemon on this machine (pid and log files in the runtime folder, /tmp/manta-UID):\n"
     "a head node (the cluster's registry, bound to 127.0.0.1 unless --node-ip-address, with the\n"
     "cluster's dashboard), or\n"
     "a worker node running your PROGRAM, which registers its functions (MANTA_REMOTE) and calls\n"
     "manta::init(argc, argv). Everything after `--` is the program and its arguments. Without a\n"
     "program, the generic worker (manta-worker, beside manta), which runs the jobs whose drivers\n"
     "name their code with --code-search-path=LIB.so[:DIR] (docs/cluster.md, \"Jobs\").\n",
     join(
       {{"head", "", "start the head node"},
        {"port", "P", "the head's port (default 0: any free port; written to head.address)"},
        {"dashboard-port", "P",
         "the cluster's dashboard (default 8265; 0: any free port; off: none)"},
        {"address", "HOST:PORT", "the head a worker joins; auto: the head started here"},
        {"num-cpus", ""},
        {"resources", ""},
        {"connection-timeout", ""},
        {"node-ip-address", "ADDR",
         "an address of this machine to listen on and tell the cluster,\n"
         "instead of 127.0.0.1 (MANTA_NODE_IP)"},
        {"dashboard-host", "ADDR",
         "the head's dashboard address (off loopback it asks for the token)"},
        {"trusted-network", "", "allow --transport=plain off loopback (MANTA_TRUSTED_NETWORK=1)"},
        {"head-store", "redis://HOST:PORT/DB",
         "the head keeps its state there and a replacement\n"
         "recovers it; a worker given it (no --address needed) finds the head\n"
         "there and follows it when it moves (MANTA_HEAD_STORE)"}},
       {&tls_flags}),
     "examples:\n"
     "  manta start --head\n"
     "  manta start --address=auto --num-cpus=4 -- ./my_app\n"
     "  manta start --address=auto --num-cpus=4            (a generic worker)\n",
     0, /*program=*/true},
    {"stop",
     "stop the daemons `manta start` started here",
     "usage: manta stop\n"
     "Stops the daemons `manta start` started on this machine: only those its pid files\n"
     "recorded (same user, same start time, a Manta daemon), in a runtime folder that is yours\n"
     "alone. SIGTERM, then SIGKILL after 5 s. Takes no options.\n",
     {}},
    {"status", "list the cluster's worker nodes (or a node's state: --dashboard)",
     "usage: manta status [--address=HOST:PORT|auto] [--token-file=F] [TLS options]\n"
     "       manta status --dashboard=HOST:PORT\n"
     "Lists the cluster's live worker nodes, asking the head (default: the head started here);\n"
     "with --dashboard (or MANTA_DASHBOARD), a node's tasks by state, actors, memory and nodes.\n",
     join(
       {{"address", "HOST:PORT", "the head (auto: the one started here, the default)"},
        {"dashboard", "HOST:PORT", "a node's or the head's dashboard"},
        {"format", "table|json", "with --dashboard: a summary (default) or the dashboard's JSON"}},
       {&tls_flags})},
    {"list", "list a running node's tasks, actors, objects, nodes or placement groups",
     "usage: manta list tasks|actors|objects|nodes|placement-groups [--filter KEY=VALUE]...\n"
     "                  [--limit=N] [--format=table|json] [--address=HOST:PORT]\n"
     "What a running node holds, from its dashboard (a node started with --dashboard-port, or\n"
     "the head's for the whole cluster; default: MANTA_DASHBOARD, else the latest node started\n"
     "here with a dashboard). Placement groups (their bundles and the node each sits on) are\n"
     "listed by the dashboard of the driver that created them.\n",
     join({{"filter", "KEY=VALUE",
            "only records whose field KEY is VALUE (state=RUNNING); repeatable"},
           {"limit", "N", "at most N records"},
           format_flag},
          {&dashboard_flags}),
     "example:\n"
     "  manta list tasks --filter state=RUNNING --address=127.0.0.1:8265\n",
     1},
    {"memory", "a running node's objects and memory use",
     "usage: manta memory [--format=table|json] [--address=HOST:PORT]\n"
     "Every object of the node: id, size, references, location (memory, spilled, another node),\n"
     "type and the call that created it; then the store's totals.\n",
     join({format_flag}, {&dashboard_flags})},
    {"timeline", "write a Chrome trace of a node's recent tasks",
     "usage: manta timeline -o trace.json [--address=HOST:PORT]\n"
     "Writes the Chrome trace events of the node's recent tasks (one row per executor thread)\n"
     "to the file; open it in https://ui.perfetto.dev or chrome://tracing.\n",
     join({{"output", "FILE", "the file to write (required)", 'o'}}, {&dashboard_flags})},
    {"why", "what a pending object waits for",
     "usage: manta why OBJECT_ID [--address=HOST:PORT]\n"
     "The chain of unfinished arguments, the missing resource or the actor queue a pending\n"
     "object waits for. OBJECT_ID: 16 hex digits, as `manta list tasks` prints.\n",
     join({format_flag}, {&dashboard_flags}), "", -1},
    {"logs", "print what a task, an actor or a node printed; --follow for new lines",
     "usage: manta logs TASK_ID | --actor=ID_OR_NAME | --node[=NAME] [--tail=N] [--follow]\n"
     "                  [--format=table|json] [--address=HOST:PORT]\n"
     "The lines tasks and actor calls wrote to std::cout/std::cerr, as the node keeps them\n"
     "(log_prefix on: the latest 10,000 tasks that printed, 1,000 lines each), from its\n"
     "dashboard (as `manta list`). A driver also keeps the lines its tasks printed on workers.\n"
     "The head's dashboard gives every member's lines, each node's under \"== NODE ==\".\n"
     "A task's lines print as they are; an actor's or a node's after the call that printed\n"
     "them: \"(counter 'c1'.incr) the line\".\n",
     join(
       {{"task", "ID",
         "a task or actor call (16 hex digits, as `manta list tasks` prints);\n"
         "also given alone: manta logs TASK_ID"},
        {"actor", "ID_OR_NAME", "every call of an actor: its id or its name (`manta list actors`)"},
        {"node", "[NAME]",
         "every line the node kept (NAME, if given, must be that node's:\n"
         "\"node-2\" or its whole name)"},
        {"tail", "N", "only the last N lines"},
        {"follow", "",
         "then print new lines as they come (asked for every 250 ms) until\n"
         "interrupted; exits 1 when the node stops answering (at the\n"
         "head: follows every member, says which stops answering)",
         'f'},
        {"format", "table|json",
         "json: one JSON object a line: seq, task, name, line (node at\n"
         "the head)"}},
       {&dashboard_flags}),
     "examples:\n"
     "  manta logs 000000000000002a\n"
     "  manta logs --actor=c1 --follow\n"
     "  manta logs --node --tail=100\n",
     -1},
    {"summary", "a node's tasks, actors or objects grouped and counted (as `ray summary`)",
     "usage: manta summary tasks|actors|objects [--group-by=type|callsite]\n"
     "                     [--format=table|json] [--address=HOST:PORT]\n"
     "tasks: the tasks and actor calls the node (or, asking the head, the cluster) lists,\n"
     "grouped by function (\"Class.method\" for actor calls) with their count in each state;\n"
     "actors: grouped by class with their count in each state; objects: grouped by type (or\n"
     "--group-by=callsite: the call that created them) with count, total size (KiB, MiB, GiB)\n"
     "and where they are. Groups are sorted by name, states in the order of a task's life.\n"
     "Counts cover what `manta list` shows: the live tasks and the node's recent history.\n",
     join({{"group-by", "type|callsite", "how objects are grouped (default type)"},
           {"format", "table|json", "a table (default) or one JSON document"}},
          {&dashboard_flags}),
     "", -1},
    {"job", "run a driver as a job and follow it: submit, list, status, logs, stop",
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
     "(docs/cluster.md, \"Jobs\").\n",
     join({{"address", "HOST:PORT",
            "the head (default: MANTA_ADDRESS, else auto: the one started here)"}},
          {&tls_flags}),
     "", -1, /*program=*/true},
    {"microbenchmark",
     "measure per-task, per-get and per-put costs (Ray's metric names)",
     "usage: manta microbenchmark [--filter=SUBSTR,...] [--json] [--runs=N] [--min-time=S]\n"
     "                            [--num-cpus=N]\n"
     "Measures every metric of `ray microbenchmark` under Ray's names, with the raw-CAF floor\n"
     "measured in the same run and Ray's published figures as a ratio.\n",
     {{"filter", "SUBSTR,...", "only the metrics whose name contains one of them"},
      {"json", "", "one JSON document instead of the table"},
      {"runs", "N", "runs per metric, 1 to 1000 (default 5): mean and deviation"},
      {"min-time", "S",
       "repeat the metric within each run until it lasted S seconds, 0 to 60 (default 0)"},
      {"num-cpus", ""},
      {"scheduler-threads", ""}}},
    {"sim",
     "run a program as a simulation under many seeds, report the failing ones",
     "usage: manta sim [--seeds=A..B] [--jobs=N] [--timeout=D] -- PROGRAM [ARGS...]\n"
     "Runs PROGRAM once per seed as a deterministic simulation (PROGRAM --simulate --seed=N\n"
     "ARGS...; docs/simulation.md), N processes at once, and lists the seeds whose run\n"
     "exited non-zero, crashed or timed out, with the end of their output and the command\n"
     "that replays the first one.\n",
     {{"seeds", "A..B", "the seeds to run (default 1..100); N alone runs one seed"},
      {"jobs", "N", "processes at once (default: the machine's cores)"},
      {"timeout", "D", "real time one run may take (default 60s)"}},
     "example:\n"
     "  manta sim --seeds=1..1000 -- ./app --sim-nodes=8 --sim-kills=2\n",
     0,
     /*program=*/true},
    {"help", "show this text, or a verb's: manta help VERB", "usage: manta help [VERB]\n", {}},
  };
  return all;
}

/// The flag's value form and help as the help lists them: init's option's
/// (with its environment variable) where the verb gives none.
std::pair<std::string_view, std::string> described(const command_flag& f) {
  auto* option = f.help.empty() ? detail::find_init_flag(f.name) : nullptr;
  if (option == nullptr)
    return {f.value, std::string{f.help}};
  auto help = std::string{option->help};
  if (!option->env.empty())
    help += " (" + std::string{option->env} + ")";
  return {option->value, help};
}

/// The help's lines of `flags`: "  --name=VALUE  what it does".
std::string flag_lines(const std::vector<command_flag>& flags) {
  constexpr size_t column = 24;
  std::string out;
  for (auto& given : flags) {
    if (given.hidden)
      continue;
    auto [value, help] = described(given);
    std::string text = "  ";
    if (given.short_name != 0)
      text += std::string{'-', given.short_name} + (value.empty() ? "" : " " + std::string{value})
              + ", ";
    text += "--" + std::string{given.name};
    if (value.size() > 2 && value.front() == '[')
      text += "[=" + std::string{value.substr(1)};
    else if (!value.empty())
      text += "=" + std::string{value};
    text += text.size() < column ? std::string(column - text.size(), ' ')
                                 : "\n" + std::string(column, ' ');
    for (size_t at = 0, nl; at <= help.size(); at = nl + 1) {
      nl = std::min(help.find('\n', at), help.size());
      out += text + help.substr(at, nl - at) + "\n";
      text = std::string(column, ' ');
    }
  }
  return out;
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
  for (auto& v : all_verbs()) {
    std::string name{v.name};
    name.resize(std::max<size_t>(name.size(), 15), ' ');
    out += "  " + name + " " + std::string{v.summary} + "\n";
  }
  out += "  --version       Manta's version, git revision, and the CAF, Cap'n Proto and\n"
         "                  OpenSSL versions it was built with\n";
  return out + exit_codes;
}

const std::vector<command_verb>& command_verbs() {
  return all_verbs();
}

const command_verb* find_verb(std::string_view name) {
  for (auto& v : all_verbs())
    if (name == v.name)
      return &v;
  return nullptr;
}

std::string verb_help(std::string_view name) {
  auto* v = find_verb(name);
  if (v == nullptr)
    return {};
  auto flags = flag_lines(v->flags);
  return v->usage + (flags.empty() ? "" : "options:\n" + flags) + std::string{v->examples}
         + exit_codes;
}

std::string verb_usage(std::string_view name) {
  auto* v = find_verb(name);
  if (v == nullptr)
    return {};
  // "usage: ..." and the lines that go on with it (indented).
  std::string out;
  for (size_t at = 0, nl; at < v->usage.size(); at = nl + 1) {
    nl = std::min(v->usage.find('\n', at), v->usage.size());
    auto line = v->usage.substr(at, nl - at);
    if (!out.empty() && line.rfind(" ", 0) != 0 && line.rfind("usage: ", 0) != 0)
      break;
    out += line + "\n";
  }
  return out;
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
  std::snprintf(out, sizeof(out), "manta %s (git %s)\nCAF %d.%d.%d, Cap'n Proto %d.%d.%d, %s\n",
                MANTA_VERSION, MANTA_GIT_REVISION, CAF_VERSION / 10000, (CAF_VERSION / 100) % 100,
                CAF_VERSION % 100, CAPNP_VERSION_MAJOR, CAPNP_VERSION_MINOR, CAPNP_VERSION_MICRO,
                OpenSSL_version(OPENSSL_VERSION));
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
  std::string best;
  size_t best_distance = 3; // more than 2 edits away is no suggestion
  for (auto& flag : v->flags) {
    if (flag.hidden)
      continue;
    auto candidate = "--" + std::string{flag.name};
    std::string_view f{candidate};
    auto d = distance(given, f);
    // "--cpus" for "--num-cpus": a part of the flag's name.
    if (given.size() > 3 && f.find(given.substr(2)) != std::string_view::npos)
      d = std::min<size_t>(d, 2);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (best.empty())
    return {};
  auto value = arg.find('=') == std::string_view::npos ? std::string{}
                                                       : std::string{arg.substr(arg.find('='))};
  return "  did you mean " + best + value + "?\n";
}

std::string unknown_option_text(std::string_view name, std::string_view arg, int argc,
                                char** argv) {
  const char* what = !arg.empty() && arg[0] == '-' ? "unknown option" : "unexpected argument";
  return std::string{what} + " '" + std::string{arg} + "'\n" + option_hint(name, arg, argc, argv)
         + "  (manta " + std::string{name} + " --help lists its options)";
}

int usage_error(std::string_view name, const std::string& text) {
  std::fprintf(stderr, "manta %.*s: %s\n", static_cast<int>(name.size()), name.data(),
               text.c_str());
  return exit_usage;
}

} // namespace manta::tools
