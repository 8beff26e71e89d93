// num_returns<N>() on a function that returns one value, not a tuple.
#include <manta/manta.hpp>

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);

int main() {
  auto refs = manta::task(add).num_returns<2>().remote(1, 2); // add returns an int
  return 0;
}
