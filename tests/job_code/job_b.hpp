#pragma once

// Job B's code, built as libjob_code_b.so (see job_a.hpp).

#include <manta/manta.hpp>

#include <cstdint>
#include <string>

namespace job_code {

/// Same name as job A's, other types.
std::string shared_name(std::string s);
/// Same name and type as job A's, another body.
int64_t twice(int64_t x);
/// Job B's alone.
std::string only_b(std::string s);

/// Same class name as job A's, other methods.
class job_actor {
public:
  explicit job_actor(std::string start);
  std::string add(std::string s);
  /// The node it lives on (the worker, not the driver).
  int64_t node();

private:
  std::string text_;
};

manta::actor_handle<job_actor> make_job_actor(std::string start);

} // namespace job_code
