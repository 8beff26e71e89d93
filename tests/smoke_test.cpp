#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <manta/manta.hpp>

int add(int a, int b) { return a + b; }
MANTA_REMOTE(add);

TEST_CASE("smoke") {
  manta::init();
  auto a = manta::task(add).remote(1, 2);
  auto b = manta::task(add).remote(a, 10);
  CHECK(manta::get(b) == 13);
  manta::shutdown();
}
