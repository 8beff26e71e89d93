#include "manta/net/wire.hpp"

#include "manta/net/wire_reader.hpp"

#include "schemas/node.capnp.h"

namespace manta::detail::wire {

// schema::BundleReservation (placement groups across nodes).

/// The bundles, (index, resources) pairs here, as a List(Bundle).
struct bundles_access {
  using value_type = std::vector<std::pair<uint32_t, resource_map>>;

  template <class B>
  void write(B b, const value_type& v) const {
    auto list = b.initBundles(static_cast<unsigned>(v.size()));
    for (unsigned i = 0; i < v.size(); ++i) {
      list[i].setIndex(v[i].first);
      set_resources(list[i].initResources(static_cast<unsigned>(v[i].second.size())), v[i].second);
    }
  }

  template <class R>
  void read(R r, value_type& v) const {
    v.clear();
    for (auto bundle : r.getBundles())
      v.emplace_back(bundle.getIndex(), get_resources(bundle.getResources()));
  }
};

template <class F>
void fields(F&& f, bundle_message& x) {
  f(x.group, MANTA_WIRE_FIELD(Group));
  f(x.owner, MANTA_WIRE_FIELD(Owner));
  f(x.bundles, bundles_access{});
}

namespace {

std::string check(const bundle_message& x) {
  for (auto& [index, resources] : x.bundles)
    if (auto why = check_resources(0.0, resources); !why.empty())
      return "bundle " + std::to_string(index) + ": " + why;
  if (x.group == 0 || x.bundles.empty())
    return "no group id or no bundles";
  return {};
}

} // namespace

bytes encode(const bundle_message& x) {
  return encode_fields<schema::BundleReservation>(x);
}

std::string decode(std::span<const char> in, bundle_message& out) {
  return decode_fields<schema::BundleReservation>("BundleReservation", in, out, check);
}

} // namespace manta::detail::wire
