// retry_exceptions<...>() with a reference type instead of an exception type.
#include <manta/manta.hpp>

#include <stdexcept>

int add(int a, int b) {
  return a + b;
}
MANTA_REMOTE(add);

int main() {
  auto r = manta::task(add).retry_exceptions<const std::runtime_error&>().remote(1, 2);
  return manta::get(r);
}
