// num_returns<N>() with N other than the number of values returned.
#include <manta/manta.hpp>

#include <utility>

std::pair<int, int> div_mod(int a, int b) {
  return {a / b, a % b};
}
MANTA_REMOTE(div_mod);

int main() {
  auto [q, r, extra] = manta::task(div_mod).num_returns<3>().remote(7, 2); // a pair holds two
  return manta::get(q);
}
