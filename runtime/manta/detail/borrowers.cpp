#include "manta/detail/borrowers.hpp"

#include "manta/detail/borrower_set.hpp"
#include "manta/detail/cluster.hpp"
#include "manta/detail/codec.hpp"
#include "manta/detail/demangle.hpp"
#include "manta/detail/lent_handles.hpp"
#include "manta/detail/object_table.hpp"
#include "manta/detail/remote_object.hpp"
#include "manta/detail/runtime.hpp"
#include "manta/errors.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace manta::detail {

namespace {

std::mutex g_mtx;
/// Owner side: the objects whose refs left this node, by id.
std::unordered_map<uint64_t, borrower_set<object_slot>> g_lent;

/// Lends since the last sweep of entries whose object is gone.
size_t g_lends = 0;

thread_local bool t_no_lending = false;

std::string error_of(const object_slot& slot) {
  try {
    std::rethrow_exception(slot.error());
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown error";
  }
}

/// The object `id` of this node, sealed with `object_lost_error(why)` if
/// no live slot has that id here.
slot_ptr lost_slot(uint64_t id, const std::string& why) {
  if (auto live = object_table::instance().find(object_id{id}))
    return live;
  auto slot = object_table::instance().create(object_id{id});
  slot->seal_error(std::make_exception_ptr(
    object_lost_error("object " + to_string(object_id{id}) + " is lost: " + why)));
  return slot;
}

/// Where the bytes of `slot` (sealed, not failed) are served, and their
/// encoded size. False if they cannot be (no codec: the type cannot be
/// rebuilt from bytes).
bool locate(const object_slot& slot, cluster& link, ref_wire& w) {
  if (auto& r = slot.remote()) {
    w.size = r->encoded_size.load();
    if (r->lender) { // borrowed here: its lender's data path
      w.holder = r->node.load();
      w.host = r->lender->host;
      w.port = r->lender->port;
      if (r->lender->bytes) {
        w.bytes = *r->lender->bytes;
        w.inlined = true;
      }
      return true;
    }
    w.holder = r->node.load(); // a result kept on the worker that made it
    for (auto& n : link.workers())
      if (n.index == w.holder) {
        w.host = n.host;
        w.port = n.data_port;
        return true;
      }
    return false;
  }
  if (slot.codec() == nullptr)
    return false;
  auto value = slot.shared_value();
  encoded_bytes bytes;
  if (slot.codec()->encode(value.get(), bytes))
    return false;
  w.size = bytes.size;
  if (bytes.size <= ref_inline_bytes) {
    w.bytes.assign(bytes.data, bytes.data + bytes.size);
    w.inlined = true;
  }
  w.holder = link.index();
  w.host = link.data_host();
  w.port = link.data_port();
  return true;
}

} // namespace

no_lending_scope::no_lending_scope() noexcept : prev_(t_no_lending) {
  t_no_lending = true;
}

no_lending_scope::~no_lending_scope() {
  t_no_lending = prev_;
}

std::string lend_ref(const slot_ptr& slot, const std::type_info& type, ref_wire& w) {
  w = ref_wire{};
  if (!slot)
    return {};
  if (t_no_lending)
    return "a value holding object refs is not spilled (the refs inside keep their "
           "objects alive while it is in memory)";
  auto* rt = runtime::current();
  auto* link = rt == nullptr ? nullptr : rt->cluster_link();
  if (link == nullptr)
    return "an object ref is written to bytes only to cross nodes in a cluster";
  w.id = slot->id().value();
  w.type = type.name();
  w.owner = rt->node_index();
  if (!slot->done()) {
    w.state = ref_wire::pending;
    w.error = "it was still being computed when its ref was sent to another node inside a "
              "value (wait for it before passing it, or pass the ref itself as an argument)";
    return {};
  }
  if (slot->failed()) {
    w.state = ref_wire::failed;
    w.error = error_of(*slot);
    return {};
  }
  auto& r = slot->remote();
  // A worker passes a borrowed ref on as its owner's (it reached the worker
  // from its owner, and the receiver reports back over the same link).
  if (r && r->lender && link->kind() == cluster::role::worker) {
    w.state = ref_wire::ready;
    w.owner = r->lender->owner;
    locate(*slot, *link, w);
    return {};
  }
  try {
    if (!locate(*slot, *link, w))
      return "the bytes of object " + to_string(slot->id()) + " ("
             + demangle(type.name()) + ") cannot be served to another node";
  } catch (const std::exception& e) {
    return std::string{"object "} + to_string(slot->id()) + " cannot be read here: " + e.what();
  }
  w.state = ref_wire::ready;
  std::lock_guard<std::mutex> guard{g_mtx};
  g_lent[w.id].lend(slot);
  // An entry stays after its pin went (a ref still in flight may report
  // later) until its object is gone: swept now and then, in O(1) per lend.
  if (++g_lends >= 1024 && g_lends >= g_lent.size()) {
    g_lends = 0;
    std::erase_if(g_lent, [](auto& e) { return !e.second.strong && e.second.weak.expired(); });
  }
  return {};
}

slot_ptr borrow_ref(const std::type_info& type, const value_codec* codec, const ref_wire& w) {
  if (w.state == ref_wire::empty || w.id == 0)
    return nullptr;
  if (w.type != type.name())
    throw error("an object ref to a " + demangle(w.type.c_str()) + " arrived where a ref to a "
                + demangle(type.name()) + " was expected; do both nodes run the same binary?");
  auto& rt = runtime::require("receiving an object ref from another node");
  if (w.state != ref_wire::ready)
    return lost_slot(w.id, w.error);
  if (w.owner == rt.node_index()) {
    {
      std::lock_guard<std::mutex> guard{g_mtx};
      if (auto i = g_lent.find(w.id); i != g_lent.end())
        if (auto own = i->second.get())
          return own;
    }
    return lost_slot(w.id, "its ref came back to node-" + std::to_string(w.owner)
                             + ", its owner, which no longer has it");
  }
  // One borrowed slot per id while a ref to it lives here (the object
  // table finds it; an object of this node found there is its own).
  if (auto live = object_table::instance().find(object_id{w.id})) {
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
  auto obj = std::make_shared<remote_object>(object_id{w.id}, w.holder, w.size, wire::bytes{},
                                             resource_demand{}, 0);
  obj->lender = remote_object::lender_info{w.owner, w.host, w.port, std::nullopt};
  if (w.inlined)
    obj->lender->bytes = w.bytes;
  auto slot = object_table::instance().create(object_id{w.id});
  slot->seal_remote(type, w.size, codec, std::move(obj));
  tell_home(w.owner, w.id, int32_t{1});
  return slot;
}

void borrowed_ref_gone(uint16_t owner, uint64_t id) {
  tell_home(owner, id, int32_t{-1});
}

bool ref_held(uint64_t id, uint16_t from, int32_t delta) {
  slot_ptr released; // dropped outside the lock: it may free the object
  std::lock_guard<std::mutex> guard{g_mtx};
  auto i = g_lent.find(id);
  if (i == g_lent.end())
    return false;
  released = i->second.held(from, delta);
  return true;
}

void refs_node_gone(uint16_t index) {
  std::vector<slot_ptr> released;
  std::lock_guard<std::mutex> guard{g_mtx};
  for (auto& [id, e] : g_lent)
    if (auto p = e.node_gone(index))
      released.push_back(std::move(p));
}

std::vector<uint16_t> ref_borrowers(uint64_t id) {
  std::vector<uint16_t> out;
  std::lock_guard<std::mutex> guard{g_mtx};
  if (auto i = g_lent.find(id); i != g_lent.end())
    for (auto& [node, n] : i->second.holds)
      out.push_back(node);
  return out;
}

void clear_lent_refs() {
  std::unordered_map<uint64_t, borrower_set<object_slot>> lent;
  {
    std::lock_guard<std::mutex> guard{g_mtx};
    lent.swap(g_lent);
  }
  // The slots go outside the lock: a last ref frees its object.
}

} // namespace manta::detail
