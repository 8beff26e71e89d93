// A concurrency group given to a method of another class than the actor's.
#include <manta/manta.hpp>

class acc {
public:
  int add(int by) { return n_ += by; }

private:
  int n_ = 0;
};
MANTA_ACTOR(acc, &acc::add);

class other {
public:
  int one() { return 1; }
};
MANTA_ACTOR(other, &other::one);

int main() {
  manta::actor<acc>().concurrency_groups({{"io", 1}}).concurrency_group(&other::one, "io");
}
