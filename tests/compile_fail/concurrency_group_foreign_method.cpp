// A concurrency group given to a method of another class than the actor's.
#include "tests/compile_fail/acc_actor.hpp"

class other {
public:
  int one() { return 1; }
};
MANTA_ACTOR(other, &other::one);

int main() {
  manta::actor<acc>().concurrency_groups({{"io", 1}}).concurrency_group(&other::one, "io");
}
