// `manta logs --follow`: new lines of one node, or through the head of
// every member, as they are written.

#include "tools/log_follow.hpp"

#include "tools/http_client.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

namespace manta::tools {

namespace json = boost::json;

namespace {

/// How often a follower asks for new lines: a line shows within this (plus,
/// through the head, the time the head takes to ask every member).
constexpr auto poll_interval = std::chrono::milliseconds{250};

/// What the follower of the head knows of one member.
struct member_cursor {
  uint64_t last = 0;  ///< The `last` of its latest answer.
  bool silent = false; ///< Said on stderr that it stopped answering.
};

} // namespace

uint64_t print_log_lines(const json::object& answer, bool named, bool as_json,
                         const std::string& node) {
  for (auto& v : answer.at("lines").as_array()) {
    auto& l = v.as_object();
    if (as_json && !node.empty()) {
      auto with_node = l;
      with_node["node"] = node;
      std::printf("%s\n", json::serialize(with_node).c_str());
    } else if (as_json) {
      std::printf("%s\n", json::serialize(l).c_str());
    } else if (named) {
      std::printf("(%s) %s\n", text_of(l.at("name")).c_str(), text_of(l.at("line")).c_str());
    } else {
      std::printf("%s\n", text_of(l.at("line")).c_str());
    }
  }
  std::fflush(stdout);
  return answer.at("last").to_number<uint64_t>();
}

int follow_node(const state_options& o, const std::string& target, const std::string& node,
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
      std::fprintf(stderr, "manta logs: %s answered %d: %s\nstopped following\n", o.address.c_str(),
                   r.status, r.body.c_str());
      return 1;
    }
    auto answer = json::parse(r.body).as_object();
    if (text_of(answer.at("node")) != node) {
      std::fprintf(stderr,
                   "manta logs: %s is now %s, not %s: the node went away, stopped following\n",
                   o.address.c_str(), text_of(answer.at("node")).c_str(), node.c_str());
      return 1;
    }
    last = print_log_lines(answer, named, o.format == "json");
  }
}

int follow_cluster(const state_options& o, const std::string& target, const json::object& first,
                   bool named) {
  bool as_json = o.format == "json";
  std::map<std::string, member_cursor> members;
  std::string shown; // the node whose header was printed last
  auto take = [&](const json::object& answer) {
    for (auto& a : answer.at("answers").as_array()) {
      auto& one = a.as_object();
      auto node = text_of(one.at("node"));
      auto& m = members[node];
      if (m.silent)
        std::fprintf(stderr, "manta logs: %s answers the head again\n", node.c_str());
      m.silent = false;
      if (!one.at("lines").as_array().empty() && node != shown && !as_json) {
        std::printf("== %s ==\n", node.c_str());
        shown = node;
      }
      m.last = print_log_lines(one, named, as_json, node);
    }
    auto* silent = answer.if_contains("silent");
    if (silent == nullptr || !silent->is_array())
      return;
    for (auto& s : silent->as_array()) {
      auto node = text_of(s.at("node"));
      auto state = text_of(s.at("state"));
      auto i = members.find(node);
      bool followed = i != members.end() && !i->second.silent;
      // At the start only those that should answer: the head keeps the
      // latest members that left, as DEAD.
      if (!followed && (i != members.end() || state == "DEAD"))
        continue;
      auto why = text_of(s.at("error"));
      std::fprintf(stderr,
                   "manta logs: %s does not answer the head (%s%s%s): its new lines are not "
                   "shown; following the other members\n",
                   node.c_str(), state.c_str(), why.empty() ? "" : ": ", why.c_str());
      members[node].silent = true;
    }
    std::fflush(stderr);
  };
  take(first);
  for (;;) {
    std::this_thread::sleep_for(poll_interval);
    auto next = target;
    for (auto& [node, m] : members)
      next += "&cursor=" + url_encode(node + ":" + std::to_string(m.last));
    auto r = http_get(o.address, next, 10, o.token);
    if (!r.error.empty()) {
      std::fprintf(stderr, "manta logs: the head at %s no longer answers (%s): stopped following\n",
                   o.address.c_str(), r.error.c_str());
      return 1;
    }
    if (r.status != 200) {
      std::fprintf(stderr, "manta logs: the head at %s answered %d: %s\nstopped following\n",
                   o.address.c_str(), r.status, r.body.c_str());
      return 1;
    }
    auto answer = json::parse(r.body).as_object();
    if (answer.if_contains("answers") == nullptr) {
      std::fprintf(stderr, "manta logs: %s is no longer a head: stopped following\n",
                   o.address.c_str());
      return 1;
    }
    take(answer);
  }
}

} // namespace manta::tools
