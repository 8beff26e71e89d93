// Concurrency groups are an actor option: a task has none.
#include <manta/manta.hpp>

int twice(int x) {
  return 2 * x;
}
MANTA_REMOTE(twice);

int main() {
  manta::task(twice).concurrency_group("io").remote(1);
}
