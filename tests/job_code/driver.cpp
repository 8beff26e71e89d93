// The driver of job A (or, built with -DJOB_B, of job B) for
// tests/job_code_test.cpp: linked with its job's library, it declares that
// library as its code (--code-search-path) and runs everything on the
// cluster's generic worker (--num-cpus=0).
//
// --mode=work --barrier=DIR: creates its actor, says DIR/<job>.ready, waits
// for the other job's, then checks rounds of tasks and actor calls; exit 0
// when every result is its own job's.
// --mode=probe: one task of the job's own function, one actor and (job A)
// one task of `measure`, printing "probe result: V" or "probe error: WHAT"
// for each.

#ifdef JOB_B
#include "tests/job_code/job_b.hpp"
#else
#include "tests/job_code/job_a.hpp"
#endif

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;
using namespace job_code;

namespace {

#ifdef JOB_B
const char* const me = "b";
const char* const other = "a";
std::string arg_of(int i) {
  return std::to_string(i);
}
std::string shared_expected(int i) {
  return "b:" + std::to_string(i);
}
int64_t twice_expected(int64_t i) {
  return 2 * i + 1000;
}
std::string start_value() {
  return "s";
}
std::string add_expected(int i) { // "s" + "0" + "1" + ... + "i"
  std::string out = "s";
  for (int k = 0; k <= i; ++k)
    out += std::to_string(k);
  return out;
}
auto own_function() {
  return manta::task(only_b).remote("x");
}
#else
const char* const me = "a";
const char* const other = "b";
int64_t arg_of(int i) {
  return i;
}
int64_t shared_expected(int i) {
  return i + 1;
}
int64_t twice_expected(int64_t i) {
  return 2 * i;
}
int64_t start_value() {
  return 100;
}
int64_t add_expected(int i) { // 100 + 0 + 1 + ... + i
  return 100 + int64_t{i} * (i + 1) / 2;
}
auto own_function() {
  return manta::task(only_a).remote(7);
}
#endif

/// Job A's measure of a point{3, 0.5} (nothing for job B).
void probe_layout() {
#ifndef JOB_B
  try {
    std::printf(
      "probe result: %s\n",
      std::to_string(manta::get(manta::task(measure).remote(point{3, 0.5f}), 30s)).c_str());
  } catch (const std::exception& e) {
    std::printf("probe error: %s\n", e.what());
  }
#endif
}

std::string option(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view a{argv[i]};
        a.substr(0, name.size()) == name && a.size() > name.size() && a[name.size()] == '=')
      return std::string{a.substr(name.size() + 1)};
  return {};
}

template <class T>
std::string shown(const T& x) {
  if constexpr (std::is_same_v<T, std::string>)
    return x;
  else
    return std::to_string(x);
}

int probe() {
  try {
    std::printf("probe result: %s\n", shown(manta::get(own_function(), 30s)).c_str());
  } catch (const std::exception& e) {
    std::printf("probe error: %s\n", e.what());
  }
  try {
    auto actor = make_job_actor(start_value());
    std::printf("probe result: %s\n",
                shown(manta::get(actor.call(&job_actor::add).remote(arg_of(0)), 30s)).c_str());
  } catch (const std::exception& e) {
    std::printf("probe error: %s\n", e.what());
  }
  probe_layout();
  return 0;
}

int work(const std::string& barrier) {
  auto actor = make_job_actor(start_value());
  auto first = manta::get(actor.call(&job_actor::add).remote(arg_of(0)), 30s);
  if (first != add_expected(0)) {
    std::printf("job %s: actor's first result %s, expected %s\n", me, shown(first).c_str(),
                shown(add_expected(0)).c_str());
    return 1;
  }
  if (auto node = manta::get(actor.call(&job_actor::node).remote(), 30s);
      node == static_cast<int64_t>(manta::current_node())) {
    std::printf("job %s: its actor lives on the driver (node %lld), not on the worker\n", me,
                static_cast<long long>(node));
    return 1;
  }
  std::ofstream{barrier + "/" + me + ".ready"} << "ready\n";
  // Both jobs have their actor on the worker before either goes on.
  for (auto until = std::chrono::steady_clock::now() + 60s;
       !std::filesystem::exists(barrier + "/" + other + ".ready");) {
    if (std::chrono::steady_clock::now() > until) {
      std::printf("job %s: job %s never became ready\n", me, other);
      return 1;
    }
    std::this_thread::sleep_for(5ms);
  }
#ifndef JOB_B
  // Job A's layouts of `measure` are then known on the worker, where the
  // build of the library with the other layout must still get its own.
  if (auto m = manta::get(manta::task(measure).remote(point{3, 0.5f}), 30s); m != 3.5) {
    std::printf("job a: measure(point{3, 0.5}) is %g, expected 3.5\n", m);
    return 1;
  }
  // A task submitted by job A's code on the worker runs job A's twice.
  if (auto n = manta::get(manta::task(nested_twice).remote(int64_t{21}), 30s); n != 42) {
    std::printf("job a: nested_twice(21) is %lld, expected 42\n", static_cast<long long>(n));
    return 1;
  }
#endif
  constexpr int rounds = 40;
  int checked = 0;
  for (int i = 1; i < rounds; ++i) {
    auto s = manta::task(shared_name).remote(arg_of(i));
    auto t = manta::task(twice).remote(int64_t{i});
    auto c = actor.call(&job_actor::add).remote(arg_of(i));
    auto sv = manta::get(s, 30s);
    auto tv = manta::get(t, 30s);
    auto cv = manta::get(c, 30s);
    if (sv != shared_expected(i) || tv != twice_expected(i) || cv != add_expected(i)) {
      std::printf("job %s: round %d got %s, %s, %s; expected %s, %s, %s\n", me, i,
                  shown(sv).c_str(), shown(tv).c_str(), shown(cv).c_str(),
                  shown(shared_expected(i)).c_str(), shown(twice_expected(i)).c_str(),
                  shown(add_expected(i)).c_str());
      return 1;
    }
    checked += 3;
  }
  std::printf("job %s: %d results correct\n", me, checked);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    manta::init(argc, argv);
  } catch (const std::exception& e) {
    std::printf("init error: %s\n", e.what());
    return 2;
  }
  for (auto until = std::chrono::steady_clock::now() + 30s;
       manta::cluster_resources()["CPU"] < 1;) {
    if (std::chrono::steady_clock::now() > until) {
      std::printf("job %s: no worker CPU in the cluster after 30 s\n", me);
      return 3;
    }
    std::this_thread::sleep_for(5ms);
  }
  int rc = 0;
  try {
    rc = option(argc, argv, "--mode") == "probe" ? probe() : work(option(argc, argv, "--barrier"));
  } catch (const std::exception& e) {
    std::printf("job %s: %s\n", me, e.what());
    rc = 1;
  }
  std::fflush(stdout);
  manta::shutdown();
  return rc;
}
