// Values that travel without ceremony: plain structs cross nodes with no
// hand-written code (Boost.PFR, runtime/manta/core/aggregate_inspect.hpp),
// and a task that cannot leave the driver says which type keeps it there
// instead of a wrong message about the cluster's CPUs. This binary is the
// head, the worker and the driver (tests/cluster_main.hpp).

#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <manta/core/codec.hpp>
#include <manta/actor/remote_invoker.hpp>
#include <manta/core/type_layout.hpp>
#include <manta/manta.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace geo {

/// Plain aggregates: no constructor, no inspect overload, no macro.
struct point {
  double x = 0;
  double y = 0;
};

struct segment {
  point from;
  point to;
  std::string label;
  std::vector<int> tags;
};

struct scaled {
  int node = -1;
  segment s;
  double length = 0;
};

} // namespace geo

namespace {

struct base {
  int a = 0;
};

struct derived : base { // a base class: PFR cannot see its fields
  int b = 0;
};

struct holds_pointer {
  int* p = nullptr;
};

struct handle_like {
  int fd = -1;
};

geo::scaled scale(const geo::segment& s, double k) {
  geo::scaled out;
  out.node = static_cast<int>(manta::current_node());
  out.s = s;
  out.s.from = {s.from.x * k, s.from.y * k};
  out.s.to = {s.to.x * k, s.to.y * k};
  out.s.label = s.label + "*" + std::to_string(static_cast<int>(k));
  out.s.tags.push_back(static_cast<int>(k));
  return out;
}

std::vector<geo::point> midpoints(const std::vector<geo::segment>& ss) {
  std::vector<geo::point> out;
  for (auto& s : ss)
    out.push_back({(s.from.x + s.to.x) / 2, (s.from.y + s.to.y) / 2});
  return out;
}

MANTA_REMOTE(scale, midpoints);

int read_through(const int* p) {
  return *p;
}

long widen(long x) {
  return x * 2;
}

int make_int(int x) {
  return x;
}

MANTA_LOCAL(read_through); // a pointer means nothing on another node
MANTA_REMOTE(widen, make_int);

/// An actor whose state and methods use the plain structs.
class path {
public:
  geo::point add(geo::point p) {
    points_.push_back(p);
    return {p.x + 1, p.y + 1};
  }
  std::vector<geo::point> points() const { return points_; }
  int node() const { return static_cast<int>(manta::current_node()); }

private:
  std::vector<geo::point> points_;
};

MANTA_ACTOR(path, &path::add, &path::points, &path::node);

/// Captures what this process writes to stderr while `fn` runs.
template <class Fn>
std::string stderr_of(Fn fn) {
  char name[] = "/tmp/manta_travel_stderr_XXXXXX";
  int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  std::fflush(stderr);
  int saved = ::dup(2);
  ::dup2(fd, 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in{name};
  std::stringstream text;
  text << in.rdbuf();
  ::unlink(name);
  return text.str();
}

} // namespace

TEST_CASE("a plain struct has an encoding without any code of its own") {
  using namespace manta::detail;
  static_assert(is_decodable_v<geo::point>);
  static_assert(is_decodable_v<geo::segment>);
  static_assert(is_decodable_v<std::vector<geo::segment>>);
  static_assert(is_decodable_v<geo::scaled>);
  static_assert(!is_encodable_v<derived>);
  static_assert(!is_encodable_v<holds_pointer>);
  geo::segment s{{1.5, -2}, {3, 4.25}, "edge", {7, 8, 9}};
  auto bytes = encode(std::vector<geo::segment>{s, s});
  std::vector<geo::segment> back;
  REQUIRE_FALSE(decode(std::span<const char>{bytes}, back));
  REQUIRE(back.size() == 2);
  CHECK(back[1].from.x == 1.5);
  CHECK(back[1].to.y == 4.25);
  CHECK(back[1].label == "edge");
  CHECK(back[1].tags == std::vector<int>{7, 8, 9});
  // Truncated bytes are an error, not garbage.
  std::vector<geo::segment> cut;
  CHECK(decode(std::span<const char>{bytes.data(), bytes.size() / 2}, cut));
  // Two builds compare the fields, not only the name and size.
  CHECK(layout_of<geo::point>() == "geo::point{float64, float64}");
  CHECK(layout_of<geo::segment>()
        == "geo::segment{geo::point{float64, float64}, geo::point{float64, float64}, "
           "string, list<int32>}");
}

TEST_CASE("why a type cannot travel names the type") {
  using namespace manta::detail;
  CHECK(travel_problem<geo::segment>().empty());
  auto ptr = travel_problem<holds_pointer>();
  CHECK(ptr.find("holds_pointer") != std::string::npos);
  CHECK(ptr.find("cannot be serialized") != std::string::npos);
  CHECK(travel_problem<derived>().find("derived") != std::string::npos);
  // Refs to serializable values travel (borrowed refs); queues do not.
  CHECK(travel_problem<std::vector<manta::object_ref<int>>>().empty());
  auto handle = travel_problem<std::vector<manta::queue<int>>>();
  CHECK(handle.find("object refs or queues") != std::string::npos);
  CHECK(signature_travel_problem<int, int, const int*>().find("parameter 2's type 'int const*'")
        != std::string::npos);
}

TEST_CASE("plain structs cross nodes as task arguments, results and actor calls") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0); // the driver has no CPU: everything runs on the worker
  geo::segment s{{1, 2}, {3, 4}, "a", {1}};
  auto r = manta::get(manta::task(scale).remote(s, 2.0), 20s);
  CHECK(r.node != static_cast<int>(manta::current_node()));
  CHECK(r.s.from.x == 2);
  CHECK(r.s.to.y == 8);
  CHECK(r.s.label == "a*2");
  CHECK(r.s.tags == std::vector<int>{1, 2});
  CHECK(r.length == 0);
  // A put vector of structs as an object argument, and a result made there.
  auto ref = manta::put(std::vector<geo::segment>{s, {{0, 0}, {10, 20}, "b", {}}});
  auto mids = manta::get(manta::task(midpoints).remote(ref), 20s);
  REQUIRE(mids.size() == 2);
  CHECK(mids[0].x == 2);
  CHECK(mids[1].y == 10);
  // An actor on the worker takes and returns them.
  auto a = manta::actor<path>().num_cpus(1).remote(); // only the worker has a CPU
  CHECK(manta::get(a.call(&path::node).remote(), 20s) != static_cast<int>(manta::current_node()));
  auto moved = manta::get(a.call(&path::add).remote(geo::point{1, 2}), 20s);
  CHECK(moved.x == 2);
  a.call(&path::add).remote(moved);
  auto pts = manta::get(a.call(&path::points).remote(), 20s);
  REQUIRE(pts.size() == 2);
  CHECK(pts[1].y == 3);

  { // a task that cannot leave the driver says why, once, and never blames CPUs
    int value = 5;
    std::string first_error;
    auto log = stderr_of([&] {
      for (int i = 0; i < 3; ++i) {
        try {
          manta::get(manta::task(read_through).remote(&value), 20s);
          FAIL("a task with no CPU to run on ran");
        } catch (const manta::infeasible_task_error& e) {
          first_error = e.what();
        }
      }
    });
    CHECK(first_error.find("cannot leave this node") != std::string::npos);
    CHECK(first_error.find("'int const*'") != std::string::npos);
    CHECK(first_error.find("the cluster has only") == std::string::npos);
    CHECK(manta_test::count_of(log, "tasks of 'read_through' run only on this driver") == 1);
    // An object argument of another type than the parameter's.
    auto i = manta::task(make_int).remote(21);
    try {
      manta::get(manta::task(widen).remote(i), 20s);
      FAIL("a task with no CPU to run on ran");
    } catch (const manta::infeasible_task_error& e) {
      std::string what = e.what();
      CHECK(what.find("argument 1 is an object_ref<int> but parameter 1 is 'long'")
            != std::string::npos);
    }
  }
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
