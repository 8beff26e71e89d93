#include "actors/fetch_table.hpp"

#include "actors/id_tables.hpp"

#include <stdexcept>

namespace manta::actors {

fetch_op* fetch_table::find(uint64_t fetch_id) {
  auto i = fetches_.find(fetch_id);
  return i == fetches_.end() ? nullptr : &i->second;
}

fetch_op& fetch_table::at(uint64_t fetch_id) {
  return fetches_.at(fetch_id);
}

uint64_t fetch_table::of(uint64_t object) const {
  auto i = by_object_.find(object);
  return i == by_object_.end() ? 0 : i->second;
}

std::pair<uint64_t, bool> fetch_table::open(const detail::remote_ptr& obj) {
  auto id = obj->id.value();
  if (auto i = by_object_.find(id); i != by_object_.end())
    return {i->second, false};
  auto fetch_id = next_++;
  fetches_[fetch_id].obj = obj;
  by_object_[id] = fetch_id;
  return {fetch_id, true};
}

fetch_op fetch_table::take(uint64_t fetch_id) {
  auto i = fetches_.find(fetch_id);
  if (i == fetches_.end())
    throw std::out_of_range{"fetch_table::take: no such fetch"};
  auto op = std::move(i->second);
  fetches_.erase(i);
  by_object_.erase(op.obj->id.value());
  return op;
}

std::vector<uint64_t> fetch_table::reading_from(uint16_t node) const {
  return ids_on_node(fetches_, node);
}

} // namespace manta::actors
