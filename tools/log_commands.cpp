// `manta logs`: what a task, an actor or a node printed, read from the
// node's dashboard (/api/log_lines, actors/dashboard_logs.hpp), once or
// followed.

#include "tools/log_commands.hpp"

#include "tools/http_client.hpp"
#include "tools/state_client.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace manta::tools {

namespace json = boost::json;

namespace {

/// How often `--follow` asks for new lines: a line shows within this.
constexpr auto poll_interval = std::chrono::milliseconds{250};

/// Prints one answer's lines; a task's as they are, an actor's or a node's
/// after the name of the call that printed them. Returns its `last`.
uint64_t print_lines(const json::object& answer, bool named, bool as_json) {
  for (auto& v : answer.at("lines").as_array()) {
    auto& l = v.as_object();
    if (as_json)
      std::printf("%s\n", json::serialize(l).c_str());
    else if (named)
      std::printf("(%s) %s\n", text_of(l.at("name")).c_str(), text_of(l.at("line")).c_str());
    else
      std::printf("%s\n", text_of(l.at("line")).c_str());
  }
  std::fflush(stdout);
  return answer.at("last").to_number<uint64_t>();
}

/// The head's answer: every member's that found lines, each printed under
/// its node's name. Following needs one node's sequence numbers, so it is
/// refused here with the node to ask instead.
int print_cluster(const json::array& answers, bool named, bool as_json, bool follow) {
  for (auto& a : answers) {
    auto& answer = a.as_object();
    if (!as_json)
      std::printf("== %s ==\n", text_of(answer.at("node")).c_str());
    print_lines(answer, named, as_json);
  }
  if (!follow)
    return 0;
  std::fprintf(stderr, "manta logs: --follow needs one node: the head gathers every "
                       "member's lines once; run it with --address=HOST:PORT of that node's own "
                       "dashboard\n");
  return 1;
}

/// Asks for lines after `last` until the node goes away (or the process is
/// interrupted); each request bounded by the HTTP client's timeout.
int follow(const state_options& o, const std::string& target, const std::string& node,
           uint64_t last, bool named) {
  for (;;) {
    std::this_thread::sleep_for(poll_interval);
    auto r = http_get(o.address, target + "&after=" + std::to_string(last), 10, o.token);
    if (!r.error.empty()) {
      std::fprintf(stderr,
                   "manta logs: %s no longer answers (%s): the node went away, stopped "
                   "following\n",
                   node.c_str(), r.error.c_str());
      return 1;
    }
    if (r.status != 200) {
      std::fprintf(stderr, "manta logs: %s answered %d: %s\nstopped following\n",
                   o.address.c_str(), r.status, r.body.c_str());
      return 1;
    }
    auto answer = json::parse(r.body).as_object();
    if (text_of(answer.at("node")) != node) {
      std::fprintf(stderr,
                   "manta logs: %s is now %s, not %s: the node went away, stopped following\n",
                   o.address.c_str(), text_of(answer.at("node")).c_str(), node.c_str());
      return 1;
    }
    last = print_lines(answer, named, o.format == "json");
  }
}

} // namespace

int logs_main(int argc, char** argv) {
  auto o = parse_state_options(argc, argv);
  auto& args = o.args;
  auto task = args.value("task", o.positional.size() == 1 ? o.positional[0] : "");
  int chosen = int(!task.empty() || args.has("task")) + int(args.has("actor"))
               + int(args.has("node"));
  if (o.error.empty() && o.positional.size() > 1)
    o.error = "give one task id, not " + std::to_string(o.positional.size()) + " arguments";
  else if (o.error.empty() && chosen != 1)
    o.error = chosen == 0 ? "whose logs? give a TASK_ID (`manta list tasks` lists them), "
                            "--actor=ID_OR_NAME (`manta list actors`) or --node"
                          : "give only one of TASK_ID, --actor and --node";
  std::string select;
  if (args.has("actor"))
    select = "actor=" + url_encode(args.value("actor"));
  else if (args.has("node"))
    select = "node=" + url_encode(args.value("node"));
  else
    select = "task=" + url_encode(task);
  std::string tail;
  if (args.has("tail")) {
    auto n = args.value("tail");
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
      o.error = "--tail takes a count of lines, not '" + n + "' (e.g. --tail=20)";
    tail = "&tail=" + n;
  }
  if (!o.error.empty())
    return state_usage_error(o);
  auto target = "/api/log_lines?" + select;
  auto body = fetch_state(o, target + tail);
  if (!body)
    return 1;
  auto answer = json::parse(*body).as_object();
  bool named = select.rfind("task=", 0) != 0;
  if (auto* answers = answer.if_contains("answers"); answers != nullptr && answers->is_array())
    return print_cluster(answers->as_array(), named, o.format == "json",
                         args.has("follow"));
  auto last = print_lines(answer, named, o.format == "json");
  if (auto* on = answer.if_contains("capturing"); on != nullptr && on->is_bool() && !on->as_bool())
    std::fprintf(stderr, "manta logs: %s keeps no lines: it runs with log_prefix off "
                         "(--log-prefix=off)\n",
                 text_of(answer.at("node")).c_str());
  if (!args.has("follow"))
    return 0;
  return follow(o, target, text_of(answer.at("node")), last, named);
}

} // namespace manta::tools
