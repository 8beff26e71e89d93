#include "manta/dashboard/head_metrics.hpp"

#include "manta/observe/json.hpp"
#include "manta/observe/prometheus.hpp"

#include <map>
#include <set>

namespace manta::actors {

namespace {

/// One metric family of the merged exposition.
struct family {
  std::string help;
  std::string type;
  std::vector<std::string> samples;
};

/// Families in the order they were first seen, so the output is stable.
class merger {
public:
  /// Adds every family and sample of `text`, labelled with `node` (if not
  /// empty: the head's own samples carry their labels already).
  void add(const std::string& text, const std::string& node) {
    family* current = nullptr;
    bool skip = false;
    size_t at = 0;
    while (at < text.size()) {
      auto end = text.find('\n', at);
      if (end == std::string::npos)
        end = text.size();
      std::string_view line{text.data() + at, end - at};
      at = end + 1;
      if (line.empty())
        continue;
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        auto rest = line.substr(7);
        auto space = rest.find(' ');
        if (space == std::string_view::npos)
          continue;
        current = &get(std::string{rest.substr(0, space)});
        auto value = std::string{rest.substr(space + 1)};
        if (line[2] == 'H') {
          if (current->help.empty())
            current->help = value;
        } else if (current->type.empty()) {
          current->type = value;
          skip = false;
        } else {
          skip = current->type != value;
        }
        continue;
      }
      if (line[0] == '#' || current == nullptr || skip)
        continue; // a comment, or a sample of no family we can name
      if (node.empty())
        current->samples.emplace_back(line);
      else if (auto labelled = with_node_label(line, node); !labelled.empty())
        current->samples.push_back(std::move(labelled));
    }
  }

  std::string text() const {
    std::string out;
    for (auto& name : order_) {
      auto& f = families_.at(name);
      if (f.samples.empty() || f.type.empty())
        continue;
      out += "# HELP " + name + " " + (f.help.empty() ? name : f.help) + "\n";
      out += "# TYPE " + name + " " + f.type + "\n";
      for (auto& s : f.samples)
        out += s + "\n";
    }
    return out;
  }

private:
  family& get(const std::string& name) {
    auto [it, added] = families_.try_emplace(name);
    if (added)
      order_.push_back(name);
    return it->second;
  }

  std::vector<std::string> order_;
  std::map<std::string, family> families_;
};

std::string role_of(const member_state& m) {
  if (m.state == "ALIVE" && !m.answer.role.empty())
    return m.answer.role;
  return m.record.driver ? "driver" : "worker";
}

} // namespace

std::string metrics_node_label(const member_state& m) {
  return "node-" + std::to_string(m.state == "ALIVE" ? m.answer.index : m.record.index);
}

std::string with_node_label(std::string_view line, std::string_view node) {
  auto name_end = line.find_first_of("{ ");
  if (name_end == std::string_view::npos || name_end == 0)
    return {};
  std::string out{line.substr(0, name_end)};
  out += "{node=\"";
  out += node; // "node-N" or "head": nothing to escape
  out += '"';
  size_t i = name_end;
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      auto eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
        return {};
      auto key = line.substr(i, eq - i);
      size_t v = eq + 2;
      while (v < line.size() && line[v] != '"')
        v += line[v] == '\\' ? 2 : 1;
      if (v >= line.size())
        return {};
      out += ',';
      if (key == "node")
        out += "exported_";
      out += line.substr(i, v + 1 - i); // key="value" as it was escaped
      i = v + 1;
      if (i < line.size() && line[i] == ',')
        ++i;
    }
    if (i >= line.size())
      return {};
    ++i; // '}'
  }
  out += '}';
  out += line.substr(i); // " value" (and a timestamp, if any)
  return out;
}

std::string cluster_metrics(const std::vector<member_state>& members) {
  merger all;
  detail::prometheus_writer head;
  detail::write_process_metrics(head);
  all.add(head.take(), "head");
  detail::prometheus_writer up;
  up.family("manta_node_up", "gauge",
            "Whether a member answered the head's query (1) or not: stopped, too slow or "
            "gone (0).");
  std::set<std::string> named;
  for (auto& m : members) {
    auto node = metrics_node_label(m);
    if (named.insert(node).second) // a rejoined member's departed record: once
      up.sample("manta_node_up", {{"node", node}, {"role", role_of(m)}},
                m.state == "ALIVE" ? 1 : 0);
  }
  all.add(up.take(), "");
  for (auto& m : members)
    if (m.state == "ALIVE")
      all.add(m.answer.metrics_text, metrics_node_label(m));
  return all.text();
}

std::string prometheus_sd(const std::vector<member_state>& members) {
  using detail::json::text;
  boost::json::array out;
  for (auto& m : members) {
    if (m.state != "ALIVE" || m.answer.dashboard.empty())
      continue;
    out.push_back(boost::json::object{
      {"targets", boost::json::array{text(m.answer.dashboard)}},
      {"labels", {{"node", text(metrics_node_label(m))}, {"role", text(role_of(m))}}}});
  }
  return boost::json::serialize(out) + "\n";
}

} // namespace manta::actors
