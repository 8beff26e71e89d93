#include "manta/memory_summary.hpp"

#include "manta/store/borrowers.hpp"
#include "manta/core/runtime.hpp"
#include "manta/store/object_store.hpp"
#include "manta/cluster/remote_object.hpp"
#include "manta/sched/task_error.hpp"

#include <algorithm>
#include <cstdio>

namespace manta {

namespace {

std::string describe_origin(const detail::object_slot& s) {
  if (auto* name = s.task_name())
    return "task " + *name;
  // `put` records its origin after the slot is in the table and before its
  // seal: read once the seal is seen (done() acquires it), never while
  // `put` may still write it (a race ThreadSanitizer reported).
  if (!s.done())
    return "-";
  auto& loc = s.origin();
  if (loc.line() == 0)
    return "-";
  std::string file = loc.file_name();
  if (auto slash = file.rfind('/'); slash != std::string::npos)
    file = file.substr(slash + 1);
  return file + ":" + std::to_string(loc.line()) + " (" + loc.function_name() + ")";
}

std::string clip(std::string s, size_t width) {
  if (s.size() > width)
    s = s.substr(0, width - 3) + "...";
  return s;
}

} // namespace

memory_report memory_summary() {
  memory_report out;
  // With no runtime: an empty store's report.
  auto* rt = detail::runtime::live();
  if (rt == nullptr)
    return out;
  auto& store = rt->store();
  store.table().for_each([&](const detail::slot_ptr& s) {
    object_memory_info info;
    info.id = s->id();
    info.owner = "node-" + std::to_string(s->id().node());
    if (auto& r = s->remote(); r && r->lender) // borrowed: counted by its lender
      info.owner = "node-" + std::to_string(r->lender->owner);
    info.borrowers = detail::ref_borrowers(s->id().value());
    // The snapshot that hands us `s` holds one reference itself.
    info.references = s.use_count() - 1;
    info.created_by = describe_origin(*s);
    if (!s->done()) {
      info.location = "pending";
    } else if (s->failed()) {
      info.location = "failed";
    } else {
      info.size_bytes = s->size_bytes();
      info.type = detail::demangle(s->type().name());
      info.pins = s->pins();
      if (s->resident()) {
        info.location = "memory";
      } else if (s->remote() != nullptr && !s->has_spill_file()) {
        // Made on another node and not read here yet: the bytes live there.
        info.location = "node " + std::to_string(s->remote()->node.load());
      } else {
        info.location = "spilled";
        ++out.spilled_objects;
        out.bytes_spilled += s->size_bytes();
      }
    }
    out.objects.push_back(std::move(info));
  });
  // Results kept here for owners on other nodes, and copies of their
  // objects: in this node's budget, spilled like its own values.
  for (auto& h : store.held().list()) {
    object_memory_info info;
    info.id = object_id{h.id};
    info.owner = "node-" + std::to_string(info.id.node());
    info.size_bytes = h.size;
    info.type = "encoded bytes";
    info.created_by = h.cached ? "copy of node-" + std::to_string(info.id.node()) + "'s object"
                               : "task result held for node-" + std::to_string(info.id.node());
    info.pins = h.in_use ? 1 : 0;
    if (!h.complete) {
      info.location = "reading";
    } else if (h.spilled) {
      info.location = "spilled";
      ++out.spilled_objects;
      out.bytes_spilled += h.size;
    } else {
      info.location = "memory";
    }
    out.objects.push_back(std::move(info));
  }
  std::sort(out.objects.begin(), out.objects.end(), [](auto& x, auto& y) {
    return x.size_bytes != y.size_bytes ? x.size_bytes > y.size_bytes : x.id < y.id;
  });
  out.num_objects = out.objects.size();
  out.bytes_in_memory = store.table().bytes_used();
  auto& spill = store.spill();
  out.spill_files = spill.files();
  out.spill_bytes_on_disk = spill.bytes_on_disk();
  out.spill_directory = spill.directory();
  out.budget_bytes = store.budget().limit();
  return out;
}

std::string memory_report::to_string(size_t max_rows) const {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line), "%-16s  %10s  %-8s  %4s  %-8s  %-28s  %s\n", "object id",
                "size", "owner", "refs", "where", "type", "created by");
  out += line;
  size_t shown = 0;
  for (auto& o : objects) {
    if (shown++ == max_rows) {
      out += "... " + std::to_string(objects.size() - max_rows) + " more object(s)\n";
      break;
    }
    auto where = o.location + (o.pins > 0 ? "*" : "");
    auto by = o.created_by;
    for (size_t i = 0; i < o.borrowers.size(); ++i)
      by += (i == 0 ? " [borrowed by node-" : ", node-") + std::to_string(o.borrowers[i])
            + (i + 1 == o.borrowers.size() ? "]" : "");
    std::snprintf(line, sizeof(line), "%-16s  %10s  %-8s  %4ld  %-8s  %-28s  %s\n",
                  manta::to_string(o.id).c_str(), detail::format_bytes(o.size_bytes).c_str(),
                  o.owner.c_str(), o.references, where.c_str(), clip(o.type, 28).c_str(),
                  by.c_str());
    out += line;
  }
  out += "--\n" + std::to_string(num_objects) + " object(s); in memory "
         + detail::format_bytes(bytes_in_memory) + " of a " + detail::format_bytes(budget_bytes)
         + " budget; spilled " + std::to_string(spilled_objects) + " object(s), "
         + detail::format_bytes(bytes_spilled) + " (" + std::to_string(spill_files) + " file(s), "
         + detail::format_bytes(spill_bytes_on_disk) + " on disk in " + spill_directory + ")\n";
  if (std::any_of(objects.begin(), objects.end(), [](auto& o) { return o.pins > 0; }))
    out += "* pinned: a task or reader is using the value right now\n";
  return out;
}

} // namespace manta
