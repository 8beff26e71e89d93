#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

/// What the cluster client's components do alike to their tables keyed by
/// id (a task's result id, a fetch id): the entries that refer to one
/// node, and taking an entry out whole.
namespace manta::actors {

/// The ids of the entries of `table` whose `node` is `node` (what goes
/// when that node is lost).
template <class Table>
std::vector<uint64_t> ids_on_node(const Table& table, uint16_t node) {
  std::vector<uint64_t> ids;
  for (auto& [id, entry] : table)
    if (entry.node == node)
      ids.push_back(id);
  return ids;
}

/// The entry `id` of `table`, taken out; none if it has none.
template <class Table>
std::optional<typename Table::mapped_type> take_entry(Table& table, uint64_t id) {
  auto i = table.find(id);
  if (i == table.end())
    return std::nullopt;
  std::optional<typename Table::mapped_type> entry{std::move(i->second)};
  table.erase(i);
  return entry;
}

} // namespace manta::actors
