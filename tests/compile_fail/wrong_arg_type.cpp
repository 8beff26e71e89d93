// A std::string passed for an int parameter.
#include <manta/manta.hpp>

#include <string>

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);

int main() {
  auto r = manta::task(add).remote(std::string{"1"}, 2);
  return manta::get(r);
}
