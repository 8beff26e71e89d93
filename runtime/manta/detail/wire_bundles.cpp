#include "manta/detail/wire.hpp"

#include "manta/detail/wire_reader.hpp"

#include "schemas/node.capnp.h"

namespace manta::detail::wire {

// schema::BundleReservation (placement groups across nodes).

bytes encode(const bundle_message& x) {
  return build<schema::BundleReservation>([&](schema::BundleReservation::Builder b) {
    b.setGroup(x.group);
    b.setOwner(x.owner);
    auto list = b.initBundles(static_cast<unsigned>(x.bundles.size()));
    for (unsigned i = 0; i < x.bundles.size(); ++i) {
      list[i].setIndex(x.bundles[i].first);
      set_resources(list[i].initResources(static_cast<unsigned>(x.bundles[i].second.size())),
                    x.bundles[i].second);
    }
  });
}

std::string decode(std::span<const char> in, bundle_message& out) {
  return read_root<schema::BundleReservation>(
    "BundleReservation", in, [&](schema::BundleReservation::Reader r) -> std::string {
      out.group = r.getGroup();
      out.owner = r.getOwner();
      out.bundles.clear();
      for (auto bundle : r.getBundles()) {
        auto resources = get_resources(bundle.getResources());
        if (auto why = check_resources(0.0, resources); !why.empty())
          return "bundle " + std::to_string(bundle.getIndex()) + ": " + why;
        out.bundles.emplace_back(bundle.getIndex(), std::move(resources));
      }
      if (out.group == 0 || out.bundles.empty())
        return "no group id or no bundles";
      return {};
    });
}

} // namespace manta::detail::wire
