// remote() with fewer arguments than the function has parameters.
#include <manta/manta.hpp>

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);

int main() {
  auto r = manta::task(add).remote(1); // add takes two ints
  return manta::get(r);
}
