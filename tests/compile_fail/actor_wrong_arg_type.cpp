// An actor method called with an argument of the wrong type.
#include "tests/compile_fail/acc_actor.hpp"

#include <string>

int main() {
  auto a = manta::actor<acc>().remote(1);
  a.call(&acc::add).remote(std::string{"three"});
}
