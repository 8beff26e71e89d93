#include "manta/store/contained_refs.hpp"

#include "manta/store/borrowers.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/store/unread_results.hpp"
#include "manta/core/runtime.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace manta::detail {

namespace {

thread_local lend_scope* t_scope = nullptr;
thread_local uint64_t t_borrowed = 0;
std::atomic<uint64_t> g_borrowed{0};

/// The runtime's results not read yet, or null after shutdown.
unread_results* live_results() noexcept {
  auto* rt = runtime::live();
  return rt != nullptr ? &rt->result_lends() : nullptr;
}

} // namespace

/// The container of the generator item this thread encodes, if any: the
/// innermost scope while no other scope opened since it began (`base`).
struct item_lending {
  bool active = false;
  const void* stream = nullptr;
  lend_scope* base = nullptr;
  lend_scope scope{lend_scope::detached_t{}};

  static item_lending& here() noexcept {
    thread_local item_lending x;
    return x;
  }
};

lend_scope::lend_scope() noexcept : prev_(t_scope) {
  t_scope = this;
}

lend_scope::~lend_scope() {
  if (linked_)
    t_scope = prev_;
  release_contained(ids_);
}

std::vector<uint64_t> lend_scope::take() noexcept {
  return std::exchange(ids_, {});
}

lend_scope* lend_scope::current() noexcept {
  if (auto& item = item_lending::here(); item.active && item.base == t_scope)
    return &item.scope;
  return t_scope;
}

void begin_item_lending(const void* stream) noexcept {
  end_item_lending(); // one left open (a throw ends its own: item_unsent)
  auto& item = item_lending::here();
  item.active = true;
  item.stream = stream;
  item.base = t_scope;
}

std::vector<uint64_t> take_item_lending() noexcept {
  auto& item = item_lending::here();
  item.active = false;
  return item.scope.take();
}

void end_item_lending(const void* stream) noexcept {
  auto& item = item_lending::here();
  if (!item.active || (stream != nullptr && stream != item.stream))
    return;
  item.active = false;
  release_contained(item.scope.take(), true);
}

void drop_item_lending() noexcept {
  auto& item = item_lending::here();
  if (!item.active)
    return;
  item.active = false;
  release_contained(item.scope.take());
}

contained_refs& contained_refs::operator=(contained_refs&& x) noexcept {
  if (this != &x) {
    release_contained(ids_);
    ids_ = std::exchange(x.ids_, {});
  }
  return *this;
}

contained_refs::~contained_refs() {
  release_contained(ids_);
}

void release_contained(const std::vector<uint64_t>& ids, bool loosen) {
  if (ids.empty())
    return;
  update_lent(ids, [loosen](borrower_set<object_slot>& set) {
    if (loosen)
      set.loose = true;
    return set.container_gone();
  });
  lent_handles_container_gone(ids, loosen); // the actor handles among them
}

void contain_result(uint64_t task, uint16_t reader, std::vector<uint64_t> ids) {
  if (ids.empty())
    return;
  auto* results = live_results();
  if (results == nullptr)
    return; // after shutdown: its lends' pins went with the runtime
  std::lock_guard<std::mutex> guard{results->mtx};
  auto& c = results->by_task[task]; // a re-run of the task adds its own
  c.reader = reader;
  c.ids.insert(c.ids.end(), ids.begin(), ids.end());
}

namespace {

/// Lets go of the lends that `take` moves out of the unread results (by
/// task id) into its second argument, under their lock; released after
/// it, as releasing may message other nodes. Nothing after shutdown.
template <class Take>
void release_taken(Take take) {
  auto* results = live_results();
  if (results == nullptr)
    return;
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> guard{results->mtx};
    take(results->by_task, ids);
  }
  release_contained(ids);
}

} // namespace

void result_read(uint64_t task) {
  release_taken([task](auto& by_task, std::vector<uint64_t>& ids) {
    auto i = by_task.find(task);
    if (i == by_task.end())
      return;
    ids = std::move(i->second.ids);
    by_task.erase(i);
  });
}

void results_reader_gone(uint16_t index) {
  release_taken([index](auto& by_task, std::vector<uint64_t>& ids) {
    for (auto i = by_task.begin(); i != by_task.end();) {
      if (i->second.reader == index) {
        ids.insert(ids.end(), i->second.ids.begin(), i->second.ids.end());
        i = by_task.erase(i);
      } else {
        ++i;
      }
    }
  });
}

uint64_t refs_borrowed_here() noexcept {
  return t_borrowed;
}

uint64_t refs_borrowed_in_process() noexcept {
  return g_borrowed.load(std::memory_order_acquire);
}

void count_borrowed_here() noexcept {
  ++t_borrowed;
  g_borrowed.fetch_add(1, std::memory_order_acq_rel);
}

} // namespace manta::detail
