#pragma once

// A task that holds its CPU until the test lets it go by creating a file
// (manta_test::touch): how the tests of borrowed and unread refs keep a
// worker busy, or a task running, for as long as a case needs.

#include "tests/cluster_helpers.hpp"

#include <manta/manta.hpp>

#include <chrono>
#include <string>

/// Waits until the file `path` exists, for at most `limit_s` seconds (a
/// broken case ends instead of hanging), then returns 1.
inline int wait_for_file(std::string path, int limit_s) {
  manta_test::appears(path, std::chrono::seconds{limit_s});
  return 1;
}
MANTA_REMOTE(wait_for_file);
