#include "manta/detail/placement_json.hpp"

#include "manta/detail/json.hpp"

namespace manta::detail::json {

std::string to_json(const std::vector<placement_group_info>& groups) {
  std::string out = "[";
  for (auto& g : groups) {
    if (out.size() > 1)
      out += ",";
    out += "{\"id\":" + quote(g.id) + ",\"name\":" + quote(g.name)
           + ",\"strategy\":" + quote(g.strategy) + ",\"state\":" + quote(g.state) + ",\"tasks\":"
           + std::to_string(g.tasks) + ",\"actors\":" + std::to_string(g.actors) + ",\"bundles\":[";
    for (size_t i = 0; i < g.bundles.size(); ++i) {
      auto& b = g.bundles[i];
      out += (i == 0 ? "" : ",");
      out += "{\"index\":" + std::to_string(b.index)
             + ",\"resources\":" + json::to_json(b.resources) + ",\"node\":" + quote(b.node) + "}";
    }
    out += "]}";
  }
  return out + "]";
}

} // namespace manta::detail::json
