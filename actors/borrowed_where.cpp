// The owner's answer to a borrower whose holder could not serve an object's
// bytes (docs/cluster.md, "Borrowed refs"): where they are now. A result
// this driver's task made and a worker kept is found on a live copy, or
// rebuilt from its lineage first when its node died with no copy left, as
// the driver's own `get` would (Ray's owner reconstructs for its borrowers
// too).

#include "actors/cluster_client_internal.hpp"

#include "manta/cluster/cluster.hpp"
#include "manta/cluster/remote_object.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/store/ref_wire.hpp"

#include <caf/all.hpp>

#include <utility>

namespace manta::actors {

void where_for_borrower(self_ptr self, uint64_t id, std::function<void(std::vector<char>)> answer) {
  using namespace detail;
  auto me = self->state.link->index();
  auto slot = runtime::here().store().table().find(object_id{id});
  // Every answer names the object and this node as its owner.
  auto reply = [id, me] {
    ref_wire w;
    w.id = id;
    w.owner = me;
    return w;
  };
  auto lost = [&](const std::string& why) {
    auto w = reply();
    write_lost(id, why, w);
    answer(encode_ref_wire(w));
  };
  if (!slot || !slot->done()) {
    lost("node-" + std::to_string(me) + " no longer has it (every ref to it here was dropped)");
    return;
  }
  if (slot->failed()) {
    auto w = reply();
    write_failure(*slot, w);
    answer(encode_ref_wire(w));
    return;
  }
  auto obj = slot->remote();
  if (!obj || obj->lender) {
    // Its bytes are this node's own (its data path served them), or this
    // driver passed on a ref another node lent it: nothing here rebuilds
    // them.
    lost("node-" + std::to_string(me)
         + ", its owner, has no other copy of it and cannot rebuild it (only a result of a "
           "task the owner placed on a worker is rebuilt from its lineage)");
    return;
  }
  if (slot->resident()) {
    // Read here since (this driver's own `get`): its data path serves it.
    auto w = reply();
    w.state = ref_wire::ready;
    w.holder = me;
    w.host = self->state.link->data_host();
    w.port = self->state.link->data_port();
    w.size = obj->encoded_size.load();
    answer(encode_ref_wire(w));
    return;
  }
  locate(self, obj,
         [self, id, reply, obj, answer = std::move(answer)](
           const std::string& err, const wire::holder* at, wire::bytes* data) {
           auto w = reply();
           if (!err.empty()) {
             write_lost(id, err, w);
           } else if (data != nullptr) {
             w.state = ref_wire::ready;
             w.size = data->size();
             w.bytes.assign(data->begin(), data->end());
             w.inlined = true;
           } else {
             w.state = ref_wire::ready;
             w.id = held_id(self, id); // a generator item a re-run rebuilt: its id there
             w.holder = at->node;
             w.host = at->host;
             w.port = at->data_port;
             w.size = obj->encoded_size.load();
           }
           answer(encode_ref_wire(w));
         });
}

} // namespace manta::actors
