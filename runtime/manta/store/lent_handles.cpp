#include "manta/store/lent_handles.hpp"

#include "actors/actor_host.hpp"
#include "actors/atoms.hpp"
#include "manta/actor/actor_core.hpp"
#include "manta/actor/actor_directory.hpp"
#include "manta/actor/actor_registry.hpp"
#include "manta/actor/attached_actor.hpp"
#include "manta/store/borrowers.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/handle_loans.hpp"
#include "manta/sched/item_stream.hpp"
#include "manta/store/node_messages.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace manta::detail {

namespace {

using lent_entry = borrower_set<actor_anchor>;

/// The runtime's lent handles and stand-ins, or null after shutdown.
handle_loans* live_loans() noexcept {
  auto* rt = runtime::live();
  return rt != nullptr ? &rt->lent_handles() : nullptr;
}

std::string node_name(uint16_t index) {
  return "node-" + std::to_string(index);
}

/// Pins lent actor `id` for a handle to it being written now: by the
/// container being written on this thread, if any (under the loans' lock),
/// as borrowers.cpp pins a lent object.
void pin_lent(handle_loans& loans, uint64_t id, const anchor_ptr& anchor) {
  auto* scope = lend_scope::current();
  loans.lent[id].lend(anchor, scope != nullptr);
  if (scope != nullptr)
    scope->add(id);
}

} // namespace

void tell_home(uint16_t home, uint64_t id, int32_t delta) {
  if (auto to = node_router())
    caf::anon_send(to, actors::actor_release_atom::value, home, id, delta);
}

handle_wire lend(const anchor_ptr& anchor) {
  if (!anchor)
    return {};
  auto* core = anchor->core.get();
  auto& rt = runtime::require("sending an actor handle to another node");
  auto& loans = rt.lent_handles();
  std::lock_guard<std::mutex> guard{loans.mtx};
  // A worker passes another home's handle on as the home's (it reached the
  // worker from that home, its owner, and goes back there the same way).
  // A driver lends its stand-in as its own: the node it sends it to may
  // have no link to the home (a worker), but has one to this driver.
  bool worker = cluster_worker(rt);
  if (auto b = loans.borrowed_wire.find(core);
      worker && b != loans.borrowed_wire.end() && b->second.core.lock().get() == core)
    return b->second.wire;
  handle_wire w;
  w.home = rt.node_index();
  w.cls = lookup_actor_class(core->type()).name;
  if (auto i = loans.lent_ids.find(core); i != loans.lent_ids.end()) {
    w.id = i->second;
    pin_lent(loans, w.id, anchor); // lent again: pinned until reported
    return w;
  }
  // The actor's own id when it has one (a handle attached to another
  // driver's actor has none), else a fresh id of this node.
  w.id = core->id();
  if (w.id == 0 || loans.lent.count(w.id) != 0)
    w.id = rt.next_object_id().value();
  pin_lent(loans, w.id, anchor);
  loans.lent_ids[core] = w.id;
  return w;
}

anchor_ptr lent_actor(uint64_t id) {
  auto* loans = live_loans();
  if (loans == nullptr)
    return nullptr;
  std::lock_guard<std::mutex> guard{loans->mtx};
  auto i = loans->lent.find(id);
  return i == loans->lent.end() ? nullptr : i->second.get();
}

void lent_held(uint64_t id, uint16_t from, int32_t delta) {
  if (delta == result_read_delta) { // the owner read the result of task `id`
    result_read(id);
    return;
  }
  anchor_ptr released; // dropped outside the lock: it may end the actor
  if (auto* loans = live_loans()) {
    std::lock_guard<std::mutex> guard{loans->mtx};
    if (auto i = loans->lent.find(id); i != loans->lent.end()) {
      released = i->second.held(from, delta);
      return;
    }
  }
  // Not an actor: an object ref this node lent, or a large generator item
  // it keeps for a worker (item_stream::deliver_lent).
  if (!ref_held(id, from, delta) && delta < 0 && item_stream::lent_item_gone(id))
    result_read(id); // the refs inside it (item_emitter)
}

void lent_handles_container_gone(const std::vector<uint64_t>& ids, bool loosen) {
  std::vector<anchor_ptr> released; // dropped outside the lock: may end actors
  auto* loans = live_loans();
  if (loans == nullptr)
    return; // after shutdown: its pins went with the runtime
  std::lock_guard<std::mutex> guard{loans->mtx};
  for (auto id : ids)
    if (auto i = loans->lent.find(id); i != loans->lent.end()) {
      if (loosen)
        i->second.loose = true;
      if (auto p = i->second.container_gone())
        released.push_back(std::move(p));
    }
  // (`released` is declared first: it goes after the guard.)
}

void lent_node_gone(uint16_t index) {
  if (auto* loans = live_loans()) {
    std::vector<anchor_ptr> released;
    std::lock_guard<std::mutex> guard{loans->mtx};
    for (auto& [id, e] : loans->lent)
      if (auto p = e.node_gone(index))
        released.push_back(std::move(p));
  }
  refs_node_gone(index);
}

anchor_ptr borrow(const std::type_info& cls, const handle_wire& w) {
  if (w.id == 0)
    return nullptr;
  auto& rt = runtime::require("receiving an actor handle from another node");
  const auto& info = lookup_actor_class(cls);
  if (info.name != w.cls)
    throw error("an actor handle of class " + w.cls + " arrived where a handle of class "
                + info.name + " was expected; do both nodes run the same binary?");
  if (w.home == rt.node_index()) {
    if (auto own = lent_actor(w.id))
      return own;
    throw error("an actor handle of class " + w.cls + " came back to " + node_name(w.home)
                + ", its home, which no longer has that actor (the runtime was restarted?)");
  }
  // Read from another node: what follows this read from here (a task's
  // result, a result's "read") goes after its +1 (contained_refs.hpp).
  count_borrowed_here();
  auto& loans = rt.lent_handles();
  std::lock_guard<std::mutex> guard{loans.mtx};
  auto key = std::make_pair(w.home, w.id);
  if (auto known = loans.borrowed[key].lock())
    return known;
  std::erase_if(loans.borrowed, [](auto& e) { return e.second.expired(); });
  std::erase_if(loans.borrowed_wire, [](auto& e) { return e.second.core.expired(); });
  actor_options opts;
  auto core = std::make_shared<actor_core>(info, cls, std::move(opts),
                                           std::make_unique<attach_ctor>(w.home, w.id), rt.pool(),
                                           /*remote=*/true, 0, w.id);
  // When the last handle here goes, the home hears that this node let go.
  auto anchor = anchor_ptr{new actor_anchor(core), [home = w.home, id = w.id](actor_anchor* a) {
                             delete a;
                             tell_home(home, id, int32_t{-1});
                           }};
  tell_home(w.home, w.id, int32_t{1});
  rt.actors().add(anchor); // stopped with the runtime
  loans.borrowed[key] = anchor;
  loans.borrowed_wire[core.get()] = {core, w};
  core->start(rt.system().spawn<caf::hidden>(actors::actor_host, core));
  return anchor;
}

void clear_lent() {
  std::unordered_map<uint64_t, lent_entry> lent;
  if (auto* loans = live_loans()) {
    std::lock_guard<std::mutex> guard{loans->mtx};
    lent.swap(loans->lent);
    loans->lent_ids.clear();
    loans->borrowed.clear();
    loans->borrowed_wire.clear();
  }
  // The anchors go outside the lock: a last handle ends its actor.
  clear_lent_refs();
}

} // namespace manta::detail
