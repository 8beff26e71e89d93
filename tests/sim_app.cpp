// A plain Manta program that sim_test runs as a child process, simulated by
// its flags (--simulate --seed=N --sim-nodes=N ...): the same code runs on a
// real node without them.
//
//   sim_app mixed   tasks, dataflow, put, wait, an actor; prints the sums
//   sim_app ledger  a planted bug: the ledger actor restarts from a
//                   checkpoint taken every 10 deposits, so a death of its
//                   node between checkpoints loses deposits; exits 1 then
//
// Exit codes: 0 fine, 1 the program's own check failed, 2 bad usage.

#include <manta/manta.hpp>

#include "tests/adder_actor.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace std::chrono_literals;

namespace {

long work(long i) {
  manta::sleep(1ms * (i % 3)); // virtual in a simulation
  return i * i;
}
MANTA_REMOTE(work);

long add(long a, long b) {
  return a + b;
}
MANTA_REMOTE(add);

int mixed() {
  std::vector<manta::object_ref<long>> refs;
  for (long i = 0; i < 40; ++i)
    refs.push_back(manta::task(work).max_retries(3).remote(i));
  auto [ready, pending] = manta::wait(refs, 10);
  auto total = manta::put(0L);
  for (auto& r : refs)
    total = manta::task(add).remote(total, r);
  auto c = manta::actor<adder>().max_restarts(3).max_task_retries(3).remote();
  long last = 0;
  for (int i = 1; i <= 20; ++i)
    last = manta::get(c.call(&adder::add).remote(i));
  long sum = manta::get(total);
  std::printf("ready=%zu sum=%ld counter=%ld\n", ready.size(), sum, last);
  long want = 0;
  for (long i = 0; i < 40; ++i)
    want += i * i;
  return sum == want && ready.size() == 10 ? 0 : 1;
}

/// The ledger's checkpoint store: written by the driver, read by the
/// constructor of a restarted ledger.
std::atomic<long> g_checkpoint{0};

class ledger {
public:
  ledger() : balance_(g_checkpoint.load()) {}
  long deposit(long amount) { return balance_ += amount; }
  long balance() { return balance_; }

private:
  long balance_;
};
MANTA_ACTOR(ledger, &ledger::deposit, &ledger::balance);

int ledger_run() {
  // On node 3 (soft: on a real node, this one): the driver's node never dies.
  auto l =
    manta::actor<ledger>().node_affinity(3, true).max_restarts(5).max_task_retries(5).remote();
  constexpr long deposits = 40;
  for (long i = 1; i <= deposits; ++i) {
    manta::get(l.call(&ledger::deposit).remote(1));
    manta::sleep(1ms);
    if (i % 10 == 0) // the bug: the deposits since the last checkpoint live only in the actor
      g_checkpoint = manta::get(l.call(&ledger::balance).remote());
  }
  long balance = manta::get(l.call(&ledger::balance).remote());
  std::printf("balance=%ld expected=%ld\n", balance, deposits);
  if (balance != deposits) {
    std::printf("LOST UPDATE: %ld deposit(s) lost\n", deposits - balance);
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[argc - 1] : "";
  if (std::strcmp(mode, "mixed") != 0 && std::strcmp(mode, "ledger") != 0) {
    std::fprintf(stderr, "usage: sim_app [manta flags] mixed|ledger\n");
    return 2;
  }
  manta::init(argc, argv);
  int rc = std::strcmp(mode, "mixed") == 0 ? mixed() : ledger_run();
  manta::shutdown();
  return rc;
}
