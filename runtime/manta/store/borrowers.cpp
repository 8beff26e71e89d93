#include "manta/store/borrowers.hpp"

#include "actors/atoms.hpp"
#include "manta/store/borrower_set.hpp"
#include "manta/core/codec.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/far_objects.hpp"
#include "manta/core/demangle.hpp"
#include "manta/store/lent_handles.hpp"
#include "manta/store/node_messages.hpp"
#include "manta/store/object_loans.hpp"
#include "manta/store/object_store.hpp"
#include "manta/store/pinned_inner.hpp"
#include "manta/store/ref_location.hpp"
#include "manta/store/spilled_refs.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"

#include <caf/all.hpp>

#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

namespace manta::detail {

namespace {

/// Posts (refsealed, id) to this node's router of cross-node messages
/// (its cluster client on a driver, its node manager on a worker), which
/// sends the borrowers waiting for object `id` where it is now.
void post_sealed(uint64_t id) {
  if (auto to = node_router())
    caf::anon_send(to, actors::ref_sealed_atom::value, id);
}

} // namespace

void seal_watch::on_ready() noexcept {
  post_sealed(id);
}

namespace {

/// The runtime's lent and waiting refs, or null after shutdown.
object_loans* live_loans() noexcept {
  auto* rt = runtime::live();
  return rt != nullptr ? &rt->lent_refs() : nullptr;
}

/// Pins `slot` for a ref to it being written now: by the container being
/// written on this thread, if any (under the loans' lock).
void pin_lent(lent_ref& e, uint64_t id, const slot_ptr& slot) {
  auto* scope = lend_scope::current();
  e.set.lend(slot, scope != nullptr);
  if (scope != nullptr)
    scope->add(id);
}

/// The object `id` of this node, sealed with `failure` if no live slot
/// has that id here.
slot_ptr failed_slot(uint64_t id, std::exception_ptr failure) {
  // With no runtime (a ref read after shutdown): a slot of no store.
  auto* rt = runtime::live();
  if (auto live = rt != nullptr ? rt->store().table().find(object_id{id}) : nullptr)
    return live;
  auto slot = rt != nullptr ? rt->store().table().create(object_id{id})
                            : std::make_shared<object_slot>(nullptr, object_id{id});
  slot->seal_error(std::move(failure));
  return slot;
}

/// `failed_slot` with `object_lost_error(why)`.
slot_ptr lost_slot(uint64_t id, const std::string& why) {
  return failed_slot(id, std::make_exception_ptr(object_lost_error(
                           "object " + to_string(object_id{id}) + " is lost: " + why)));
}

/// The lends inside the bytes written for `e` (object `id`, an entry of
/// the loans, under their lock) when its pin was just let go: for release_contained
/// after the lock. The bytes this node served for it go now (under the
/// lock: a ref written next encodes them again).
void take_inner(uint64_t id, lent_ref& e, std::vector<uint64_t>& out) {
  out.insert(out.end(), e.inner.begin(), e.inner.end());
  e.inner.clear();
  if (std::exchange(e.served, 0) != 0)
    stop_serving(id);
}

/// Writes `w` for `slot` if this driver serves its bytes already, written
/// again when it was passed on before while its pin holds (`locate`): pins
/// it at once, as those bytes go with the pin.
bool serving(runtime& rt, const slot_ptr& slot, ref_wire& w) {
  auto& loans = rt.lent_refs();
  std::lock_guard<std::mutex> guard{loans.mtx};
  auto i = loans.lent.find(w.id);
  if (i == loans.lent.end() || i->second.served == 0 || !i->second.set.strong)
    return false;
  w.state = ref_wire::ready;
  w.size = i->second.served;
  own_location(rt, w);
  pin_lent(i->second, w.id, slot);
  return true;
}

} // namespace

std::string lend_ref(const slot_ptr& slot, const std::type_info& type, ref_wire& w) {
  w = ref_wire{};
  if (!slot)
    return {};
  if (auto* spill = spilled_refs_scope::current()) { // kept with the spill file instead
    spill->write(slot, type, w);
    return {};
  }
  auto* rt = runtime::current();
  if (rt == nullptr || rt->cluster_link() == nullptr)
    return "an object ref is written to bytes only to cross nodes in a cluster";
  w.id = slot->id().value();
  w.type = type.name();
  w.owner = rt->node_index();
  if (!slot->done()) {
    // Lent while still being computed: the borrower waits for it, and
    // hears from this node where it is once it is sealed (ref_resolved).
    w.state = ref_wire::pending;
    std::lock_guard<std::mutex> guard{rt->lent_refs().mtx};
    auto& e = rt->lent_refs().lent[w.id];
    pin_lent(e, w.id, slot);
    e.written_pending = true;
    if (!e.watch) {
      e.watch = std::make_unique<seal_watch>();
      e.watch->id = w.id;
      e.watch->slot = slot;
      if (!slot->add_waiter(e.watch.get()))
        post_sealed(w.id); // sealed meanwhile
    }
    return {};
  }
  if (slot->failed()) {
    write_failure(*slot, w);
    return {};
  }
  auto& r = slot->remote();
  // A worker passes a borrowed ref on as its owner's (it reached the worker
  // from its owner, and the receiver reports back over the same link).
  located at; // nothing for a borrowed one: its bytes as they came
  if (auto lender = r ? record_lender(*r) : std::nullopt; lender && cluster_worker(*rt)) {
    w.state = ref_wire::ready;
    w.owner = *lender;
    locate(*rt, *slot, w, at);
    return {};
  }
  if (serving(*rt, slot, w))
    return {};
  try {
    if (!locate(*rt, *slot, w, at))
      return "the bytes of object " + to_string(slot->id()) + " (" + demangle(type.name())
             + ") cannot be served to another node";
  } catch (const std::exception& e) {
    return std::string{"object "} + to_string(slot->id()) + " cannot be read here: " + e.what();
  }
  w.state = ref_wire::ready;
  auto& loans = rt->lent_refs();
  std::lock_guard<std::mutex> guard{loans.mtx};
  auto& e = loans.lent[w.id];
  pin_lent(e, w.id, slot);
  e.inner.insert(e.inner.end(), at.inner.begin(), at.inner.end());
  if (at.served != 0)
    e.served = at.served;
  // An entry stays after its pin went (a ref still in flight may report
  // later) until its object is gone: swept now and then, in O(1) per lend.
  if (++loans.lends >= 1024 && loans.lends >= loans.lent.size()) {
    loans.lends = 0;
    std::erase_if(loans.lent,
                  [](auto& e) { return !e.second.set.strong && e.second.set.weak.expired(); });
  }
  return {};
}

namespace {

/// The borrowed slot of a ref whose object was still being computed when
/// its owner wrote it: not sealed until the owner says where the object is
/// (ref_resolved); `get` waits for it meanwhile. The +1 tells the owner to
/// say so once it is sealed.
slot_ptr borrow_pending(const std::type_info& type, const value_codec* codec, const ref_wire& w) {
  auto& rt = runtime::here("receiving an object ref from another node");
  auto& table = rt.store().table();
  if (auto live = table.find(object_id{w.id}))
    return live;
  if (codec == nullptr)
    return lost_slot(w.id, "its type cannot be rebuilt from bytes here");
  auto slot = table.create(object_id{w.id});
  bool dropped_before = false;
  {
    std::lock_guard<std::mutex> guard{rt.lent_refs().mtx};
    auto& e = rt.lent_refs().waiting[w.id];
    // A slot of this id made and dropped before the owner answered: it
    // never told the owner it let go.
    dropped_before = e.slot.expired() && e.type != nullptr;
    e = waiting_ref{slot, &type, codec, w.owner};
  }
  if (dropped_before)
    tell_home(w.owner, w.id, int32_t{-1});
  tell_home(w.owner, w.id, int32_t{1});
  return slot;
}

/// Seals `slot`, borrowed from `owner`, as the object `w` (ready) names.
void seal_borrowed(object_slot& slot, const std::type_info& type, const value_codec* codec,
                   uint16_t owner, const ref_wire& w) {
  auto obj = lent_record(object_id{w.id}, w.holder, w.size, owner, w.host, w.port,
                         w.inlined ? std::optional{w.bytes} : std::nullopt);
  slot.seal_remote(type, w.size, codec, std::move(obj));
}

} // namespace

slot_ptr borrow_ref(const std::type_info& type, const value_codec* codec, const ref_wire& w) {
  if (w.state == ref_wire::empty || w.id == 0)
    return nullptr;
  if (w.type != type.name())
    throw error("an object ref to a " + demangle(w.type.c_str()) + " arrived where a ref to a "
                + demangle(type.name()) + " was expected; do both nodes run the same binary?");
  if (auto* spill = spilled_refs_scope::current())
    return spill->read(w);
  auto& rt = runtime::require("receiving an object ref from another node");
  if (w.state == ref_wire::failed)
    return failed_slot(w.id, failure_of(w));
  if (w.owner != rt.node_index())
    count_borrowed_here();
  if (w.owner == rt.node_index()) {
    {
      auto& loans = rt.lent_refs();
      std::lock_guard<std::mutex> guard{loans.mtx};
      if (auto i = loans.lent.find(w.id); i != loans.lent.end())
        if (auto own = i->second.set.get())
          return own;
    }
    return lost_slot(w.id, "its ref came back to node-" + std::to_string(w.owner)
                             + ", its owner, which no longer has it");
  }
  if (w.state == ref_wire::pending)
    return borrow_pending(type, codec, w);
  // One borrowed slot per id while a ref to it lives here (the object
  // table finds it; an object of this node found there is its own).
  auto& table = rt.store().table();
  if (auto live = table.find(object_id{w.id})) {
    // This node's own object, lent back by a driver that borrowed it: the
    // driver pins it until told; this node needs no pin from it (its own
    // lending pins it for the driver), so it reports a copy made and gone.
    if (live->id().node() == rt.node_index()) {
      tell_home(w.owner, w.id, int32_t{1});
      tell_home(w.owner, w.id, int32_t{-1});
    }
    return live;
  }
  if (codec == nullptr)
    return lost_slot(w.id, "its type cannot be rebuilt from bytes here");
  auto slot = table.create(object_id{w.id});
  seal_borrowed(*slot, type, codec, w.owner, w);
  tell_home(w.owner, w.id, int32_t{1});
  return slot;
}

void borrowed_ref_gone(uint16_t owner, uint64_t id) {
  tell_home(owner, id, int32_t{-1});
}

bool ref_held(uint64_t id, uint16_t from, int32_t delta) {
  slot_ptr released; // dropped outside the lock: it may free the object
  std::vector<uint64_t> inner;
  bool sealed = false;
  auto* loans = live_loans();
  if (loans == nullptr)
    return false;
  {
    std::lock_guard<std::mutex> guard{loans->mtx};
    auto i = loans->lent.find(id);
    if (i == loans->lent.end())
      return false;
    auto& e = i->second;
    released = e.set.held(from, delta);
    if (released)
      take_inner(id, e, inner);
    if (delta > 0 && e.written_pending) {
      // It may have borrowed the ref while it was pending: it waits to
      // hear where the object is (told again if it did not: ignored).
      e.awaiting.insert(from);
      auto slot = e.set.get();
      sealed = slot && slot->done();
    }
  }
  if (sealed)
    post_sealed(id);
  release_contained(inner);
  return true;
}

std::vector<std::pair<uint16_t, std::vector<char>>> ref_resolutions(uint64_t id) {
  std::vector<std::pair<uint16_t, std::vector<char>>> out;
  auto* rt = runtime::current();
  if (rt == nullptr || rt->cluster_link() == nullptr)
    return out;
  std::set<uint16_t> nodes;
  slot_ptr slot;
  auto& loans = rt->lent_refs();
  {
    std::lock_guard<std::mutex> guard{loans.mtx};
    auto i = loans.lent.find(id);
    if (i == loans.lent.end())
      return out;
    slot = i->second.set.get();
    if (!slot || !slot->done())
      return out;
    nodes.swap(i->second.awaiting);
  }
  if (nodes.empty())
    return out;
  // Where it is now, as this node would write a ref to it; this node
  // counts its borrowers (they reported here), so it names itself owner.
  ref_wire w;
  w.id = id;
  w.owner = rt->node_index();
  located at;
  if (slot->failed()) {
    write_failure(*slot, w);
  } else {
    try {
      // A large value another node lent this driver is read here now, on
      // the router's thread, and written again as this driver's own, as
      // for a ref to it written after it was sealed (`locate`).
      if (locate(*rt, *slot, w, at))
        w.state = ref_wire::ready;
      else
        write_lost(
          id, "the bytes of object " + to_string(slot->id()) + " cannot be served to another node",
          w);
    } catch (const owner_died_error& e) { // this driver's lender is gone
      write_lost(id, std::string{"it cannot be read on its owner: "} + e.what(), w, true);
    } catch (const std::exception& e) {
      write_lost(id, std::string{"it cannot be read on its owner: "} + e.what(), w);
    }
  }
  if (at.served != 0) { // its bytes as written now, served here while pinned
    std::lock_guard<std::mutex> guard{loans.mtx};
    if (auto i = loans.lent.find(id); i != loans.lent.end() && i->second.set.strong)
      i->second.served = at.served;
    else
      stop_serving(id);
  }
  hold_with_pin(id, std::move(at.inner));
  auto bytes = encode_ref_wire(w);
  for (auto node : nodes)
    out.emplace_back(node, bytes);
  return out;
}

void hold_with_pin(uint64_t outer, std::vector<uint64_t> inner) {
  if (inner.empty())
    return;
  if (auto* loans = live_loans()) {
    std::lock_guard<std::mutex> guard{loans->mtx};
    if (auto i = loans->lent.find(outer); i != loans->lent.end() && i->second.set.strong) {
      i->second.inner.insert(i->second.inner.end(), inner.begin(), inner.end());
      inner.clear();
    }
  }
  release_contained(inner); // what no pin took
}

void ref_resolved(std::span<const char> bytes) {
  ref_wire w;
  if (!decode_ref_wire(bytes, w))
    return;
  waiting_ref e;
  auto* loans = live_loans();
  if (loans == nullptr)
    return; // after shutdown: nothing waits here
  {
    std::lock_guard<std::mutex> guard{loans->mtx};
    auto i = loans->waiting.find(w.id);
    if (i == loans->waiting.end())
      return; // told before, or it never waited (it borrowed a ready ref)
    e = i->second;
    loans->waiting.erase(i);
  }
  auto slot = e.slot.lock();
  if (!slot) { // dropped before its owner answered
    tell_home(e.owner, w.id, int32_t{-1});
    return;
  }
  if (w.state == ref_wire::ready) {
    seal_borrowed(*slot, *e.type, e.codec, e.owner, w); // its end says -1
    return;
  }
  slot->seal_error(failure_of(w));
  tell_home(e.owner, w.id, int32_t{-1});
}

void refs_node_gone(uint16_t index) {
  std::vector<slot_ptr> released;
  std::vector<uint64_t> inner; // the lends in their inlined bytes
  std::vector<slot_ptr> orphans; // borrowed, waiting for a node that is gone
  auto* loans = live_loans();
  if (loans == nullptr)
    return; // after shutdown: nothing is lent or borrowed here
  {
    std::lock_guard<std::mutex> guard{loans->mtx};
    for (auto& [id, e] : loans->lent) {
      e.awaiting.erase(index);
      if (auto p = e.set.node_gone(index)) {
        released.push_back(std::move(p));
        take_inner(id, e, inner);
      }
    }
    for (auto i = loans->waiting.begin(); i != loans->waiting.end();) {
      if (i->second.owner == index) {
        if (auto s = i->second.slot.lock())
          orphans.push_back(std::move(s));
        i = loans->waiting.erase(i);
      } else {
        ++i;
      }
    }
  }
  release_contained(inner);
  results_reader_gone(index); // the results that node never read
  for (auto& s : orphans)
    s->seal_error(std::make_exception_ptr(
      owner_died_error("object " + to_string(s->id()) + " is lost: node-" + std::to_string(index)
                       + ", its owner, is gone before it was computed")));
}

std::vector<uint16_t> ref_borrowers(uint64_t id) {
  std::vector<uint16_t> out;
  auto* loans = live_loans();
  if (loans == nullptr)
    return out;
  std::lock_guard<std::mutex> guard{loans->mtx};
  if (auto i = loans->lent.find(id); i != loans->lent.end())
    for (auto& [node, n] : i->second.set.holds)
      out.push_back(node);
  return out;
}

void update_lent(const std::vector<uint64_t>& ids,
                 const std::function<slot_ptr(borrower_set<object_slot>&)>& f) {
  std::vector<slot_ptr> released; // dropped outside the lock: may free
  std::vector<uint64_t> inner;
  auto* loans = live_loans();
  if (loans == nullptr)
    return; // after shutdown: its pins went with the runtime
  {
    std::lock_guard<std::mutex> guard{loans->mtx};
    for (auto id : ids)
      if (auto i = loans->lent.find(id); i != loans->lent.end())
        if (auto p = f(i->second.set)) {
          released.push_back(std::move(p));
          take_inner(id, i->second, inner);
        }
  }
  release_contained(inner); // as deep as values nest refs
}

void clear_lent_refs() {
  std::unordered_map<uint64_t, lent_ref> lent;
  std::unordered_map<uint64_t, waiting_ref> waiting;
  if (auto* loans = live_loans()) {
    std::lock_guard<std::mutex> guard{loans->mtx};
    lent.swap(loans->lent);
    waiting.swap(loans->waiting);
  }
  std::vector<uint64_t> inner; // (the slots go outside the lock: a last ref frees its object)
  for (auto& [id, e] : lent)
    take_inner(id, e, inner); // the bytes this node served for them go too
}

} // namespace manta::detail
