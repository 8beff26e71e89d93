#include "manta/store/spilled_refs.hpp"

#include "manta/errors.hpp"
#include "manta/store/ref_wire.hpp"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace manta::detail {

namespace {

thread_local spilled_refs_scope* t_scope = nullptr;

} // namespace

spilled_refs_scope::spilled_refs_scope(std::vector<slot_ptr>& refs) noexcept
  : refs_(refs), prev_(t_scope) {
  t_scope = this;
}

spilled_refs_scope::~spilled_refs_scope() {
  t_scope = prev_;
}

spilled_refs_scope* spilled_refs_scope::current() noexcept {
  return t_scope;
}

void spilled_refs_scope::write(const slot_ptr& slot, const std::type_info& type, ref_wire& w) {
  w.state = ref_wire::ready;
  w.id = slot->id().value();
  w.type = type.name();
  refs_.push_back(slot);
}

slot_ptr spilled_refs_scope::read(const ref_wire& w) const {
  for (auto& s : refs_)
    if (s->id().value() == w.id)
      return s;
  throw object_lost_error("object " + to_string(object_id{w.id})
                          + " is lost: a spill file names it, but it was not kept with that file");
}

void spilled_refs::keep(const object_slot* spilled, std::vector<slot_ptr> refs) {
  if (refs.empty())
    return;
  std::vector<slot_ptr> old; // outside the lock (none: a file written anew dropped them)
  std::lock_guard<std::mutex> guard{mtx_};
  old = std::exchange(kept_[spilled], std::move(refs));
}

std::vector<slot_ptr> spilled_refs::of(const object_slot* spilled) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = kept_.find(spilled);
  return i == kept_.end() ? std::vector<slot_ptr>{} : i->second;
}

void spilled_refs::drop(const object_slot* spilled) {
  std::vector<slot_ptr> gone; // outside the lock: the last ref frees its object
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = kept_.find(spilled); i != kept_.end()) {
    gone = std::move(i->second);
    kept_.erase(i);
  }
}

} // namespace manta::detail
