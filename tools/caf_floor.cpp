#include "tools/caf_floor.hpp"

#include "manta/core/caf_config.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
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
/// actor to `responder` (a fresh local `pong` if null); `spawn_each` spawns
/// a fresh local responder for every round trip instead.
double run(caf::actor_system& sys, size_t n, bool spawn_each, caf::actor responder = {}) {
  std::promise<void> done;
  auto start = std::chrono::steady_clock::now();
  bool own = !responder;
  if (own)
    responder = sys.spawn(pong);
  sys.spawn([&, n, spawn_each, own, responder](caf::event_based_actor* self) {
    auto target = std::make_shared<caf::actor>(responder);
    auto left = std::make_shared<size_t>(n);
    auto step = std::make_shared<std::function<void()>>();
    *step = [=, &done, &sys] {
      if (*left == 0) {
        if (own)
          self->send_exit(*target, caf::exit_reason::user_shutdown);
        done.set_value();
        self->quit();
        return;
      }
      --*left;
      auto dest = spawn_each ? sys.spawn(one_shot) : *target;
      self->request(dest, caf::infinite, ping_atom::value, 1).then([=](int) { (*step)(); });
    };
    (*step)();
  });
  done.get_future().wait();
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start;
  return static_cast<double>(n) / dt.count();
}

} // namespace

/// Raw CAF between processes is measured on plain TCP, what CAF does
/// without Manta's TLS.
tls_options plain_tcp() {
  tls_options out;
  out.plain = true;
  return out;
}

caf_floor measure_caf_floor(size_t n) {
  auto cfg = detail::make_caf_config(std::max(1u, std::thread::hardware_concurrency()));
  caf::actor_system sys{*cfg};
  caf_floor out;
  run(sys, n / 10, false); // warm up
  out.request_response = run(sys, n, false);
  out.spawn_request_quit = run(sys, n, true);
  return out;
}

void serve_caf_echo(const std::string& port_file) {
  auto cfg = detail::make_caf_config(1, /*networked=*/true, plain_tcp());
  caf::actor_system sys{*cfg};
  auto port = sys.middleman().publish(sys.spawn(pong), 0, "127.0.0.1");
  if (!port) {
    std::fprintf(stderr, "caf echo: cannot publish: %s\n", sys.render(port.error()).c_str());
    std::_Exit(1);
  }
  {
    std::ofstream out{port_file + ".tmp"};
    out << *port << '\n';
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  for (;;)
    std::this_thread::sleep_for(std::chrono::hours(1)); // until killed
}

double measure_remote_request_response(uint16_t port, size_t n) {
  auto cfg = detail::make_caf_config(1, /*networked=*/true, plain_tcp());
  caf::actor_system sys{*cfg};
  auto echo = sys.middleman().remote_actor("127.0.0.1", port);
  if (!echo)
    return 0;
  run(sys, n / 10, false, *echo); // warm up the connection
  return run(sys, n, false, *echo);
}

} // namespace manta::tools
