// An actor created with arguments its constructor does not take.
#include "tests/compile_fail/acc_actor.hpp"

#include <string>

int main() {
  manta::actor<acc>().remote(std::string{"x"}, 2);
}
