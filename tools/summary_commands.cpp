// `manta summary`: the records of `manta list` (the node's or the head's
// /api/tasks, /api/actors, /api/objects) grouped and counted.

#include "tools/summary_commands.hpp"

#include "tools/state_client.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace manta::tools {

namespace json = boost::json;

namespace {

/// The states in the order of a task's or an actor's life; any other comes
/// after them, by name.
int state_rank(const std::string& s) {
  static const char* order[] = {"PENDING_CREATION", "PENDING_ARGS", "WAITING_FOR_RESOURCES",
                                "QUEUED_IN_ACTOR",  "RUNNING",      "ALIVE",
                                "RESTARTING",       "FINISHED",     "FAILED",
                                "CANCELLED",        "DEAD"};
  for (int i = 0; i < int(std::size(order)); ++i)
    if (s == order[i])
      return i;
  return int(std::size(order));
}

std::string field(const json::object& x, const char* key) {
  auto* v = x.if_contains(key);
  return v == nullptr ? std::string{} : text_of(*v);
}

/// One group: its key fields, its count by state (or location) and bytes.
struct group {
  std::map<std::string, uint64_t> counts;
  uint64_t total = 0;
  uint64_t bytes = 0;
};

/// "FINISHED: 5, FAILED: 2", in life order; with `ordered` false by name.
std::string counts_text(const std::map<std::string, uint64_t>& counts, bool ordered) {
  std::vector<std::pair<std::string, uint64_t>> xs{counts.begin(), counts.end()};
  if (ordered)
    std::stable_sort(xs.begin(), xs.end(),
                     [](auto& a, auto& b) { return state_rank(a.first) < state_rank(b.first); });
  std::string out;
  for (auto& [k, n] : xs)
    out += (out.empty() ? "" : ", ") + k + ": " + std::to_string(n);
  return out;
}

json::object counts_json(const std::map<std::string, uint64_t>& counts) {
  json::object out;
  for (auto& [k, n] : counts)
    out[k] = n;
  return out;
}

/// Groups `rows` by the fields `keys` (the first is the group's name),
/// counting field `by` ("state" or "location") and summing "size_bytes".
std::map<std::vector<std::string>, group>
group_rows(const json::array& rows, const std::vector<const char*>& keys, const char* by) {
  std::map<std::vector<std::string>, group> out;
  for (auto& r : rows) {
    auto& x = r.as_object();
    std::vector<std::string> key;
    for (auto* k : keys)
      key.push_back(field(x, k));
    if (key[0].empty()) // a pending object's type is not known yet
      key[0] = "(unknown)";
    auto& g = out[key];
    ++g.counts[field(x, by)];
    ++g.total;
    if (auto* size = x.if_contains("size_bytes"); size != nullptr && size->is_number())
      g.bytes += size->to_number<uint64_t>();
  }
  return out;
}

#define MANTA_CELL(key) [](const json::object& x) { return field(x, key); }

/// The columns of object groups; only the name's heading tells a grouping
/// by type from one by callsite.
std::vector<column> object_columns(const char* name_heading) {
  return {{name_heading, MANTA_CELL("name")},
          {"COUNT", MANTA_CELL("total")},
          {"TOTAL_SIZE", MANTA_CELL("size_text")},
          {"WHERE", MANTA_CELL("counts_text")}};
}

int summarize(const std::string& kind, const std::string& group_by, const json::array& rows,
              bool as_json) {
  bool objects = kind == "objects";
  std::vector<const char*> keys = kind == "tasks"    ? std::vector<const char*>{"name", "kind"}
                                  : kind == "actors" ? std::vector<const char*>{"class_name"}
                                  : group_by == "callsite" ? std::vector<const char*>{"created_by"}
                                                           : std::vector<const char*>{"type"};
  auto groups = group_rows(rows, keys, objects ? "location" : "state");
  json::array out_rows;
  uint64_t bytes = 0;
  for (auto& [key, g] : groups) {
    json::object row;
    row["name"] = key[0];
    if (key.size() > 1)
      row["kind"] = key[1];
    row["total"] = g.total;
    row[objects ? "locations" : "states"] = counts_json(g.counts);
    row["counts_text"] = counts_text(g.counts, !objects);
    if (objects) {
      row["total_bytes"] = g.bytes;
      row["size_text"] = bytes_text(json::value(g.bytes));
    }
    bytes += g.bytes;
    out_rows.push_back(std::move(row));
  }
  if (as_json) {
    json::object doc;
    doc["kind"] = kind;
    doc["group_by"] = keys[0];
    doc["total"] = rows.size();
    if (objects)
      doc["total_bytes"] = bytes;
    for (auto& r : out_rows) {
      r.as_object().erase("counts_text");
      r.as_object().erase("size_text");
    }
    doc["groups"] = std::move(out_rows);
    std::printf("%s\n", json::serialize(doc).c_str());
    return 0;
  }
  static const std::vector<column> task_cols{{"NAME", MANTA_CELL("name")},
                                             {"KIND", MANTA_CELL("kind")},
                                             {"TOTAL", MANTA_CELL("total")},
                                             {"STATES", MANTA_CELL("counts_text")}};
  static const std::vector<column> actor_cols{{"CLASS", MANTA_CELL("name")},
                                              {"TOTAL", MANTA_CELL("total")},
                                              {"STATES", MANTA_CELL("counts_text")}};
  static const std::vector<column> type_cols = object_columns("TYPE");
  static const std::vector<column> site_cols = object_columns("CALLSITE");
  if (kind == "tasks")
    std::printf("%zu task(s) and actor call(s) in %zu group(s), by function:\n", rows.size(),
                out_rows.size());
  else if (kind == "actors")
    std::printf("%zu actor(s) in %zu class(es):\n", rows.size(), out_rows.size());
  else
    std::printf("%zu object(s), %s in all, in %zu group(s), by %s:\n", rows.size(),
                bytes_text(json::value(bytes)).c_str(), out_rows.size(),
                group_by == "callsite" ? "callsite" : "type");
  print_table(out_rows, kind == "tasks"          ? task_cols
                        : kind == "actors"       ? actor_cols
                        : group_by == "callsite" ? site_cols
                                                 : type_cols);
  return 0;
}

#undef MANTA_CELL

} // namespace

int summary_main(int argc, char** argv) {
  auto o = parse_state_options(argc, argv);
  std::string kind = o.positional.empty() ? "" : o.positional[0];
  std::string group_by = o.args.value("group-by", "type");
  if (o.error.empty()
      && (o.positional.size() != 1 || (kind != "tasks" && kind != "actors" && kind != "objects")))
    o.error = "summarize what? tasks, actors or objects";
  else if (o.error.empty() && group_by != "type" && group_by != "callsite")
    o.error = "--group-by is type or callsite, not '" + group_by + "'";
  else if (o.error.empty() && o.args.has("group-by") && kind != "objects")
    o.error = "--group-by is for `manta summary objects` (tasks group by function, actors "
              "by class)";
  if (!o.error.empty())
    return state_usage_error(o);
  auto body = fetch_state(o, "/api/" + kind);
  if (!body)
    return 1;
  return summarize(kind, group_by, json::parse(*body).as_array(), o.format == "json");
}

} // namespace manta::tools
