#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace manta::tools {

/// Raw-CAF rates (operations per second) measured with the runtime's own
/// CAF settings: what Manta's per-call costs are compared against.
struct caf_floor {
  /// One actor sending a request and waiting for the response, repeated.
  double request_response = 0;
  /// One actor spawning an actor, requesting from it, the actor quitting.
  double spawn_request_quit = 0;
};

/// Measures the floor with `n` operations per figure.
caf_floor measure_caf_floor(size_t n);

/// Serves an echo actor over CAF's middleman on 127.0.0.1 (ephemeral port,
/// written to `port_file` once it listens) until the process is killed: the
/// other end of the cross-process floor, run in a child process.
[[noreturn]] void serve_caf_echo(const std::string& port_file);

/// Sequential request/response round trips per second between this process
/// and the echo served at 127.0.0.1:`port` (0 if it cannot be reached): what
/// a cross-node Manta task round trip is compared against.
double measure_remote_request_response(uint16_t port, size_t n);

} // namespace manta::tools
