#include "manta/sim/sim_config.hpp"

#include "manta/core/init_flags.hpp"
#include "manta/core/option_values.hpp"
#include "manta/core/text_pairs.hpp"
#include "manta/errors.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace manta::detail {

namespace {

[[noreturn]] void bad(std::string_view where, const std::string& what) {
  throw invalid_argument_error("manta sim: " + std::string{where} + ": " + what);
}

std::chrono::nanoseconds json_duration(const std::string& where, const boost::json::value& v) {
  if (v.is_string())
    return parse_sim_duration(where, std::string_view{v.as_string()});
  if (v.is_int64() && v.as_int64() >= 0)
    return std::chrono::nanoseconds{v.as_int64()};
  bad(where, "expected a duration such as \"10ms\" or a count of nanoseconds");
}

double json_number(const std::string& where, const boost::json::value& v) {
  if (v.is_double())
    return v.as_double();
  if (v.is_int64())
    return static_cast<double>(v.as_int64());
  if (v.is_uint64())
    return static_cast<double>(v.as_uint64());
  bad(where, "expected a number");
}

uint32_t json_node(const std::string& where, const boost::json::value& v) {
  if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() > UINT32_MAX)
    bad(where, "expected a node number");
  return static_cast<uint32_t>(v.as_int64());
}

sim_fault json_fault(const std::string& where, const boost::json::value& v) {
  if (!v.is_object())
    bad(where, "expected an object such as {\"at\": \"10ms\", \"kill\": 2}");
  sim_fault f;
  int kinds = 0;
  for (auto& [key, val] : v.as_object()) {
    auto at = where + "." + std::string{key};
    if (key == "at") {
      f.at = json_duration(at, val);
    } else if (key == "kill" || key == "revive" || key == "slow") {
      f.what = key == "kill"     ? sim_fault::kind::kill
               : key == "revive" ? sim_fault::kind::revive
                                 : sim_fault::kind::slow;
      f.node = json_node(at, val);
      ++kinds;
    } else if (key == "partition") {
      if (!val.is_array())
        bad(at, "expected a list of nodes");
      f.what = sim_fault::kind::partition;
      for (auto& n : val.as_array())
        f.group.push_back(json_node(at, n));
      ++kinds;
    } else if (key == "heal") {
      f.what = sim_fault::kind::heal;
      ++kinds;
    } else if (key == "factor") {
      f.factor = json_number(at, val);
    } else {
      bad(at, "unknown key; a fault has \"at\" and one of \"kill\", \"revive\", "
              "\"partition\", \"heal\", \"slow\" (with \"factor\")");
    }
  }
  if (kinds != 1)
    bad(where, "a fault needs exactly one of \"kill\", \"revive\", \"partition\", \"heal\", "
               "\"slow\"");
  return f;
}

/// The schedule file's keys that each hold one plain value, by the type
/// read: a duration, a number or a node count (`read_sim_schedule`).
template <class T>
using sim_member = std::pair<std::string_view, T simulation_options::*>;

using sim = simulation_options;
constexpr sim_member<std::chrono::nanoseconds> duration_keys[]{
  {"latency", &sim::latency},
  {"jitter", &sim::jitter},
  {"resend_after", &sim::resend_after},
  {"detect_after", &sim::detect_after},
  {"task_duration", &sim::task_duration},
  {"kill_window", &sim::kill_window},
  {"call_duration", &sim::call_duration},
  {"cpu_quantum", &sim::cpu_quantum},
  {"partition_length", &sim::partition_length},
  {"slow_length", &sim::slow_length},
  {"fault_window", &sim::fault_window}};
constexpr sim_member<double> number_keys[]{{"cpus_per_node", &sim::cpus_per_node},
                                           {"loss", &sim::loss},
                                           {"slow_factor", &sim::slow_factor}};
constexpr sim_member<uint32_t> count_keys[]{{"random_kills", &sim::random_kills},
                                            {"random_partitions", &sim::random_partitions},
                                            {"random_slowdowns", &sim::random_slowdowns}};

/// Sets the member that `key` names in `table` to `read()`; false if the
/// table lacks the key.
template <class T, size_t N, class Read>
bool set_member(const sim_member<T> (&table)[N], std::string_view key, simulation_options& out,
                Read read) {
  for (auto& [name, member] : table)
    if (name == key) {
      out.*member = read();
      return true;
    }
  return false;
}

} // namespace

std::chrono::nanoseconds parse_sim_duration(std::string_view where, std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  std::string_view unit{end, static_cast<size_t>(text.data() + text.size() - end)};
  double scale = unit.empty() || unit == "ns" ? 1
                 : unit == "us"               ? 1e3
                 : unit == "ms"               ? 1e6
                 : unit == "s"                ? 1e9
                                              : -1;
  if (ec != std::errc{} || scale < 0 || !(v >= 0) || v * scale > 1e18)
    bad(where, "expected a duration such as 250us, 10ms or 1.5s (ns, us, ms, s), got '"
                 + std::string{text} + "'");
  return std::chrono::nanoseconds{static_cast<int64_t>(std::llround(v * scale))};
}

uint64_t parse_sim_count(std::string_view where, std::string_view text, uint64_t min,
                         uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    bad(where, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max)
                 + ", got '" + std::string{text} + "'");
  return v;
}

sim_cost parse_sim_cost(std::string_view where, std::string_view text) {
  if (text == "zero")
    return sim_cost::zero;
  if (text == "declared")
    return sim_cost::declared;
  if (text == "measured")
    return sim_cost::measured;
  bad(where, "expected zero, declared or measured, got '" + std::string{text} + "'");
}

double parse_sim_rate(std::string_view where, std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || !(v >= 0))
    bad(where,
        "expected bytes per second (0: unlimited), e.g. 1.25e9, got '" + std::string{text} + "'");
  return v;
}

std::map<uint32_t, resource_map> parse_sim_resources(std::string_view where,
                                                     std::string_view text) {
  std::map<uint32_t, resource_map> out;
  for_each_pair(
    text, ';', '=',
    [&](std::string_view key, std::string_view resources) {
      auto node = static_cast<uint32_t>(parse_sim_count(where, key, 0, 999'999));
      if (out.count(node) != 0)
        bad(where, "names node " + std::to_string(node)
                     + " twice; give each node's resources once, e.g. 1=GPU:1,disk:2");
      out[node] = parse_resources(where, resources);
    },
    [&](std::string_view) {
      bad(where, "expected NODE=NAME:AMOUNT,... for each node, separated by ';' (e.g. "
                 "1=GPU:1;2=disk:2,GPU:1), got '"
                   + std::string{text} + "'");
    });
  return out;
}

void sim_request::add(const init_flag& f, std::string where, std::string_view text) {
  if (f.name == "simulate") {
    simulate = text.empty() || parse_switch(where, text);
    return;
  }
  if (f.name != "seed")
    any_sim_option = true;
  settings.push_back({&f, std::move(where), std::string{text}});
}

std::optional<simulation_options> sim_request::resolve() const {
  if (!simulate.value_or(any_sim_option))
    return std::nullopt;
  simulation_options opts;
  // The schedule file (the last one named) first: the options override it.
  std::string schedule;
  for (auto& s : settings)
    if (s.flag->name == "sim-schedule")
      schedule = s.text;
  if (!schedule.empty())
    read_sim_schedule(schedule, opts);
  for (auto& s : settings)
    if (s.flag->name != "sim-schedule")
      s.flag->set_sim(opts, s.where, s.text);
  return opts;
}

void read_sim_schedule(const std::string& path, simulation_options& opts) {
  std::ifstream in{path};
  if (!in)
    bad(path, "cannot read the schedule file; give a JSON file (docs/simulation.md)");
  std::stringstream text;
  text << in.rdbuf();
  boost::json::error_code ec;
  auto doc = boost::json::parse(text.str(), ec);
  if (ec)
    bad(path, "not valid JSON: " + ec.message());
  if (!doc.is_object())
    bad(path, "expected a JSON object at the top");
  for (auto& [key, val] : doc.as_object()) {
    auto at = path + ": " + std::string{key};
    if (set_member(duration_keys, key, opts, [&] { return json_duration(at, val); })
        || set_member(number_keys, key, opts, [&] { return json_number(at, val); })
        || set_member(count_keys, key, opts, [&] { return json_node(at, val); }))
      continue;
    if (key == "seed") {
      if (!val.is_int64() && !val.is_uint64())
        bad(at, "expected a whole number");
      opts.seed = val.is_uint64() ? val.as_uint64() : static_cast<uint64_t>(val.as_int64());
    } else if (key == "nodes") {
      opts.nodes = json_node(at, val);
      if (opts.nodes == 0)
        bad(at, "a simulation needs at least one node");
    } else if (key == "cost") {
      if (!val.is_string())
        bad(at, "expected \"zero\", \"declared\" or \"measured\"");
      opts.cost = parse_sim_cost(at, std::string_view{val.as_string()});
    } else if (key == "bandwidth") {
      opts.bandwidth = json_number(at, val);
      if (!(opts.bandwidth >= 0))
        bad(at, "expected bytes per second, >= 0 (0: unlimited)");
    } else if (key == "trace_file") {
      if (!val.is_string())
        bad(at, "expected a file name");
      opts.trace_file = std::string{val.as_string()};
    } else if (key == "node_resources") {
      // {"1": {"GPU": 1}, "2": {"disk": 2}}
      if (!val.is_object())
        bad(at, "expected an object of nodes, e.g. {\"1\": {\"GPU\": 1}}");
      for (auto& [node, res] : val.as_object()) {
        auto node_at = at + "." + std::string{node};
        auto n = parse_sim_count(node_at, std::string_view{node}, 0, 999'999);
        if (!res.is_object())
          bad(node_at, "expected the node's resources, e.g. {\"GPU\": 1}");
        resource_map own;
        for (auto& [name, amount] : res.as_object())
          own[std::string{name}] = json_number(node_at + "." + std::string{name}, amount);
        opts.node_resources[static_cast<uint32_t>(n)] = std::move(own);
      }
    } else if (key == "faults") {
      if (!val.is_array())
        bad(at, "expected a list of faults");
      size_t i = 0;
      for (auto& f : val.as_array())
        opts.faults.push_back(json_fault(at + "[" + std::to_string(i++) + "]", f));
    } else {
      bad(at, "unknown key; the keys are seed, nodes, cpus_per_node, latency, jitter, loss, "
              "resend_after, detect_after, task_duration, call_duration, cost, cpu_quantum, "
              "bandwidth, random_kills, kill_window, random_partitions, partition_length, "
              "random_slowdowns, slow_factor, slow_length, fault_window, trace_file, "
              "node_resources, faults");
    }
  }
}

} // namespace manta::detail
