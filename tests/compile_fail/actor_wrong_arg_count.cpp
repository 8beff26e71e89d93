// An actor method called with too many arguments.
#include "tests/compile_fail/acc_actor.hpp"

int main() {
  auto a = manta::actor<acc>().remote(1);
  a.call(&acc::add).remote(1, 2);
}
