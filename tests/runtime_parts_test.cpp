// The jobs a node knows, the generator streams items from other nodes go
// to and what restarting actors wait for are parts of its runtime
// (known_jobs.hpp, stream_index.hpp, actor_directory.hpp): a second `init`
// sees none of the first's, and with no runtime none is known. The token
// identity of a cluster's TLS and the time its accepted connections get
// for their handshake belong to the CAF configuration that made them
// (cluster_tls.hpp), so two actor systems of one process never share or
// replace each other's.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

#include <manta/actor/far_actors.hpp>
#include <manta/cluster/cluster.hpp>
#include <manta/cluster/cluster_tls.hpp>
#include <manta/cluster/remote_actor.hpp>
#include <manta/core/caf_config.hpp>
#include <manta/core/job_id.hpp>
#include <manta/core/runtime.hpp>
#include <manta/sched/item_stream.hpp>
#include <manta/store/object_store.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace {

using manta::detail::item_stream;
using manta::detail::runtime;
using namespace std::chrono_literals;

manta::init_options options() {
  manta::init_options opts;
  opts.num_cpus = 2;
  return opts;
}

/// The producer's result both runtimes' streams watch: the same task id,
/// as ids start over with each runtime.
const manta::object_id producer = manta::object_id::make(0, 4242);

/// A stream of the running runtime for `producer`, enrolled for items from
/// other nodes; each item decodes to an object sealed with an error whose
/// text is the item's bytes (the test looks only at which item arrives).
std::shared_ptr<item_stream> enrolled_stream() {
  auto& rt = runtime::here();
  auto stream = std::make_shared<item_stream>();
  stream->decode_item = [](std::span<const char> bytes) {
    auto& now = runtime::here();
    auto item = now.store().table().create(now.next_object_id());
    item->seal_error(
      std::make_exception_ptr(std::runtime_error(std::string(bytes.begin(), bytes.end()))));
    return item;
  };
  stream->watch(rt.store().table().create(producer));
  item_stream::enroll(stream);
  return stream;
}

/// Item 0 of `producer`'s stream, from another node: `text`.
void deliver_first(std::string_view text) {
  item_stream::deliver(producer.value(), 0, std::span<const char>{text.data(), text.size()});
}

/// The text of the next item of `stream` (made by `enrolled_stream`),
/// waiting for it up to 10 s; "" if none came.
std::string next_text(item_stream& stream) {
  auto item = stream.next(item_stream::clock::now() + 10s);
  if (item == nullptr)
    return {};
  try {
    std::rethrow_exception(item->error());
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

/// The handshake time a networked CAF configuration made with
/// `connection_timeout` keeps, with the configuration.
std::pair<std::unique_ptr<caf::actor_system_config>, std::chrono::milliseconds>
handshake_time_for(std::chrono::milliseconds connection_timeout) {
  auto cfg = manta::detail::make_caf_config(1, /*networked=*/true, {}, std::string(64, 'a'),
                                            connection_timeout);
  auto* made = dynamic_cast<manta::detail::tls_config*>(cfg.get());
  REQUIRE(made != nullptr);
  auto time = made->handshake_timeout;
  return {std::move(cfg), time};
}

/// The TLS identity a networked CAF configuration made with `tls` and
/// `token` keeps (null: none), with the configuration that owns it.
std::pair<std::unique_ptr<caf::actor_system_config>, const manta::detail::token_identity*>
identity_for(const manta::tls_options& tls, const std::string& token) {
  auto cfg = manta::detail::make_caf_config(1, /*networked=*/true, tls, token);
  auto* made = dynamic_cast<manta::detail::tls_config*>(cfg.get());
  REQUIRE(made != nullptr); // every configuration make_caf_config makes
  const auto* id = made->identity.get();
  return {std::move(cfg), id};
}

} // namespace

TEST_CASE("the jobs one runtime knew are not known after it, nor by the next") {
  ::unsetenv("MANTA_JOB_ID");
  manta::init(options());
  manta::detail::set_process_job("job-0007");
  manta::detail::note_job(5, "job-0003");
  CHECK(manta::detail::job_id() == "job-0007");
  CHECK(manta::detail::job_of_node(5) == "job-0003");
  {
    manta::detail::job_scope hosted{"job-0003"}; // a task run for node 5's owner
    CHECK(manta::detail::job_id() == "job-0003");
  }
  manta::shutdown();
  // With no runtime (a line written after shutdown) no job is known.
  CHECK(manta::detail::job_id().empty());
  CHECK(manta::detail::job_of_node(5).empty());
  manta::detail::note_job(6, "job-0009"); // nothing to record it in
  manta::init(options());
  CHECK(manta::detail::job_id().empty());
  CHECK(manta::detail::job_of_node(5).empty());
  CHECK(manta::detail::job_of_node(6).empty());
  manta::shutdown();
}

TEST_CASE("a stream kept past its runtime leaves the next runtime's stream of the same id alone") {
  manta::init(options());
  auto first = enrolled_stream();
  // A large item kept here for another node's reader.
  item_stream::lend_item(9001);
  manta::shutdown(); // the user still holds `first`
  manta::init(options());
  CHECK_FALSE(item_stream::lent_item_gone(9001)); // the first runtime's, gone with it
  auto second = enrolled_stream();
  // The first runtime's stream goes now: it must neither unlist the
  // second's (same task id) nor mark that id as gone, which would drop
  // the second's items.
  first.reset();
  deliver_first("second");
  CHECK(next_text(*second) == "second");
  second.reset();
  manta::shutdown();
}

TEST_CASE("items for a stream not enrolled yet do not reach the next runtime's stream") {
  manta::init(options());
  deliver_first("first"); // before its stream was enrolled: kept as early
  manta::shutdown();
  manta::init(options());
  auto stream = enrolled_stream();
  // Item 0 of the second runtime's producer: had the first runtime's early
  // item been handed over at `enroll`, this one would be dropped as a
  // repeat and the stream would hand out "first".
  deliver_first("second");
  CHECK(next_text(*stream) == "second");
  stream.reset();
  manta::shutdown();
}

TEST_CASE("each CAF configuration keeps the TLS identity made from its own token") {
  manta::tls_options tls; // the default: the identity made from the token
  auto [a_cfg, a] = identity_for(tls, std::string(64, 'a'));
  REQUIRE(a != nullptr);
  auto a_fingerprint = a->fingerprint();
  CHECK(a_fingerprint.size() == 16);
  // A second configuration (another token) does not replace the first's.
  auto [b_cfg, b] = identity_for(tls, std::string(64, 'b'));
  REQUIRE(b != nullptr);
  CHECK(b->fingerprint() != a_fingerprint);
  CHECK(a->fingerprint() == a_fingerprint);
  // The same token makes the same CA (every process of a cluster builds it
  // on its own), in an identity of this configuration's own.
  auto [c_cfg, c] = identity_for(tls, std::string(64, 'a'));
  REQUIRE(c != nullptr);
  CHECK(c->fingerprint() == a_fingerprint);
  CHECK(c != a);
  // Plain TCP keeps no identity.
  manta::tls_options plain;
  plain.plain = true;
  CHECK(identity_for(plain, "").second == nullptr);
}

TEST_CASE("what an actor's restart waited for in one runtime is not said in the next") {
  // Ids start over with each runtime: the next runtime's actor of the same
  // id must not be said to wait for the first's node.
  constexpr uint64_t core_id = 77;
  manta::init(options());
  manta::detail::set_restart_wait(core_id, "waits for a node that offers {only_a: 1} to join");
  CHECK(manta::detail::restart_wait(core_id).find("only_a") != std::string::npos);
  manta::shutdown(); // still waiting
  CHECK(manta::detail::restart_wait(core_id).empty());
  manta::detail::set_restart_wait(core_id, "no runtime to record it in");
  manta::init(options());
  CHECK(manta::detail::restart_wait(core_id).empty());
  manta::detail::set_restart_wait(core_id, "waits");
  manta::detail::set_restart_wait(core_id, {}); // back, or dead
  CHECK(manta::detail::restart_wait(core_id).empty());
  manta::shutdown();
}

TEST_CASE("each CAF configuration keeps the handshake time of its own connection timeout") {
  auto [a_cfg, a] = handshake_time_for(20s);
  CHECK(a == 20s);
  // A later configuration (another runtime, a tool's system) does not
  // change the first's.
  auto [b_cfg, b] = handshake_time_for(30s);
  CHECK(b == 30s);
  CHECK(dynamic_cast<manta::detail::tls_config&>(*a_cfg).handshake_timeout == 20s);
  // Never below the time a member's own connect waits.
  CHECK(handshake_time_for(1s).second
        == std::chrono::milliseconds{manta::detail::cluster::connect_timeout});
  // What the sessions of an actor system made from `a` get.
  caf::actor_system sys{*a_cfg};
  CHECK(manta::detail::handshake_timeout_of(sys) == 20s);
}
