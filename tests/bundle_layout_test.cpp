// Where the driver puts a placement group's bundles (bundle_layout.hpp):
// each strategy's meaning, on nodes given as what they have room for.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/placement/bundle_layout.hpp"

#include <set>

using manta::placement_strategy;
using manta::detail::lay_out;
using manta::detail::layout_node;

namespace {

std::vector<manta::resource_map> cpus(std::vector<double> each) {
  std::vector<manta::resource_map> out;
  for (auto c : each)
    out.push_back({{"CPU", c}});
  return out;
}

std::vector<layout_node> nodes(std::vector<double> each) {
  std::vector<layout_node> out;
  uint16_t index = 1;
  for (auto c : each)
    out.push_back({index++, {{"CPU", c}}});
  return out;
}

size_t distinct(const std::vector<uint16_t>& xs) {
  return std::set<uint16_t>(xs.begin(), xs.end()).size();
}

} // namespace

TEST_CASE("STRICT_SPREAD: one node per bundle, or nothing") {
  auto two = lay_out(cpus({1, 1}), placement_strategy::strict_spread, nodes({1, 1}));
  REQUIRE(two);
  CHECK(distinct(*two) == 2);
  CHECK_FALSE(lay_out(cpus({1, 1, 1}), placement_strategy::strict_spread, nodes({1, 1})));
  CHECK_FALSE(lay_out(cpus({1, 1}), placement_strategy::strict_spread, nodes({4})));
  // A matching, not first fit: the big bundle needs the big node, even
  // though the small one is listed first and fits it too.
  auto matched = lay_out(cpus({1, 4}), placement_strategy::strict_spread, nodes({4, 1}));
  REQUIRE(matched);
  CHECK((*matched)[0] == 2);
  CHECK((*matched)[1] == 1);
  // A node without room for any bundle does not count (a driver with no CPUs).
  CHECK_FALSE(lay_out(cpus({1, 1, 1}), placement_strategy::strict_spread, nodes({0, 1, 1})));
}

TEST_CASE("STRICT_PACK: all on one node that holds the sum") {
  auto one = lay_out(cpus({1, 2}), placement_strategy::strict_pack, nodes({2, 3}));
  REQUIRE(one);
  CHECK(*one == std::vector<uint16_t>{2, 2});
  CHECK_FALSE(lay_out(cpus({2, 2}), placement_strategy::strict_pack, nodes({3, 3})));
}

TEST_CASE("PACK prefers one node, SPREAD prefers many; both fall back") {
  auto packed = lay_out(cpus({1, 1}), placement_strategy::pack, nodes({2, 2}));
  REQUIRE(packed);
  CHECK(distinct(*packed) == 1);
  auto split = lay_out(cpus({2, 2}), placement_strategy::pack, nodes({3, 3}));
  REQUIRE(split);
  CHECK(distinct(*split) == 2);
  auto spread = lay_out(cpus({1, 1}), placement_strategy::spread, nodes({2, 2}));
  REQUIRE(spread);
  CHECK(distinct(*spread) == 2);
  auto shared = lay_out(cpus({1, 1, 1}), placement_strategy::spread, nodes({2, 1}));
  REQUIRE(shared);
  CHECK(distinct(*shared) == 2);
  CHECK_FALSE(lay_out(cpus({2, 2}), placement_strategy::spread, nodes({3})));
}

TEST_CASE("custom resources count like CPUs") {
  std::vector<manta::resource_map> gpu = {{{"CPU", 1}, {"GPU", 1}}, {{"CPU", 1}}};
  std::vector<layout_node> ns = {{1, {{"CPU", 4}}}, {2, {{"CPU", 1}, {"GPU", 1}}}};
  auto at = lay_out(gpu, placement_strategy::strict_spread, ns);
  REQUIRE(at);
  CHECK((*at)[0] == 2);
  CHECK((*at)[1] == 1);
  CHECK_FALSE(lay_out(gpu, placement_strategy::strict_pack, ns));
}
