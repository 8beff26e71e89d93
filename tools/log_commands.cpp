// `manta logs`: what a task, an actor or a node printed, read from the
// node's dashboard or the head's (/api/log_lines, dashboard/dashboard_logs.hpp),
// once or followed (log_follow.hpp).

#include "tools/log_commands.hpp"

#include "tools/log_follow.hpp"
#include "tools/state_client.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <string>

namespace manta::tools {

namespace json = boost::json;

namespace {

/// The head's answer: every member's that found lines, each printed under
/// its node's name.
int print_cluster(const json::array& answers, bool named, bool as_json) {
  for (auto& a : answers) {
    auto& answer = a.as_object();
    auto node = text_of(answer.at("node"));
    if (!as_json)
      std::printf("== %s ==\n", node.c_str());
    print_log_lines(answer, named, as_json, node);
  }
  return 0;
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
  bool following = args.has("follow");
  if (auto* answers = answer.if_contains("answers"); answers != nullptr && answers->is_array())
    return following ? follow_cluster(o, target, answer, named)
                     : print_cluster(answers->as_array(), named, o.format == "json");
  auto last = print_log_lines(answer, named, o.format == "json");
  if (auto* on = answer.if_contains("capturing"); on != nullptr && on->is_bool() && !on->as_bool())
    std::fprintf(stderr,
                 "manta logs: %s keeps no lines: it runs with log_prefix off "
                 "(--log-prefix=off)\n",
                 text_of(answer.at("node")).c_str());
  if (!following)
    return 0;
  return follow_node(o, target, text_of(answer.at("node")), last, named);
}

} // namespace manta::tools
