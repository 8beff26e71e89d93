// A std::string passed for the int parameter after a generator's sink.
#include <manta/manta.hpp>

#include <string>

void count_to(manta::generator_sink<int>& out, int n) {
  for (int i = 0; i < n; ++i)
    out.yield(i);
}
MANTA_REMOTE(count_to);

int main() {
  auto gen = manta::task(count_to).remote(std::string{"3"});
  return gen.finished() ? 0 : 1;
}
