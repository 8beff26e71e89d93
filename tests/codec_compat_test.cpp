// The codec's own serializer (runtime/manta/core/value_inspector.hpp, no CAF)
// against CAF 0.17's binary serializer as the codec used it before
// (tests/caf_reference_codec.hpp): the same bytes for every kind of value,
// each side reads the other's bytes back, and user types written in CAF's
// `inspect` idiom (annotations, callbacks, caf::error) keep working.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <manta/core/codec.hpp>
#include <manta/core/type_layout.hpp>

#include "tests/caf_reference_codec.hpp"

#include <caf/error.hpp>
#include <caf/meta/hex_formatted.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace d = manta::detail;

namespace compat {

enum class color : uint8_t { red, green, blue };
enum wide : int64_t { small = -3, big = int64_t{1} << 40 };

struct empty {
  friend bool operator==(const empty&, const empty&) = default;
};

struct point { // a plain aggregate: no inspect, fields read by Boost.PFR
  double x = 0;
  double y = 0;
  std::string label;
  friend bool operator==(const point&, const point&) = default;
};

struct shape { // an aggregate of aggregates and containers
  point where;
  std::vector<point> corners;
  std::map<std::string, int32_t> tags;
  color c = color::red;
  friend bool operator==(const shape&, const shape&) = default;
};

int saves = 0;
int loads = 0;

class sample { // CAF's idiom: annotations and callbacks
public:
  uint32_t id = 0;
  std::string name;
  std::vector<double> values;
  bool fail_save = false;
  friend bool operator==(const sample& a, const sample& b) {
    return a.id == b.id && a.name == b.name && a.values == b.values;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sample& x) {
  auto save = caf::meta::save_callback([&]() -> caf::error {
    ++saves;
    if (x.fail_save)
      return caf::make_error(caf::sec::runtime_error, "sample refused");
    return caf::none;
  });
  auto load = caf::meta::load_callback([&]() -> caf::error {
    ++loads;
    return caf::none;
  });
  return f(caf::meta::type_name("sample"), caf::meta::hex_formatted(), x.id, save, x.name, x.values,
           load);
}

/// A shape built field by field: gcc 12 at -O3 warns that the string of a
/// point nested in a braced shape temporary "may be used uninitialized"
/// (a false positive of -Wmaybe-uninitialized).
shape make_shape(color c, size_t corners) {
  shape s;
  s.where.x = 1;
  s.where.y = 2;
  s.where.label = "w";
  for (size_t i = 0; i < corners; ++i) {
    point p;
    p.x = static_cast<double>(i);
    p.y = -static_cast<double>(i);
    p.label = std::string(i + 1, 'a');
    s.corners.push_back(p);
  }
  s.tags["k"] = 9;
  s.c = c;
  return s;
}

} // namespace compat

namespace {

template <class T>
std::vector<char> manta_bytes(const T& x) {
  std::vector<char> out;
  d::value_writer w{out};
  auto err = w(const_cast<T&>(x));
  REQUIRE_MESSAGE(!err, err.what());
  return out;
}

template <class T>
std::vector<char> caf_bytes(const T& x) {
  std::vector<char> out;
  manta::test::value_serializer sink{out};
  auto err = static_cast<caf::serializer&>(sink)(const_cast<T&>(x));
  REQUIRE(!err);
  return out;
}

/// Same bytes both ways, and each side reads the other's back to `x`.
template <class T>
void same_as_caf(const T& x) {
  CAPTURE(d::layout_of<T>());
  auto ours = manta_bytes(x);
  auto theirs = caf_bytes(x);
  CHECK(ours == theirs);
  T back{};
  d::value_reader r{theirs.data(), theirs.size()};
  auto err = r(back);
  CHECK_MESSAGE(!err, err.what());
  CHECK(r.remaining() == 0);
  CHECK(back == x);
  T back2{};
  manta::test::value_deserializer src{ours.data(), ours.size()};
  CHECK(!static_cast<caf::deserializer&>(src)(back2));
  CHECK(back2 == x);
}

} // namespace

TEST_CASE("integers, bools, characters and enums are written as CAF writes them") {
  same_as_caf(int8_t{-5});
  same_as_caf(uint8_t{250});
  same_as_caf(int16_t{-12345});
  same_as_caf(uint16_t{54321});
  same_as_caf(int32_t{-123456789});
  same_as_caf(uint32_t{4000000000u});
  same_as_caf(int64_t{-1234567890123456789});
  same_as_caf(uint64_t{18000000000000000000u});
  same_as_caf(long{-7});
  same_as_caf(static_cast<unsigned long long>(7));
  same_as_caf(true);
  same_as_caf(false);
  same_as_caf('x');
  same_as_caf(char16_t{0x263a});
  same_as_caf(char32_t{0x1f600});
  same_as_caf(wchar_t{0x263a});
  same_as_caf(compat::color::blue);
  same_as_caf(compat::big);
  same_as_caf(compat::small);
}

TEST_CASE("floating-point numbers are their IEEE 754 bits, long double its text") {
  same_as_caf(1.5f);
  same_as_caf(-0.1);
  same_as_caf(std::numeric_limits<double>::infinity());
  same_as_caf(std::numeric_limits<double>::denorm_min());
  same_as_caf(std::numeric_limits<float>::lowest());
  same_as_caf(3.25L);
  // NaN != NaN: compare the bytes only.
  auto nan = std::nan("1");
  CHECK(manta_bytes(nan) == caf_bytes(nan));
}

TEST_CASE("strings and sequences carry CAF's varbyte sizes") {
  same_as_caf(std::string{});
  same_as_caf(std::string{"hello"});
  same_as_caf(std::string(200, 'a'));     // a size of two varbyte bytes
  same_as_caf(std::string(70000, 'b'));   // three
  same_as_caf(std::u16string{u"h\u00e9llo"});
  same_as_caf(std::u32string{U"\U0001f600!"});
  same_as_caf(std::vector<int32_t>{1, -2, 3});
  same_as_caf(std::vector<std::string>{"a", "", "ccc"});
  same_as_caf(std::vector<char>{'a', 0, 'z'});
  same_as_caf(std::vector<unsigned char>{1, 2, 255});
  same_as_caf(std::vector<uint16_t>{});
  for (size_t n : {0, 1, 8, 9, 17}) {
    std::vector<bool> bits(n);
    for (size_t i = 0; i < n; i += 3)
      bits[i] = true;
    same_as_caf(bits);
  }
}

TEST_CASE("maps, sets, pairs, tuples, arrays and durations") {
  same_as_caf(std::map<std::string, std::vector<double>>{{"a", {1.0, 2.0}}, {"b", {}}});
  same_as_caf(std::set<int64_t>{5, -1, 3});
  same_as_caf(std::unordered_map<int32_t, std::string>{{1, "one"}});
  same_as_caf(std::pair<int16_t, std::string>{7, "seven"});
  same_as_caf(std::tuple<int32_t, double, std::string, bool>{1, 2.5, "three", true});
  same_as_caf(std::array<int32_t, 3>{1, 2, 3});
  same_as_caf(std::array<std::string, 2>{"x", "yy"});
  same_as_caf(std::chrono::milliseconds{1234});
  same_as_caf(std::chrono::duration<double>{0.25});
  same_as_caf(std::chrono::system_clock::time_point{std::chrono::seconds{1700000000}});
  same_as_caf(compat::empty{});
}

TEST_CASE("plain aggregates and CAF-idiom inspect overloads") {
  same_as_caf(compat::point{1.5, -2, "p"});
  same_as_caf(compat::make_shape(compat::color::green, 2));
  compat::saves = compat::loads = 0;
  same_as_caf(compat::sample{42, "s", {1, 2}, false});
  CHECK(compat::saves == 2); // once by each writer
  CHECK(compat::loads == 2); // once by each reader
  same_as_caf(std::vector<compat::sample>{{1, "a", {}, false}, {2, "b", {3}, false}});
}

TEST_CASE("an error of CAF's from a callback stops the codec and keeps its text") {
  compat::sample bad{1, "bad", {}, true};
  d::encoded_bytes out;
  auto err = d::encode_into(bad, out);
  REQUIRE(err);
  CHECK(err.what().find("sample refused") != std::string::npos);
}

TEST_CASE("bytes that end early are refused by both readers") {
  auto full = caf_bytes(compat::make_shape(compat::color::blue, 1));
  for (size_t cut = 0; cut < full.size(); ++cut) {
    compat::shape ours;
    d::value_reader r{full.data(), cut};
    CHECK(r(ours));
    compat::shape theirs;
    manta::test::value_deserializer src{full.data(), cut};
    CHECK(static_cast<caf::deserializer&>(src)(theirs));
  }
  // The codec's decode: also refuses bytes left over.
  std::vector<char> longer = caf_bytes(int32_t{5});
  longer.push_back('!');
  int32_t v = 0;
  auto err = d::decode(longer, v);
  REQUIRE(err);
  CHECK(err.what() == "1 bytes left over after decoding");
}
