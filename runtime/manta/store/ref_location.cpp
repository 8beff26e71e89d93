#include "manta/store/ref_location.hpp"

#include "manta/core/codec.hpp"
#include "manta/errors.hpp"
#include "manta/store/accounted_value.hpp"
#include "manta/store/contained_refs.hpp"
#include "manta/store/far_objects.hpp"
#include "manta/store/object_store.hpp"
#include "manta/core/runtime.hpp"
#include "manta/store/object_slot.hpp"
#include "manta/store/ref_wire.hpp"

#include <memory>
#include <utility>

namespace manta::detail {

namespace {

/// `bytes` as the store keeps them: owned, and counted in its memory
/// budget while they live (held_objects::put).
std::shared_ptr<const std::vector<char>> kept_bytes(object_store& store, encoded_bytes& bytes) {
  std::vector<char> out;
  if (bytes.data == bytes.storage.data() && bytes.size == bytes.storage.size())
    out = std::move(bytes.storage);
  else
    out.assign(bytes.data, bytes.data + bytes.size);
  auto size = out.size();
  return accounted(store, std::make_shared<const std::vector<char>>(std::move(out)), size);
}

} // namespace

bool locate(runtime& rt, const object_slot& slot, ref_wire& w, located& out) {
  std::shared_ptr<const void> value;
  if (auto& r = slot.remote()) {
    if (!rewrites_lent(rt, *r, slot.codec()))
      return record_location(rt, *r, w);
    // The refs inside name the node that wrote them: decoded here (this
    // driver borrows them), they are written again below as its own.
    if (slot.resident())
      value = slot.shared_value(); // read here before
    else if (auto err = fetch_far_value(r, *slot.codec(), value); !err.empty())
      throw object_lost_error(err);
  } else {
    if (slot.codec() == nullptr)
      return false;
    value = slot.shared_value();
  }
  // Refs inside this value travel inside its ref's bytes, read whenever
  // the borrower first reads it: not part of the outer container, but held
  // by this object's own pin (a borrower reads them while it holds this).
  // Bytes too large to inline are served by the data path: this node's own
  // value is encoded again there for each read (these lends then go with
  // `nested`); a borrowed one is kept here as written now, since a reader
  // reads the size this ref says.
  lend_scope nested;
  encoded_bytes bytes;
  if (slot.codec()->encode(value.get(), bytes))
    return false;
  w.size = bytes.size;
  if (bytes.size <= ref_inline_bytes) {
    w.bytes.assign(bytes.data, bytes.data + bytes.size);
    w.inlined = true;
    out.inner = nested.take();
  } else if (slot.remote()) {
    auto& store = rt.store();
    store.held().put(slot.id().value(), kept_bytes(store, bytes));
    out.served = w.size;
    out.inner = nested.take();
  }
  own_location(rt, w);
  return true;
}

void stop_serving(uint64_t id) {
  if (auto* rt = runtime::live())
    rt->store().held().erase(id);
}

} // namespace manta::detail
