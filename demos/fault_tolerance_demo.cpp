/// Retrying failed tasks: a task whose code throws is re-run when it is
/// submitted with `.retry_exceptions(true)`, up to `.max_retries(n)` times.
/// A transient failure then goes unnoticed by the caller; a permanent one
/// reaches `get` as a `manta::task_error` that says what was thrown, with
/// which message, by which task, on which node.
///
///   fault_tolerance_demo [--fast] [--num-cpus=N]

#include <manta/manta.hpp>

#include "demo_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

/// A service that is down for its first two calls.
struct service_unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::atomic<int> flaky_attempts{0};
std::chrono::milliseconds call_time{50};

int fetch_with_outage(int key) {
  int attempt = ++flaky_attempts;
  std::this_thread::sleep_for(call_time);
  if (attempt < 3)
    throw service_unavailable("attempt " + std::to_string(attempt) + ": service unavailable");
  return key * 10;
}

std::atomic<int> broken_attempts{0};

int parse_corrupt_record(int record) {
  ++broken_attempts;
  std::this_thread::sleep_for(call_time);
  throw std::invalid_argument("record " + std::to_string(record) + " has a bad checksum");
}
MANTA_REMOTE(fetch_with_outage, parse_corrupt_record);

int main(int argc, char** argv) {
  manta::init(argc, argv);
  if (fast_mode(argc, argv))
    call_time = std::chrono::milliseconds{5};

  // -- a transient failure, retried away -----------------------------------
  auto value = manta::task(fetch_with_outage).max_retries(3).retry_exceptions(true).remote(4);
  int v = manta::get(value);
  std::printf("fetch_with_outage(4) = %d: succeeded after %d attempts (2 failures retried)\n\n", v,
              flaky_attempts.load());

  // -- without retry_exceptions the first exception is final ---------------
  flaky_attempts = 0;
  auto once = manta::task(fetch_with_outage).max_retries(3).remote(4);
  try {
    manta::get(once);
    std::printf("BUG: expected a task_error without retry_exceptions\n");
    return 1;
  } catch (const manta::task_error& e) {
    std::printf("without retry_exceptions: failed after %d attempt: %s\n\n", flaky_attempts.load(),
                e.message().c_str());
  }

  // -- a permanent failure: every retry fails, the error reaches get -------
  auto bad = manta::task(parse_corrupt_record).max_retries(2).retry_exceptions(true).remote(17);
  bool failed_for_good = false;
  try {
    manta::get(bad);
  } catch (const manta::task_error& e) {
    failed_for_good = true;
    std::printf("parse_corrupt_record(17) failed for good after %d attempts:\n",
                broken_attempts.load());
    std::printf("  type_name: %s\n", e.type_name().c_str());
    std::printf("  message:   %s\n", e.message().c_str());
    std::printf("  task_name: %s\n", e.task_name().c_str());
    std::printf("  node:      %s\n", e.node().c_str());
    std::printf("  what():    %s\n", e.what());
  }

  manta::shutdown();
  return v == 40 && failed_for_good && broken_attempts == 3 ? 0 : 1;
}
