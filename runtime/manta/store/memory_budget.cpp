#include "manta/store/memory_budget.hpp"

#include "manta/store/object_store.hpp"
#include "manta/sched/task_error.hpp"
#include "manta/errors.hpp"

#include <algorithm>
#include <cstdio>
#include <unistd.h>
#include <vector>

namespace manta::detail {

namespace {

/// Spilling frees a little more than asked (up to this share of the budget)
/// so that a stream of puts near the limit does not scan the table each time.
constexpr size_t slack_divisor = 20;

bool spill_candidate(const object_slot& s) {
  return s.done() && !s.failed() && s.spillable() && s.resident() && s.pins() == 0;
}

} // namespace

size_t memory_budget::default_limit() noexcept {
  auto pages = ::sysconf(_SC_PHYS_PAGES);
  auto page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0)
    return size_t{2} << 30;
  return static_cast<size_t>(static_cast<double>(pages) * static_cast<double>(page) * 0.3);
}

std::string format_bytes(size_t bytes) {
  char buf[32];
  if (bytes < 1024)
    std::snprintf(buf, sizeof(buf), "%zu B", bytes);
  else if (bytes < (size_t{1} << 20))
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  else if (bytes < (size_t{1} << 30))
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  else
    std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(bytes) / 1073741824.0);
  return buf;
}

bool memory_budget::make_room(size_t need) {
  auto& table = table_;
  auto fits = [&](size_t slack) { return table.bytes_used() + need + slack <= limit(); };
  std::lock_guard<std::mutex> guard{spill_mtx_};
  if (fits(0))
    return true; // another thread made room meanwhile
  // Live values fill the budget: kept buffers (which it also bounds) go
  // back to the system before anything is spilled.
  store_.pool().trim(0);
  // Copies of other nodes' objects cost nothing to drop (their owners
  // know other holders): before any value is spilled.
  auto over = table.bytes_used() + need - std::min(limit(), table.bytes_used() + need);
  if (store_.held().evict(over) > 0 && fits(0))
    return true;
  if (!store_.spill().enabled())
    return false;
  auto slack = std::min(limit() / slack_divisor, limit() - std::min(limit(), need));
  // Results held here for owners on other nodes next: their reader pays a
  // network transfer anyway, while a value of this node's own is read by
  // a plain load as long as it stays in memory.
  auto excess = [&] {
    auto want = table.bytes_used() + need + slack;
    return want > limit() ? want - limit() : size_t{0};
  };
  if (auto over_by = excess(); over_by > 0 && store_.held().spill(over_by) > 0 && fits(slack))
    return true;
  std::vector<slot_ptr> candidates;
  table.for_each([&](const slot_ptr& s) {
    if (spill_candidate(*s))
      candidates.push_back(s);
  });
  // Dropping a value that still has its spill file costs no I/O: first.
  // Then the oldest, which are the least likely to be read again soon.
  std::sort(candidates.begin(), candidates.end(), [](const slot_ptr& x, const slot_ptr& y) {
    bool fx = x->has_spill_file();
    bool fy = y->has_spill_file();
    if (fx != fy)
      return fx;
    return x->seal_seq() < y->seal_seq();
  });
  for (auto& s : candidates) {
    if (fits(slack))
      break;
    s->spill();
  }
  return fits(0);
}

void memory_budget::admit_slow(size_t size, const char* what) {
  if (size <= limit() && make_room(size))
    return;
  throw object_store_full_error(full_message(size, what));
}

std::string memory_budget::full_message(size_t need, const char* what) {
  struct entry {
    object_id id;
    size_t size;
    std::string type;
    const char* why;
  };
  std::vector<entry> resident;
  size_t count = 0;
  bool spilling = store_.spill().enabled();
  // A full spill disk, not the objects, is why nothing could be spilled.
  auto disk_full = spilling ? store_.spill().last_disk_full() : std::nullopt;
  table_.for_each([&](const slot_ptr& s) {
    ++count;
    if (!s->done() || s->failed() || !s->resident() || s->size_bytes() == 0)
      return;
    const char* why = !s->spillable()
                        ? (s->codec() == nullptr ? "type not serializable (add inspect)"
                                                 : "too small to spill")
                      : !spilling     ? "spilling disabled"
                      : s->pins() > 0 ? "pinned by a running reader"
                      : disk_full     ? "its spill file does not fit on disk"
                                      : "shared via get_shared";
    resident.push_back({s->id(), s->size_bytes(), demangle(s->type().name()), why});
  });
  // Results and copies held here for other nodes (held_objects.hpp).
  for (auto& h : store_.held().list()) {
    if (h.spilled)
      continue;
    ++count;
    const char* why = h.cached    ? "a copy of another node's object, being read"
                      : !spilling ? "spilling disabled"
                      : h.in_use  ? "being sent to another node"
                      : disk_full ? "its spill file does not fit on disk"
                                  : "not spilled yet";
    resident.push_back({object_id{h.id}, static_cast<size_t>(h.size),
                        h.cached ? "copy held for node-" + std::to_string(object_id{h.id}.node())
                                 : "result held for node-" + std::to_string(object_id{h.id}.node()),
                        why});
  }
  // What no live object accounts for: values still read through
  // get_shared after their objects were freed (value_account).
  size_t listed = 0;
  for (auto& e : resident)
    listed += e.size;
  auto used = table_.bytes_used();
  auto unlisted = used > listed ? used - listed : size_t{0};
  std::sort(resident.begin(), resident.end(),
            [](const entry& x, const entry& y) { return x.size > y.size; });
  std::string out = what;
  out += ": the object store is full: ";
  out += format_bytes(used);
  out += " in memory held by ";
  out += std::to_string(resident.size());
  out += " object(s) (";
  out += std::to_string(count);
  out += " live)";
  if (unlisted > 0)
    out += " and " + format_bytes(unlisted)
           + " by values of freed objects still in use (get_shared results, values being "
             "sent)";
  out += ", budget ";
  out += format_bytes(limit());
  out += ", and a new value of ";
  out += format_bytes(need);
  out += " does not fit";
  if (need > limit())
    out += " even in an empty store";
  if (disk_full) {
    out += ". The spill directory '" + disk_full->directory + "' is full: a spill file needs "
           + format_bytes(disk_full->needed) + ", " + format_bytes(disk_full->free)
           + " free there (" + disk_full->error
           + "); free disk space there or set --object-spill-dir "
             "(init_options::object_spill_directory) to a larger disk. Largest in memory: ";
  } else {
    out += ". Nothing more can be spilled to disk. Largest: ";
  }
  for (size_t i = 0; i < resident.size() && i < 3; ++i) {
    auto& e = resident[i];
    if (i > 0)
      out += "; ";
    out += to_string(e.id) + " " + format_bytes(e.size) + " " + e.type + " (" + e.why + ")";
  }
  if (resident.empty())
    out += "none";
  out += ". Drop object_refs (and get_shared results) you no longer need, give "
         "large values an `inspect` overload so they can be spilled, or raise "
         "the budget with --object-store-memory=BYTES "
         "(init_options::object_store_memory)";
  if (!spilling)
    out += "; spilling is disabled (init_options::object_spilling)";
  return out;
}

} // namespace manta::detail

namespace manta::detail {

void admit_result(object_slot& slot, size_t size_bytes) {
  if (auto* store = slot.store())
    store->budget().admit(size_bytes, "task result");
}

} // namespace manta::detail
