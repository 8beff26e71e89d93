// Type layouts and build fingerprints (runtime/manta/core/type_layout.hpp,
// build_fingerprint.hpp): what two binaries compare at join so that a struct
// laid out differently on each side (same name, same size) is refused
// instead of decoded as the other layout.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <manta/cluster/build_fingerprint.hpp>
#include <manta/sched/function_registry.hpp>
#include <manta/core/type_layout.hpp>
#include <manta/net/wire.hpp>
#include <manta/manta.hpp>

#include "tests/runtime_guard.hpp"

#include <caf/error.hpp>
#include <caf/meta/hex_formatted.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/meta/save_callback.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

using manta::detail::layout_of;
namespace wire = manta::detail::wire;

// Two builds of one struct: same name (in their namespace), same size,
// fields swapped. Their mangled names differ only by the namespace, which
// the two builds of a real program would not have.
namespace build_a {
struct point {
  int x = 0;
  float y = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.y);
}
} // namespace build_a

namespace build_b {
struct point {
  float x = 0;
  int y = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.y);
}
} // namespace build_b

namespace build_a2 { // build_a's layout again
struct point {
  int x = 0;
  float y = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(p.x, p.y);
}
} // namespace build_a2

namespace {

/// Layout of `T` without its type name: "{int32, float32}".
template <class T>
std::string fields_of() {
  auto s = layout_of<T>();
  return s.substr(s.find('{'));
}

struct raw_pair { // no inspect: a plain struct, its fields read by Boost.PFR
  int a;
  float b;
};

class raw_class { // trivially copyable but not an aggregate: fields not visible
public:
  explicit raw_class(int v = 0) : v_(v) {}

private:
  int v_;
};

enum class color : uint8_t { red, green };

struct tree {
  int value = 0;
  std::vector<tree> kids;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tree& t) {
  return f(t.value, t.kids);
}

int callbacks_run = 0;

struct annotated {
  uint32_t id = 0;
  std::string name;
  std::optional<double> weight;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, annotated& x) {
  return f(caf::meta::type_name("annotated"), caf::meta::hex_formatted(), x.id,
           caf::meta::save_callback([] {
             ++callbacks_run;
             return caf::error{};
           }),
           x.name, x.weight);
}

struct nested {
  build_a::point where;
  std::map<std::string, std::vector<build_a::point>> named;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nested& x) {
  return f(x.where, x.named);
}

int local_only(std::unique_ptr<int> p, std::function<int()> f) {
  return p ? *p + f() : 0;
}

double scale(build_a::point p, int k) {
  return (p.x + p.y) * k;
}
std::vector<int> ids(const std::map<std::string, int>& m) {
  std::vector<int> out;
  for (auto& [_, v] : m)
    out.push_back(v);
  return out;
}
MANTA_REMOTE(scale, ids);
MANTA_LOCAL(local_only); // a unique_ptr and a std::function cannot cross nodes

class counter {
public:
  explicit counter(int start) : n_(start) {}
  int incr(build_a::point by) { return n_ += by.x; }
  void reset() { n_ = 0; }

private:
  int n_;
};
MANTA_ACTOR(counter, &counter::incr, &counter::reset);

} // namespace

TEST_CASE("arithmetic types are described by kind and size") {
  CHECK(layout_of<int>() == "int32");
  CHECK(layout_of<uint64_t>() == "uint64");
  CHECK(layout_of<int16_t>() == "int16");
  CHECK(layout_of<float>() == "float32");
  CHECK(layout_of<double>() == "float64");
  CHECK(layout_of<bool>() == "bool");
  CHECK(layout_of<char>() == "char");
  CHECK(layout_of<const int&>() == "int32");
  CHECK(layout_of<color>().find("(uint8)") != std::string::npos);
  CHECK(layout_of<int>() != layout_of<float>()); // same size, another kind
  CHECK(layout_of<int>() != layout_of<unsigned>());
}

TEST_CASE("structs of the same size with their fields in another order differ") {
  static_assert(sizeof(build_a::point) == sizeof(build_b::point));
  CHECK(fields_of<build_a::point>() == "{int32, float32}");
  CHECK(fields_of<build_b::point>() == "{float32, int32}");
  CHECK(fields_of<build_a::point>() != fields_of<build_b::point>());
  // The same layout is described the same way, with or without type_name.
  CHECK(fields_of<build_a2::point>() == fields_of<build_a::point>());
  CHECK(layout_of<build_a::point>() == "build_a::point{int32, float32}");
}

TEST_CASE("containers are described by their elements, recursively") {
  CHECK(layout_of<std::vector<double>>() == "list<float64>");
  CHECK(layout_of<std::string>() == "string");
  CHECK(layout_of<std::map<std::string, std::vector<std::optional<build_a::point>>>>()
        == "map<string, list<optional<build_a::point{int32, float32}>>>");
  CHECK(layout_of<std::map<std::string, std::vector<std::optional<build_a::point>>>>()
        != layout_of<std::map<std::string, std::vector<std::optional<build_b::point>>>>());
  CHECK(layout_of<std::set<int>>() == "set<int32>");
  CHECK(layout_of<std::array<float, 3>>() == "array<float32, 3>");
  CHECK(layout_of<std::pair<int, std::string>>() == "pair<int32, string>");
  CHECK(layout_of<std::tuple<int, float, bool>>() == "tuple<int32, float32, bool>");
  CHECK(layout_of<std::variant<int, std::string>>() == "variant<int32, string>");
  CHECK(layout_of<std::chrono::milliseconds>() == "duration<int64, 1/1000>");
  CHECK(fields_of<nested>()
        == "{build_a::point{int32, float32}, map<string, list<build_a::point{int32, "
           "float32}>>}");
}

TEST_CASE("inspect overloads are walked as CAF's serializer walks them") {
  callbacks_run = 0;
  CHECK(fields_of<annotated>() == "{uint32, string, optional<float64>}");
  CHECK(callbacks_run == 0); // describing runs no user callbacks
  // A type that contains itself is named where it recurs, not expanded.
  CHECK(fields_of<tree>() == "{int32, list<(anonymous namespace)::tree{...}>}");
}

TEST_CASE("a plain struct without inspect is described by its fields") {
  CHECK(layout_of<std::vector<raw_pair>>()
        == "list<(anonymous namespace)::raw_pair{int32, float32}>");
}

TEST_CASE("a trivially copyable class without inspect shows its name and size only") {
  auto s = layout_of<std::vector<raw_class>>();
  CHECK(s.find("raw_class(4 bytes, align 4, trivially copyable") != std::string::npos);
  CHECK(s.find("without an inspect overload") != std::string::npos);
}

TEST_CASE("types that cannot cross nodes are named, and their functions still register") {
  CHECK(layout_of<std::unique_ptr<int>>().find(", opaque)") != std::string::npos);
  auto* fn = manta::detail::find_function("local_only");
  REQUIRE(fn != nullptr);
  CHECK(!fn->invoke); // runs only where it is called
  CHECK(fn->layout().params.size() == 2);
  CHECK(fn->layout().params[1].find("std::function<int ()>(32 bytes") == 0);
  CHECK(fn->layout().result == "int32");
}

TEST_CASE("the build fingerprint lists functions, actor classes and constructors") {
  {
    runtime_guard rt{1};
    auto c = manta::actor<counter>().remote(5); // registers counter(int) for other nodes
    CHECK(manta::get(c.call(&counter::incr).remote(build_a::point{2, 0.5f})) == 7);
  }
  auto& b = manta::detail::this_build();
  CHECK(b.hash != 0);
  std::map<std::string, const wire::build_entry*> by_key;
  for (auto& e : b.entries)
    by_key[e.key] = &e;
  REQUIRE(by_key.contains("function 'scale'"));
  auto& s = *by_key["function 'scale'"];
  CHECK(s.parts
        == std::vector<std::string>{"argument 1: build_a::point{int32, float32}",
                                    "argument 2: int32", "result: float64"});
  CHECK(s.signature.find("double (") == 0);
  REQUIRE(by_key.contains("function 'ids'"));
  CHECK(by_key["function 'ids'"]->parts.front() == "argument 1: map<string, int32>");
  REQUIRE(by_key.contains("actor class 'counter'"));
  CHECK(by_key["actor class 'counter'"]->parts
        == std::vector<std::string>{"method incr: (build_a::point{int32, float32}) -> int32",
                                    "method reset: () -> void"});
  REQUIRE(by_key.contains("constructor of actor class 'counter' taking (int)"));
  // The registry's per-call hash is the one of its layouts.
  auto* fn = manta::detail::find_function("scale");
  REQUIRE(fn != nullptr);
  REQUIRE(static_cast<bool>(fn->layout));
  CHECK(fn->layout().params.front() == "build_a::point{int32, float32}");
  CHECK(fn->layout().hash != manta::detail::layout_of_callable<double, build_b::point, int>().hash);
  CHECK(fn->layout().hash == manta::detail::layout_of_callable<double, build_a::point, int>().hash);
}

TEST_CASE("build_conflict names what differs, only in what both builds have") {
  auto here = manta::detail::this_build();
  CHECK(manta::detail::build_conflict(here, here).empty());
  // The other build: `scale` takes the swapped point, `ids` is gone and a
  // function of its own is there.
  auto there = here;
  for (auto& e : there.entries)
    if (e.key == "function 'scale'") {
      e.parts[0] = "argument 1: build_a::point{float32, int32}";
      e.hash ^= 1;
    }
  std::erase_if(there.entries, [](auto& e) { return e.key == "function 'ids'"; });
  there.entries.push_back({"function 'other'", 7, "int ()", {"result: int32"}});
  there.hash ^= 1;
  auto why = manta::detail::build_conflict(here, there);
  CHECK(why
        == "function 'scale' differs: argument 1 is build_a::point{int32, float32} here and "
           "build_a::point{float32, int32} there");
  // Builds that only have different functions do not conflict.
  auto only_new = here;
  std::erase_if(only_new.entries, [](auto& e) { return e.key == "function 'ids'"; });
  only_new.hash ^= 1;
  CHECK(manta::detail::build_conflict(here, only_new).empty());

  wire::node_record driver{};
  driver.driver = true;
  driver.pid = 11;
  driver.build = here;
  wire::node_record worker{};
  worker.index = 2;
  worker.pid = 22;
  worker.host = "127.0.0.1";
  worker.build = there;
  auto refusal = manta::detail::join_conflict(driver, worker);
  CHECK(refusal.find("this driver (pid 11, build " + manta::detail::build_id(here.hash)) == 0);
  CHECK(refusal.find("worker node-2 (pid 22 on 127.0.0.1, build "
                     + manta::detail::build_id(there.hash) + ")")
        != std::string::npos);
  CHECK(refusal.find(why) != std::string::npos);
  CHECK(refusal.find("run the same binary") != std::string::npos);
}

TEST_CASE("the fingerprint crosses the wire in NodeInfo") {
  wire::node_record r;
  r.host = "127.0.0.1";
  r.port = 4000;
  r.build = manta::detail::this_build();
  wire::node_record back;
  REQUIRE(wire::decode(wire::encode(r), back) == "");
  auto without = r;
  without.build = {};
  MESSAGE("NodeInfo: " << wire::encode(without).size() << " bytes without the fingerprint, "
                       << wire::encode(r).size() << " with its " << r.build.entries.size()
                       << " entries");
  CHECK(back.build.hash == r.build.hash);
  REQUIRE(back.build.entries.size() == r.build.entries.size());
  for (size_t i = 0; i < r.build.entries.size(); ++i) {
    CHECK(back.build.entries[i].key == r.build.entries[i].key);
    CHECK(back.build.entries[i].hash == r.build.entries[i].hash);
    CHECK(back.build.entries[i].signature == r.build.entries[i].signature);
    CHECK(back.build.entries[i].parts == r.build.entries[i].parts);
  }
  wire::task_message t;
  t.function_name = "scale";
  t.layout_hash = 0x1234;
  wire::task_message t2;
  REQUIRE(wire::decode(wire::encode(t), t2) == "");
  CHECK(t2.layout_hash == 0x1234);
}
