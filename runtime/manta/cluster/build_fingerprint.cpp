#include "manta/cluster/build_fingerprint.hpp"

#include "manta/actor/actor_registry.hpp"
#include "manta/core/demangle.hpp"
#include "manta/sched/function_registry.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace manta::detail {

namespace {

std::string hex(uint64_t x) {
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

/// Hashes each field with its terminating '\0', so that no two different
/// field lists hash alike by running into each other.
uint64_t hash_field(std::string_view s, uint64_t h) {
  return fnv1a(std::string_view{s.data(), s.size()}, fnv1a(std::string_view{"\x1f", 1}, h));
}

wire::build_entry make_entry(std::string key, std::string signature,
                             std::vector<std::string> parts) {
  wire::build_entry e{std::move(key), 0, std::move(signature), std::move(parts)};
  auto h = hash_field(e.signature, hash_field(e.key, fnv1a("entry")));
  for (auto& p : e.parts)
    h = hash_field(p, h);
  e.hash = h;
  return e;
}

std::vector<std::string> call_parts(const callable_layout& l, bool with_result) {
  std::vector<std::string> out;
  for (size_t i = 0; i < l.params.size(); ++i)
    out.push_back("argument " + std::to_string(i + 1) + ": " + l.params[i]);
  if (with_result)
    out.push_back("result: " + l.result);
  return out;
}

wire::build_info compute() {
  wire::build_info b;
  for (auto& f : all_functions())
    b.entries.push_back(
      make_entry("function '" + f.name + "'", demangle(f.signature.c_str()),
                 f.layout ? call_parts(f.layout(), true) : std::vector<std::string>{}));
  for (auto& c : all_actor_classes()) {
    std::vector<std::string> methods;
    for (auto& m : c.methods)
      methods.push_back("method " + m.name + ": "
                        + (m.layout ? m.layout().to_string() : demangle(m.type->name())));
    std::sort(methods.begin(), methods.end());
    b.entries.push_back(
      make_entry("actor class '" + c.name + "'", demangle(c.type->name()), std::move(methods)));
    for (auto& [key, layout] : c.ctor_layouts)
      b.entries.push_back(
        make_entry("constructor of actor class '" + c.name + "' taking (" + layout.second + ")", {},
                   layout.first ? call_parts(layout.first(), false) : std::vector<std::string>{}));
  }
  std::sort(b.entries.begin(), b.entries.end(),
            [](const auto& x, const auto& y) { return x.key < y.key; });
  auto h = fnv1a("build");
  for (auto& e : b.entries)
    h = fnv1a(hex(e.hash), hash_field(e.key, h));
  b.hash = h;
  return b;
}

/// "label: layout" lines by label.
std::map<std::string, std::string> by_label(const std::vector<std::string>& parts) {
  std::map<std::string, std::string> out;
  for (auto& p : parts) {
    auto colon = p.find(": ");
    if (colon == std::string::npos)
      out[p] = {};
    else
      out[p.substr(0, colon)] = p.substr(colon + 2);
  }
  return out;
}

/// How two entries of the same key differ.
std::string explain(const wire::build_entry& here, const wire::build_entry& there) {
  auto mine = by_label(here.parts);
  auto theirs = by_label(there.parts);
  std::vector<std::string> diffs;
  for (auto& [label, layout] : mine) {
    auto t = theirs.find(label);
    if (t == theirs.end())
      diffs.push_back(label + " exists only here");
    else if (t->second != layout)
      diffs.push_back(label + " is " + layout + " here and " + t->second + " there");
  }
  for (auto& [label, _] : theirs)
    if (!mine.contains(label))
      diffs.push_back(label + " exists only there");
  if (diffs.empty() && here.signature != there.signature)
    diffs.push_back("its type is " + here.signature + " here and " + there.signature + " there");
  if (diffs.empty())
    diffs.push_back("its fingerprint is " + hex(here.hash) + " here and " + hex(there.hash)
                    + " there");
  std::string out;
  for (auto& d : diffs)
    out += (out.empty() ? "" : "; ") + d;
  return out;
}

} // namespace

const wire::build_info& this_build() {
  static const wire::build_info b = compute();
  return b;
}

std::string build_id(uint64_t hash) {
  return hex(hash).substr(0, 12);
}

std::string build_conflict(const wire::build_info& here, const wire::build_info& there) {
  if (here.hash == there.hash)
    return {};
  std::map<std::string_view, const wire::build_entry*> theirs;
  for (auto& e : there.entries)
    theirs.emplace(e.key, &e);
  std::string out;
  size_t differing = 0;
  for (auto& e : here.entries) {
    auto t = theirs.find(e.key);
    if (t == theirs.end() || t->second->hash == e.hash)
      continue;
    if (++differing <= 3)
      out += (out.empty() ? "" : "; ") + e.key + " differs: " + explain(e, *t->second);
  }
  if (differing > 3)
    out += "; and " + std::to_string(differing - 3) + " more";
  return out;
}

std::string join_conflict(const wire::node_record& joining, const wire::node_record& member) {
  auto what = build_conflict(joining.build, member.build);
  if (what.empty())
    return {};
  auto role = [](const wire::node_record& r) { return r.driver ? "driver" : "worker"; };
  return std::string{"this "} + role(joining) + " (pid " + std::to_string(joining.pid) + ", build "
         + build_id(joining.build.hash) + ") runs another build than " + role(member) + " node-"
         + std::to_string(member.index) + " (pid " + std::to_string(member.pid) + " on "
         + (member.host.empty() ? "?" : member.host) + ", build " + build_id(member.build.hash)
         + ") already in the cluster: " + what + " (here: this " + role(joining) + ", there: node-"
         + std::to_string(member.index)
         + "). Values would be decoded with the wrong layout, so the join is refused; run "
           "the same binary (or rebuild both) on every node";
}

std::string call_layout_refusal(const std::string& what, const std::string& node,
                                const callable_layout& here, uint64_t theirs) {
  if (theirs == 0 || theirs == here.hash)
    return {};
  return what + " lays out its types differently on " + node + " (build "
         + build_id(this_build().hash) + ") than in its caller's build: here it is "
         + here.to_string() + " (layout hash " + hex(here.hash) + "), the caller's layout hash is "
         + hex(theirs)
         + "; the call is refused instead of decoding one layout as the other; run the same "
           "binary (or rebuild both) on every node";
}

} // namespace manta::detail
