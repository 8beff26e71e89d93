#include "actors/rebuild_records.hpp"

#include "actors/id_tables.hpp"

namespace manta::actors {

uint64_t rebuild_records::held_id(uint64_t id) const {
  auto i = items_.find(id);
  return i == items_.end() ? id : i->second.held_as;
}

uint64_t rebuild_records::forget(uint64_t id) {
  auto i = items_.find(id);
  if (i == items_.end())
    return id;
  auto held = i->second.held_as;
  auto l = std::move(i->second.lineage);
  if (auto j = l->items.find(i->second.index); j != l->items.end() && j->second == id)
    l->items.erase(j);
  items_.erase(i);
  if (l.use_count() == 1)
    lineages_.erase(l->task);
  return held;
}

std::shared_ptr<generator_lineage> rebuild_records::lineage(uint64_t task) {
  auto i = lineages_.find(task);
  if (i == lineages_.end())
    return nullptr;
  if (auto l = i->second.lock())
    return l;
  lineages_.erase(i);
  return nullptr;
}

void rebuild_records::keep_lineage(const std::shared_ptr<generator_lineage>& l) {
  lineages_[l->task] = l;
}

std::pair<generator_item*, detail::remote_ptr>
rebuild_records::live_item(const generator_lineage& l, uint64_t index) {
  auto i = l.items.find(index);
  if (i == l.items.end())
    return {nullptr, nullptr};
  auto g = items_.find(i->second);
  if (g == items_.end())
    return {nullptr, nullptr};
  auto rec = g->second.record.lock();
  if (!rec)
    return {nullptr, nullptr};
  return {&g->second, std::move(rec)};
}

generator_item* rebuild_records::item(uint64_t object) {
  auto i = items_.find(object);
  return i == items_.end() ? nullptr : &i->second;
}

void rebuild_records::add_item(uint64_t object, const std::shared_ptr<generator_lineage>& l,
                               uint64_t index, const detail::remote_ptr& record) {
  items_[object] = generator_item{l, index, record, object};
  l->items[index] = object;
}

bool rebuild_records::rerunning(uint64_t task) const {
  return reruns_.count(task) > 0;
}

void rebuild_records::start_rerun(uint64_t task) {
  reruns_.insert(task);
}

void rebuild_records::end_rerun(uint64_t task) {
  reruns_.erase(task);
}

void rebuild_records::rebuilt_inline(uint64_t id, uint16_t node, uint64_t held) {
  inline_[id].emplace_back(node, held);
}

std::vector<std::pair<uint16_t, uint64_t>> rebuild_records::take_rebuilt_inline(uint64_t id) {
  auto nodes = take_entry(inline_, id);
  return nodes ? std::move(*nodes) : std::vector<std::pair<uint16_t, uint64_t>>{};
}

} // namespace manta::actors
