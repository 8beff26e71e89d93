// A streaming generator of ints yielding a std::string.
#include <manta/manta.hpp>

#include <string>

void words(manta::generator_sink<int>& out, int n) {
  for (int i = 0; i < n; ++i)
    out.yield(std::string{"word"});
}
MANTA_REMOTE(words);

int main() {
  for (auto& ref : manta::task(words).remote(3))
    return manta::get(ref);
  return 0;
}
