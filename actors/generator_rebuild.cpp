#include "actors/cluster_client_internal.hpp"

#include "manta/sched/item_stream.hpp"
#include "manta/sched/stream_items.hpp"

#include <caf/all.hpp>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace manta::actors {

namespace {

using namespace detail;
using self_ptr = cluster_client_actor*;
using bytes_t = wire::bytes;

/// The lineage of generator task `task` while one of its large items
/// lives; made (if `make`) from the task while it is placed.
std::shared_ptr<generator_lineage> lineage_of(self_ptr self, uint64_t task, bool make) {
  auto& st = self->state;
  if (auto l = st.rebuilds.lineage(task))
    return l;
  if (!make)
    return nullptr;
  auto* p = st.tasks.find(task);
  if (p == nullptr || !p->task || p->spec.empty())
    return nullptr;
  auto l = std::make_shared<generator_lineage>();
  l->task = task;
  l->demand = p->demand;
  l->retries_left = p->max_retries;
  // A re-run has no reader to ack its items: it runs without back pressure.
  wire::task_message msg;
  if (wire::decode(p->spec, msg).empty()) {
    msg.item_window = 0;
    l->spec = wire::encode(msg);
  } else {
    l->spec = p->spec;
  }
  st.rebuilds.keep_lineage(l);
  return l;
}

/// Whether the node keeping `rec`'s bytes is gone (the item is lost).
bool home_lost(self_ptr self, const remote_object& rec) {
  return self->state.nodes.connected(rec.node.load()) == nullptr;
}

} // namespace

uint64_t held_id(self_ptr self, uint64_t id) {
  return self->state.rebuilds.held_id(id);
}

void on_stored_item(self_ptr self, uint64_t task, uint64_t index, uint16_t from, uint64_t object,
                    uint64_t size, const caf::actor& sender) {
  auto& st = self->state;
  bool rerun = st.rebuilds.rerunning(task);
  auto lineage = lineage_of(self, task, false);
  generator_item* live = nullptr;
  remote_ptr rec;
  if (lineage)
    std::tie(live, rec) = st.rebuilds.live_item(*lineage, index);
  if (live != nullptr && home_lost(self, *rec)) {
    // The item of this index was lost with its node: this run's copy
    // (a re-run, or a retry of the task) takes its place. Reads of it
    // restart from there.
    auto old = live->held_as; // copies of it on live nodes go: this one serves
    for (auto node : st.copies->erase(old))
      free_on(self, node, old);
    rec->node = from;
    rec->encoded_size = size;
    live->held_as = object;
    if (auto fetch_id = st.fetches.of(rec->id.value()); fetch_id != 0)
      refetch(self, fetch_id);
    return;
  }
  if (rerun) {
    // A re-run's item that nothing lost: its stream had it already.
    free_on(self, from, object);
    return;
  }
  auto record = std::make_shared<remote_object>(object_id{object}, from, size, bytes_t{},
                                                resource_demand{}, 0);
  if (live == nullptr) {
    if (!lineage)
      lineage = lineage_of(self, task, true);
    if (lineage) // a task's item (an actor method's has none)
      st.rebuilds.add_item(object, lineage, index, record);
  }
  deliver_item_record(task, index, std::move(record), sender);
}

void on_inline_item(self_ptr self, uint64_t task, uint64_t index, const bytes_t& bytes,
                    uint64_t held, const caf::actor& sender) {
  auto& st = self->state;
  if (auto lineage = st.rebuilds.any_lineage() ? lineage_of(self, task, false) : nullptr) {
    auto [live, rec] = st.rebuilds.live_item(*lineage, index);
    if (live != nullptr && home_lost(self, *rec)) {
      // Its lost large item came back small this time: read as is. Its
      // reader decodes it later (the +1s for the refs inside come here
      // first), so the item's free lets the re-run's node go of them, as
      // for a result rebuilt inline (free_atom); unread, they go now.
      if (auto fetch_id = st.fetches.of(rec->id.value()); fetch_id != 0) {
        auto copy = bytes;
        complete_fetch(self, fetch_id, copy);
        if (held != 0)
          st.rebuilds.rebuilt_inline(rec->id.value(), object_id{held}.node(), held);
      } else {
        item_read(held);
      }
      return;
    }
  }
  if (st.rebuilds.rerunning(task)) {
    item_read(held); // its stream had it already: its refs are never read
    return;
  }
  deliver_contained_item(task, index, bytes, held, sender);
}

bool rebuild_item(self_ptr self, uint64_t fetch_id) {
  auto& st = self->state;
  auto& op = st.fetches.at(fetch_id);
  auto* g = st.rebuilds.item(op.obj->id.value());
  if (g == nullptr)
    return false;
  auto& l = *g->lineage;
  op.node = 0;
  op.buffer.clear();
  op.requested = 0;
  // A run of the task under way (a retry after its node died, being placed
  // or prepared, or a re-run) yields the item again.
  if (st.rebuilds.rerunning(l.task) || st.tasks.under_way(l.task))
    return true;
  if (l.retries_left <= 0) {
    fail_fetch(self, fetch_id,
               "node-" + std::to_string(op.obj->node.load())
                 + ", which held it, died before it was read, and its streaming generator task "
                   "has no retries left to re-run it (raise its max_retries to rebuild such "
                   "items)");
    return true;
  }
  --l.retries_left;
  st.rebuilds.start_rerun(l.task);
  auto& p = st.tasks.record(l.task);
  p.spec = l.spec;
  p.demand = l.demand;
  p.max_retries = 0;
  place_or_wait(self, l.task);
  return true;
}

void generator_run_ended(self_ptr self, uint64_t task, bool rerun, bool again,
                         const std::string& why) {
  auto& st = self->state;
  if (rerun)
    st.rebuilds.end_rerun(task);
  auto l = lineage_of(self, task, false);
  if (!l)
    return;
  // The reads still waiting for a lost item: this run did not yield it.
  std::vector<std::pair<uint64_t, uint64_t>> waiting; // index, fetch id
  for (auto& [index, id] : l->items)
    if (auto fetch_id = st.fetches.of(id); fetch_id != 0 && st.fetches.at(fetch_id).node == 0)
      waiting.emplace_back(index, fetch_id);
  for (auto& [index, fetch_id] : waiting) {
    if (st.fetches.find(fetch_id) == nullptr)
      continue;
    if (again)
      rebuild(self, fetch_id);
    else
      fail_fetch(self, fetch_id,
                 "its node died before it was read, and the re-run of its streaming generator "
                 "task "
                   + why + " without yielding item " + std::to_string(index) + " again");
  }
}

} // namespace manta::actors
