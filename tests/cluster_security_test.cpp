// The cluster token: the head makes one and keeps it in a file only its
// owner can read; a worker or driver with a wrong or missing token is
// refused with an error that says what to give, and the head logs it; a node
// manager ignores work from anyone who does not show the token, even a
// process that connects to its port directly. This binary is head, workers
// and driver (see manta::local_cluster).
#include <manta/detail/cluster.hpp>
#include <manta/detail/codec.hpp>
#include <manta/detail/function_registry.hpp>
#include <manta/detail/runtime.hpp>
#include <manta/detail/wire.hpp>
#include <manta/manta.hpp>

#include "actors/atoms.hpp"
#include "tests/cluster_helpers.hpp"
#include "tests/cluster_main.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>

using namespace std::chrono_literals;
namespace wire = manta::detail::wire;

namespace {

using manta_test::exit_status;
using manta_test::read_all;

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);


} // namespace

TEST_CASE("the head writes a random token readable by its owner only") {
  manta::local_cluster c;
  struct stat st{};
  REQUIRE(::stat((c.dir() + "/head.token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(c.token().size() == 64);
  manta::local_cluster other;
  CHECK(other.token() != c.token());
}

TEST_CASE("a worker with a wrong token is refused, told why, and logged by the head") {
  manta::local_cluster c;
  auto log = c.dir() + "/worker.log";
  auto pid = c.spawn({"--manta-worker", "--address=" + c.address(),
                    "--token=not-the-token", "--num-cpus=1"},
                   log);
  CHECK(exit_status(pid) == 1);
  auto text = read_all(log);
  CHECK(text.find("the head refused this process: wrong cluster token") != std::string::npos);
  CHECK(text.find("--token=TOKEN or MANTA_TOKEN") != std::string::npos);
  CHECK(c.head_log().find("refused a join") != std::string::npos);
  // The refused worker was never a member: a driver with the token sees no
  // worker CPUs.
  c.join(0);
  CHECK(manta::cluster_resources()["CPU"] == 0);
}

TEST_CASE("a driver with a wrong or missing token gets an error naming the problem") {
  manta::local_cluster c;
  manta::init_options opts;
  opts.num_cpus = 1;
  opts.address = c.address();
  opts.token = "0123";
  try {
    manta::init(opts);
    FAIL("init with a wrong token succeeded");
  } catch (const manta::error& e) {
    CHECK(std::string{e.what()}.find("wrong cluster token") != std::string::npos);
  }
  CHECK_FALSE(manta::is_initialized());
  opts.token.reset();
  try {
    manta::init(opts);
    FAIL("init without a token succeeded");
  } catch (const manta::invalid_argument_error& e) {
    CHECK(std::string{e.what()}.find("needs the cluster token") != std::string::npos);
  }
  CHECK_FALSE(manta::is_initialized());
}

TEST_CASE("a node manager runs nothing for a peer without the token") {
  manta::local_cluster c;
  c.add_worker(1);
  c.join(0);
  // Find the worker's published port from the head, as an attacker on the
  // network could by scanning.
  auto& rt = manta::detail::runtime::require("test");
  caf::scoped_actor self{rt.system()};
  auto manager = manta_test::only_worker_manager(c.token());
  REQUIRE(manager);
  wire::task_message t;
  t.task_id = 0xfeed;
  t.function_name = "add";
  t.signature = manta::detail::find_function("add")->signature;
  t.args = {manta::detail::encode(20), manta::detail::encode(22)};
  t.demand.cpus = 1;
  auto spec = wire::encode(t);
  // Without the token: no answer, nothing runs.
  self->send(*manager, manta::actors::submit_atom::value, std::string{"guess"}, spec);
  bool answered = false;
  self->receive([&](manta::actors::result_atom, const std::string&, const wire::bytes&) {
                  answered = true;
                },
                caf::after(1s) >> [] {});
  CHECK_FALSE(answered);
  // A status query without the token is refused as well.
  self->request(rt.cluster_link()->head(), 5s, manta::actors::nodes_atom::value,
                std::string{})
    .receive([&](const wire::bytes&) { FAIL("the head answered without a token"); },
             [&](caf::error& err) {
               CHECK(manta::detail::error_text(err).find("no cluster token")
                     != std::string::npos);
             });
  // With the token the same spec runs (so the silence above was the token).
  self->send(*manager, manta::actors::submit_atom::value, c.token(), spec);
  int v = 0;
  self->receive(
    [&](manta::actors::result_atom, const std::string& token, const wire::bytes& b) {
      CHECK(token == c.token());
      wire::result_message r;
      REQUIRE(wire::decode(b, r) == "");
      REQUIRE(r.kind == wire::result_message::inline_value);
      REQUIRE(!manta::detail::decode(r.value, v));
    },
    caf::after(10s) >> [] { FAIL("no answer with the right token"); });
  CHECK(v == 42);
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
