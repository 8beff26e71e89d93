#pragma once

#include <cstddef>

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

} // namespace manta::tools
