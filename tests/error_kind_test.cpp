// Error kinds on the wire (error_kind.hpp, wire_failure.hpp): a failure
// crosses nodes as a code of schemas/task.capnp's ErrorKind, and comes back
// as the class it was; a code this build does not know is a clear error.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/actor_errors.hpp>
#include <manta/core/error_kind.hpp>
#include <manta/net/wire.hpp>
#include <manta/net/wire_failure.hpp>
#include <manta/errors.hpp>

#include <cctype>
#include <exception>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

namespace wire = manta::detail::wire;
using manta::detail::error_kind;

namespace {

std::vector<error_kind> every_kind() {
  std::vector<error_kind> out;
  for (uint16_t code = 0; code < manta::detail::error_kind_count; ++code)
    out.push_back(*manta::detail::error_kind_from_code(code));
  return out;
}

/// A failure as a peer's node manager sends it: encoded, then decoded here.
wire::failure_message over_the_wire(const wire::failure_message& f) {
  wire::result_message r;
  r.task_id = 7;
  r.node = "node-2 (pid 4242)";
  r.kind = wire::result_message::failure;
  r.error = f;
  wire::result_message back;
  REQUIRE(wire::decode(wire::encode(r), back) == "");
  REQUIRE(back.kind == wire::result_message::failure);
  return back.error;
}

/// The schema's camelCase enumerant as Cap'n Proto's C++ spells it.
std::string upper_snake(const std::string& camel) {
  std::string out;
  for (char c : camel) {
    if (std::isupper(static_cast<unsigned char>(c)))
      out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

struct my_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct my_manta_error : manta::error {
  using manta::error::error;
};

} // namespace

TEST_CASE("the schema's ErrorKind lists exactly the kinds of error_kind.hpp, in order") {
  auto names = wire::schema_error_kinds();
  REQUIRE(names.size() == manta::detail::error_kind_count);
  for (auto k : every_kind()) {
    CAPTURE(manta::detail::error_class_name(k));
    CHECK(upper_snake(names[static_cast<uint16_t>(k)]) == manta::detail::error_kind_schema_name(k));
  }
}

TEST_CASE("every kind's code round-trips through a TaskResult") {
  for (auto k : every_kind()) {
    CAPTURE(manta::detail::error_class_name(k));
    wire::failure_message f;
    f.kind = k;
    f.type_name = k == error_kind::task_error ? "std::domain_error" : "";
    f.message = "what went wrong";
    f.task_name = "f";
    f.node = "node-2 (pid 4242)";
    auto back = over_the_wire(f);
    CHECK(back.kind == k);
    CHECK(back.type_name == f.type_name);
    CHECK(back.message == "what went wrong");
    CHECK(back.task_name == "f");
    CHECK(back.node == "node-2 (pid 4242)");
  }
}

TEST_CASE("every one of Manta's errors crosses as its code and is raised as its class") {
  for (auto k : every_kind()) {
    if (k == error_kind::task_error)
      continue; // needs a type, a task and a node: the next case
    CAPTURE(manta::detail::error_class_name(k));
    auto thrown = manta::detail::make_error(k, "the cause");
    auto f = manta::detail::to_failure(thrown, "f", "node-2 (pid 4242)");
    CHECK(f.kind == k);
    CHECK(f.type_name.empty()); // the code says it
    CHECK(f.message == "the cause");
    auto raised = manta::detail::from_failure(over_the_wire(f));
    try {
      std::rethrow_exception(raised);
    } catch (const manta::error& e) {
      // Exactly the class it was on the other node, not a task_error
      // naming it (nor a base class).
      CHECK(manta::detail::kind_of(e) == k);
      try {
        std::rethrow_exception(thrown);
      } catch (const manta::error& original) {
        CHECK(typeid(e) == typeid(original));
      }
      CHECK(std::string{e.what()} == "the cause");
    } catch (...) {
      FAIL("not a manta::error");
    }
  }
  // Spot checks that the list pairs each kind with its own class.
  CHECK_THROWS_AS(std::rethrow_exception(manta::detail::make_error(error_kind::actor_died, "x")),
                  manta::actor_died_error);
  CHECK_THROWS_AS(std::rethrow_exception(manta::detail::make_error(error_kind::object_lost, "x")),
                  manta::object_lost_error);
  // An owner_died_error (Ray's OwnerDiedError) is its own kind, and still
  // an object_lost_error to code that catches that.
  CHECK_THROWS_AS(std::rethrow_exception(manta::detail::make_error(error_kind::owner_died, "x")),
                  manta::owner_died_error);
  CHECK_THROWS_AS(std::rethrow_exception(manta::detail::make_error(error_kind::owner_died, "x")),
                  manta::object_lost_error);
  CHECK(manta::detail::kind_of(manta::owner_died_error("x")) == error_kind::owner_died);
  CHECK(manta::detail::error_class_name(error_kind::task_cancelled)
        == "manta::task_cancelled_error");
  CHECK(manta::detail::error_class_name(error_kind::generic) == "manta::error");
}

TEST_CASE("a user's exception, or a subclass of Manta's, crosses as a task_error named by type") {
  auto user = manta::detail::to_failure(std::make_exception_ptr(my_failure("boom")), "f",
                                        "node-2 (pid 4242)");
  CHECK(user.kind == error_kind::task_error);
  CHECK(user.type_name.find("my_failure") != std::string::npos);
  auto sub = manta::detail::to_failure(std::make_exception_ptr(my_manta_error("mine")), "f",
                                       "node-2 (pid 4242)");
  CHECK(sub.kind == error_kind::task_error);
  CHECK(sub.type_name.find("my_manta_error") != std::string::npos);
  // actor_crash kills the actor where it is hosted; it is not re-raised as
  // itself on the caller's node.
  auto crash = manta::detail::to_failure(std::make_exception_ptr(manta::actor_crash("down")), "f",
                                         "node-2 (pid 4242)");
  CHECK(crash.kind == error_kind::task_error);
  CHECK(crash.type_name == "manta::actor_crash");
  try {
    std::rethrow_exception(manta::detail::from_failure(over_the_wire(user)));
    FAIL("no exception");
  } catch (const manta::task_error& e) {
    CHECK(e.type_name() == user.type_name);
    CHECK(e.message() == "boom");
    CHECK(e.task_name() == "f");
    CHECK(e.node() == "node-2 (pid 4242)");
  }
  // A nested task's task_error keeps the node it failed on.
  auto nested = manta::detail::to_failure(
    std::make_exception_ptr(manta::task_error("std::domain_error", "deep", "g", "node-3")), "f",
    "node-2 (pid 4242)");
  CHECK(nested.kind == error_kind::task_error);
  CHECK(nested.type_name == "std::domain_error");
  CHECK(nested.node == "node-3");
}

TEST_CASE("a code this build does not know fails with a manta::error naming the code") {
  CHECK_FALSE(manta::detail::error_kind_from_code(manta::detail::error_kind_count));
  CHECK_FALSE(manta::detail::error_kind_from_code(65535));
  for (uint16_t code :
       {uint16_t{manta::detail::error_kind_count}, uint16_t{999}, uint16_t{65535}}) {
    CAPTURE(code);
    wire::failure_message f;
    f.kind = static_cast<error_kind>(code); // as a newer (or hostile) peer sends it
    f.type_name = "manta::future_error";
    f.message = "from the future";
    f.task_name = "f";
    f.node = "node-2 (pid 4242)";
    auto back = over_the_wire(f);
    CHECK(back.kind == error_kind::generic);
    CHECK(back.type_name.empty());
    CHECK(back.message.find("kind " + std::to_string(code)) != std::string::npos);
    CHECK(back.message.find("does not know") != std::string::npos);
    CHECK(back.message.find("node-2 (pid 4242)") != std::string::npos);
    CHECK(back.message.find("manta::future_error") != std::string::npos);
    CHECK(back.message.find("from the future") != std::string::npos);
    try {
      std::rethrow_exception(manta::detail::from_failure(back));
      FAIL("no exception");
    } catch (const manta::error& e) {
      CHECK(typeid(e) == typeid(manta::error));
      CHECK(std::string{e.what()}.find("kind " + std::to_string(code)) != std::string::npos);
    }
  }
}
