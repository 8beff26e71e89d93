// An actor kept busy does not hold a node's scheduler thread: with the CAF
// configuration every Manta process runs (detail::make_caf_config), an actor
// whose mailbox never empties hands its thread over after a bounded number
// of messages, so the other jobs queued meanwhile run in between, among them
// the ones that deliver messages from other nodes. Without that bound a
// driver's cluster client, handling a million submitted tasks in one go,
// kept the only scheduler thread of a 2-core machine for 9.5 s and every
// pong from its workers waited behind it: both workers were cut off as
// "silent" (docs/cluster.md, "Heartbeats").
//
// Each case runs one scheduler thread and an actor that sends itself its
// next message from each one (its mailbox is never empty until it is told
// to stop), then queues another job: without the bound that job can never
// run, whatever the timing; with it, it runs at once. The waits have
// deadlines so that a broken build fails instead of hanging.

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "manta/core/caf_config.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// How long the other job may take to run; it takes milliseconds.
constexpr auto deadline = 15s;

/// An actor that keeps its mailbox full: each message sends it the next
/// one, until `stop`.
struct busy_loop {
  std::atomic<long> handled{0};
  std::atomic<bool> stop{false};

  caf::behavior operator()(caf::event_based_actor* self) {
    return {[this, self](long n) {
      handled = n;
      if (!stop)
        self->send(self, n + 1);
    }};
  }
};

/// Stops the busy loop and the case's actors however the case ends (before
/// the actor systems wait for their actors).
struct stopper {
  busy_loop& loop;
  std::vector<caf::actor> actors;
  ~stopper() {
    loop.stop = true;
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

/// Starts `busy` and waits (with the deadline) until it is well into its
/// run, so that what is queued next waits behind it; whether it got there.
bool start(busy_loop& loop, const caf::actor& busy) {
  caf::anon_send(busy, 1L);
  auto until = std::chrono::steady_clock::now() + deadline;
  while (loop.handled.load() < 1000 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  return loop.handled.load() >= 1000;
}

/// Whether `seen` got its value within the deadline; says how many
/// messages the busy actor had handled by then.
bool ran(std::future<long>& seen) {
  if (seen.wait_for(deadline) != std::future_status::ready) {
    MESSAGE("the other job did not run within " << deadline.count() << " s");
    return false;
  }
  MESSAGE("the busy actor had handled " << seen.get() << " messages when the other job ran");
  return true;
}

} // namespace

TEST_CASE("an actor whose mailbox never empties lets another actor of its node run") {
  busy_loop loop;
  std::promise<long> seen;
  auto seen_now = seen.get_future();
  auto cfg = manta::detail::make_caf_config(1, false);
  caf::actor_system sys{*cfg};
  auto other = sys.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](const std::string&) { seen.set_value(loop.handled.load()); }};
  });
  auto busy = sys.spawn([&](caf::event_based_actor* self) { return loop(self); });
  stopper guard{loop, {busy, other}};
  REQUIRE(start(loop, busy));
  caf::anon_send(other, std::string{"run"}); // queued behind the busy actor's run
  CHECK(ran(seen_now));
}

TEST_CASE("a message from another node is delivered while an actor of the node keeps busy") {
  // Node A (one scheduler thread) runs the busy actor and a receiver; node B
  // sends the receiver a message over a real connection on loopback, as a
  // worker answers a driver's ping.
  busy_loop loop;
  std::promise<long> seen;
  auto seen_now = seen.get_future();
  manta::tls_options plain;
  plain.plain = true;
  auto cfg_a = manta::detail::make_caf_config(1, true, plain, "", 4s);
  auto cfg_b = manta::detail::make_caf_config(1, true, plain, "", 4s);
  caf::actor_system a{*cfg_a};
  caf::actor_system b{*cfg_b};
  // B's sender: told whom to send to, then what.
  auto sender = b.spawn([](caf::event_based_actor* self) -> caf::behavior {
    auto to = std::make_shared<caf::actor>();
    return {[=](const caf::actor& receiver) { *to = receiver; },
            [=](const std::string& text) { self->send(*to, text); }};
  });
  auto port = b.middleman().publish(sender, 0, "127.0.0.1");
  REQUIRE(port);
  auto remote_sender = a.middleman().remote_actor("127.0.0.1", *port);
  REQUIRE(remote_sender);
  auto receiver = a.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](const std::string&) { seen.set_value(loop.handled.load()); }};
  });
  caf::anon_send(*remote_sender, receiver);
  auto busy = a.spawn([&](caf::event_based_actor* self) { return loop(self); });
  stopper guard{loop, {busy, receiver, sender}};
  REQUIRE(start(loop, busy));
  // Leaves through A's I/O thread, which the busy actor does not hold; B's
  // answer arrives there and needs A's scheduler thread to be delivered.
  caf::anon_send(*remote_sender, std::string{"pong"});
  CHECK(ran(seen_now));
}
