#pragma once

// The target of the config file parser (init.cpp, through
// `parse_command_line` with --config): it needs the whole runtime library,
// so it has a header of its own (see net_targets.hpp for the others). The
// fuzz build's clang 14 cannot compile the runtime, so for now it runs as
// corpus replay only (fuzz_corpus_test, tests/fuzz/corpus/config_file/).

#include "tests/fuzz/fuzz_targets.hpp"

#include <manta/cluster.hpp>
#include <manta/errors.hpp>

#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace manta_fuzz {

/// Any bytes as a config file: parsed or refused with a manta::error (an
/// error value at the user boundary), never another exception or a crash.
inline int config_file(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("manta-fuzz-config", MFD_CLOEXEC);
  require(fd >= 0);
  size_t off = 0;
  while (off < size) {
    auto n = ::write(fd, data + off, size - off);
    require(n > 0);
    off += static_cast<size_t>(n);
  }
  std::string flag = "--config=/proc/self/fd/" + std::to_string(fd);
  std::string name = "config_fuzz";
  char* argv[] = {name.data(), flag.data(), nullptr};
  try {
    manta::detail::parse_command_line(2, argv);
  } catch (const manta::error&) {
    // refused, with a message: fine
  }
  ::close(fd);
  return 0;
}

inline constexpr std::array<target, 1> config_targets = {{{"config_file", &config_file}}};

} // namespace manta_fuzz
