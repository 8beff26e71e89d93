#pragma once

#include <string_view>

namespace manta::detail {

/// Walks a list of KEY<kv>VALUE items separated by `sep` ("GPU:1,disk:2";
/// the simulator's "1=GPU:1;2=disk:2"): `pair(key, value)` for each item,
/// split at its first `kv`, or `bad(item)` for an item with no `kv` or
/// nothing before it (the callers' `bad` throws; were it to return, the item
/// would be skipped). An empty text has no items.
template <class Pair, class Bad>
void for_each_pair(std::string_view text, char sep, char kv, Pair&& pair, Bad&& bad) {
  while (!text.empty()) {
    auto end = text.find(sep);
    auto item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    auto at = item.find(kv);
    if (at == std::string_view::npos || at == 0) {
      bad(item);
      continue;
    }
    pair(item.substr(0, at), item.substr(at + 1));
  }
}

} // namespace manta::detail
