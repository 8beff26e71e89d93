#include "manta/cluster/owner_where.hpp"

#include "actors/cluster_atoms.hpp"
#include "manta/cluster/cluster.hpp"
#include "manta/core/caf_error_text.hpp"
#include "manta/cluster/object_fetch.hpp"
#include "manta/cluster/remote_object.hpp"
#include "manta/core/backoff.hpp"
#include "manta/core/runtime.hpp"
#include "manta/errors.hpp"
#include "manta/get.hpp"
#include "manta/store/memory_budget.hpp"
#include "manta/store/node_messages.hpp"
#include "manta/store/ref_wire.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <string>
#include <thread>

namespace manta::detail {

namespace {

/// One question to the owner: its answer in `w`, or why there is none.
std::string ask_owner(runtime& rt, uint16_t owner, uint64_t id, clock::duration left, ref_wire& w) {
  std::string why;
  caf::scoped_actor self{rt.system()};
  auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(left);
  self
    ->request(rt.node_manager(), std::max(bound, std::chrono::milliseconds{1}),
              actors::ref_where_atom::value, owner, id)
    .receive(
      [&](const std::vector<char>& bytes) {
        if (!decode_ref_wire(bytes, w))
          why = "its answer is not a ref";
      },
      [&](caf::error& err) { why = error_text(err); });
  return why;
}

/// Whether `owner`, the worker that lent this driver an object, is gone or
/// unreachable: not among the workers it is connected to.
bool owner_gone(runtime& rt, uint16_t owner) {
  if (auto* link = rt.cluster_link())
    for (auto& n : link->workers())
      if (n.index == owner)
        return false;
  return true;
}

/// What a driver raises after `first_err` when the owner of `obj` is gone
/// (`owner_gone`): the object went with it, as in Ray (OwnerDiedError).
/// Only the owner counted its borrowers and, for a result of a task it
/// submitted, kept its lineage, so no other node serves it again or
/// rebuilds it.
owner_died_error owner_died(const remote_object& obj, const std::string& first_err) {
  return owner_died_error(
    "object " + to_string(obj.id) + " (" + format_bytes(obj.encoded_size.load())
    + ") is lost: " + first_err + "; node-" + std::to_string(obj.lender->owner)
    + ", its owner (the worker that made it and lent it to this driver), is gone or "
      "unreachable: an object does not outlive its owner. To keep a value past its "
      "worker, have the driver own it: return the value from the task (a result the driver "
      "owns is rebuilt from its lineage when lost) rather than a ref to a `put` there");
}

} // namespace

std::string read_via_owner(const remote_object& obj, const std::string& first_err,
                           std::vector<char>& out) {
  auto* rt = runtime::current();
  if (rt == nullptr || !obj.lender || obj.lender->bytes)
    return first_err;
  if (!cluster_worker(*rt)) { // a driver: no lineage to ask for (docs/cluster.md, "Holder lost")
    if (owner_gone(*rt, obj.lender->owner))
      throw owner_died(obj, first_err);
    return first_err;
  }
  auto owner = obj.lender->owner;
  auto id = obj.id.value();
  auto owner_name = "its owner node-" + std::to_string(owner);
  auto own_deadline = read_deadline();
  auto deadline = std::min(own_deadline, clock::now() + owner_where_limit);
  std::string failed_host = obj.lender->host;
  uint16_t failed_port = obj.lender->port;
  std::string last = first_err;
  for (int attempt = 0;; ++attempt) {
    auto left = deadline - clock::now();
    if (left <= clock::duration::zero())
      break;
    ref_wire w;
    if (auto why = ask_owner(*rt, owner, id, left, w); !why.empty()) {
      if (clock::now() >= own_deadline)
        break;
      return last + "; asking " + owner_name + " where it is now failed: " + why;
    }
    if (w.state == ref_wire::failed)
      return last + "; " + owner_name + " says: " + w.error;
    if (w.inlined) { // rebuilt, and small enough to come back inside the answer
      out = std::move(w.bytes);
      return {};
    }
    if (w.host == failed_host && w.port == failed_port) {
      // The owner still names the holder that failed: it has not noticed
      // that node's death yet (within its connection timeout).
      auto pause = backoff_delay(std::chrono::milliseconds{50}, attempt, std::chrono::seconds{1});
      if (clock::now() + pause >= deadline)
        break;
      std::this_thread::sleep_for(pause);
      continue;
    }
    last = fetch_object(w.host, w.port, runtime::cluster_token(), w.id, w.size, out);
    if (last.empty())
      return {};
    failed_host = w.host;
    failed_port = w.port;
  }
  if (clock::now() >= own_deadline)
    throw get_timeout_error("manta::get: timed out while asking " + owner_name
                            + " where borrowed object " + to_string(obj.id)
                            + " is now (its holder failed: " + first_err
                            + "); raise the timeout, or check that node");
  return last + "; " + owner_name + " named no other holder within "
         + std::to_string(owner_where_limit.count()) + " min";
}

} // namespace manta::detail
