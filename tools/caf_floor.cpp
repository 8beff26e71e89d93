#include "tools/caf_floor.hpp"

#include "manta/detail/runtime.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <future>
#include <thread>

namespace manta::tools {

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;

caf::behavior pong(caf::event_based_actor*) {
  return {[](ping_atom, int x) { return x; }};
}

caf::behavior one_shot(caf::event_based_actor* self) {
  return {[=](ping_atom, int x) {
    self->quit();
    return x;
  }};
}

/// Runs `n` sequential request/response round trips from an event-based
/// actor; `spawn_each` spawns a fresh responder for every round trip.
double run(caf::actor_system& sys, size_t n, bool spawn_each) {
  std::promise<void> done;
  auto start = std::chrono::steady_clock::now();
  sys.spawn([&, n, spawn_each](caf::event_based_actor* self) {
    auto target = std::make_shared<caf::actor>(sys.spawn(pong));
    auto left = std::make_shared<size_t>(n);
    auto step = std::make_shared<std::function<void()>>();
    *step = [=, &done, &sys] {
      if (*left == 0) {
        self->send_exit(*target, caf::exit_reason::user_shutdown);
        done.set_value();
        self->quit();
        return;
      }
      --*left;
      auto dest = spawn_each ? sys.spawn(one_shot) : *target;
      self->request(dest, caf::infinite, ping_atom::value, 1)
        .then([=](int) { (*step)(); });
    };
    (*step)();
  });
  done.get_future().wait();
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
  return static_cast<double>(n) / dt.count();
}

} // namespace

caf_floor measure_caf_floor(size_t n) {
  auto cfg = detail::make_caf_config(std::max(1u, std::thread::hardware_concurrency()));
  caf::actor_system sys{*cfg};
  caf_floor out;
  run(sys, n / 10, false); // warm up
  out.request_response = run(sys, n, false);
  out.spawn_request_quit = run(sys, n, true);
  return out;
}

} // namespace manta::tools
