#pragma once

// Job A's code, built as libjob_code_a.so: what a generic worker loads when
// job A's driver names it with --code-search-path (tests/job_code_test.cpp).
// Job B (job_b.hpp) has a function of the same name with another type, one
// of the same name and type with another body, and an actor class of the
// same name.

#include <manta/manta.hpp>

#include <cstdint>

namespace job_code {

/// Same name as job B's, other types.
int64_t shared_name(int64_t x);
/// Same name and type as job B's, another body.
int64_t twice(int64_t x);
/// Job A's alone.
int64_t only_a(int64_t x);
/// twice(x) as a nested task, sent from the worker with job A's code.
int64_t nested_twice(int64_t x);

/// A plain struct. The library built with -DJOB_A_SKEW has its fields in
/// the other order (same name, same size), as a library rebuilt from
/// changed sources would: a call of `measure` from a driver built with
/// the other layout must be refused, not decoded wrongly.
#ifdef JOB_A_SKEW
struct point {
  float x = 0;
  int32_t y = 0;
};
#else
struct point {
  int32_t x = 0;
  float y = 0;
};
#endif

/// x + y.
double measure(point p);

/// Same class name as job B's, other methods.
class job_actor {
public:
  explicit job_actor(int64_t start);
  int64_t add(int64_t x);
  /// The node it lives on (the worker, not the driver).
  int64_t node();

private:
  int64_t total_;
};

/// Creates the actor (holding a CPU, so on a worker when the driver has
/// none) from the library, which so registers the constructor that a worker
/// loading it needs.
manta::actor_handle<job_actor> make_job_actor(int64_t start);

} // namespace job_code
